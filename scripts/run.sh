#!/usr/bin/env bash
# `make run`: bootstrap an organization on first run (printing its token once), then
# serve. The bootstrap output is kept in the data dir, readable by its owner only.
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir="${DATA_DIR:-./dbplane-data}"
listen="${LISTEN:-127.0.0.1:8080}"
binary=target/release/dbplane
mkdir -p "$data_dir"
bootstrap_file="$data_dir/bootstrap.json"
if [ ! -s "$bootstrap_file" ]; then
  umask 077
  "$binary" admin bootstrap --data-dir "$data_dir" \
    --organization "${DBPLANE_ORGANIZATION:-default}" --email "${DBPLANE_EMAIL:-admin@localhost}" \
    > "$bootstrap_file.tmp"
  mv "$bootstrap_file.tmp" "$bootstrap_file"
  read -r token_id token organization < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["service_token"]["id"], d["service_token"]["token"], d["organization"])' "$bootstrap_file")
  cat <<MSG

  dbplane: organization "$organization" created. Its service token (kept in $bootstrap_file):
    id:    $token_id
    token: $token
  Try:
    curl -H "Authorization: $token_id:$token" http://$listen/v1/organizations/$organization

MSG
fi
exec "$binary" serve --data-dir "$data_dir" --listen "$listen"
