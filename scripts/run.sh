#!/usr/bin/env bash
# `make run`: bootstrap an organization on first run (printing its token once), then
# serve. The bootstrap output is kept in the data dir, readable by its owner only; a later
# `make run` reuses the data dir (and says where the token is).
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir="${DATA_DIR:-./dbplane-data}"
listen="${LISTEN:-127.0.0.1:8080}"
binary=target/release/dbplane
mkdir -p "$data_dir"
bootstrap_file="$data_dir/bootstrap.json"
first_run=0
if [ ! -s "$bootstrap_file" ]; then
  first_run=1
  umask 077
  "$binary" admin bootstrap --data-dir "$data_dir" \
    --organization "${DBPLANE_ORGANIZATION:-default}" --email "${DBPLANE_EMAIL:-admin@localhost}" \
    > "$bootstrap_file.tmp"
  mv "$bootstrap_file.tmp" "$bootstrap_file"
fi
read -r token_id token organization < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["service_token"]["id"], d["service_token"]["token"], d["organization"])' "$bootstrap_file")
api="http://$listen"
if [ "$first_run" = 1 ]; then
  auth_line="export DBPLANE_AUTH='Authorization: $token_id:$token'"
else
  # The token is shown once, at the first run; later runs read it from the file.
  auth_line="export DBPLANE_AUTH=\"Authorization: \$(python3 -c 'import json; t=json.load(open(\"$bootstrap_file\"))[\"service_token\"]; print(t[\"id\"] + \":\" + t[\"token\"])')\""
fi
if [ "$first_run" = 1 ]; then
  cat <<MSG

  dbplane: organization "$organization" created. Its service token (shown here once; kept in
  $bootstrap_file, readable by you only):
    id:    $token_id
    token: $token
MSG
else
  cat <<MSG

  dbplane: reusing $data_dir (organization "$organization"; its token is in $bootstrap_file).
MSG
fi
cat <<MSG

  The API listens on $api (PlanetScale's /v1). First steps:
    $auth_line
    curl -H "\$DBPLANE_AUTH" $api/v1/organizations/$organization
    # a MariaDB database (its main branch becomes ready in a few seconds):
    curl -H "\$DBPLANE_AUTH" -H 'Content-Type: application/json' \\
      -d '{"name": "shop", "kind": "mysql"}' $api/v1/organizations/$organization/databases
    # a password for it; connect any MySQL client to the connection_url it answers
    # (mysql://user:password@127.0.0.1:3309/shop: the connection edge, with the
    # database's own name; the password is shown once), e.g. mariadb -h 127.0.0.1 -P 3309:
    curl -H "\$DBPLANE_AUTH" -H 'Content-Type: application/json' \\
      -d '{"name": "me", "role": "admin"}' \\
      $api/v1/organizations/$organization/databases/shop/branches/main/passwords
  MySQL clients connect through the edge (DBPLANE_EDGE_LISTEN, default 127.0.0.1:3309);
  @planetscale/database connects to the password's access_host_url (the edge's HTTP SQL
  API, DBPLANE_EDGE_HTTP_LISTEN, default 127.0.0.1:3310, HTTPS with the certificate in
  $data_dir/edge/edge-cert.pem);
  PostgreSQL roles connect to the managed PostgreSQL, whose port serve logs below.

MSG
exec "$binary" serve --data-dir "$data_dir" --listen "$listen"
