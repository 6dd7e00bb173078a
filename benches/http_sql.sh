#!/usr/bin/env bash
# HTTP SQL benchmark (issue 17): @planetscale/database over the edge's HTTP API against
# mysql2 over the edge's MySQL port, same run; memory after many HTTP sessions; MySQL
# logins at each port. See benches/http_sql/src/main.rs.
#
# Environment (all optional):
#   CARGO_TARGET_DIR   where cargo builds (default ./target)
#   BENCH_ARGS         e.g. "--seconds 10 --concurrency 1,32 --processes 4 --sessions 20000"
#   SKIP_BUILD=1       use the binaries already built
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
node_clients="$(scripts/install-client-deps.sh | sed -n 's/^node_clients=//p')"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -p dbplane -p http-sql
fi
# shellcheck disable=SC2086 # BENCH_ARGS is a list of words
exec "$target_dir/release/http-sql" --dbplane "$target_dir/release/dbplane" \
  --node-clients "$node_clients" ${BENCH_ARGS:-}
