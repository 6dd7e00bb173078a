#!/usr/bin/env bash
# Connection edge benchmark (issue 16): sysbench oltp_point_select and oltp_read_write
# at 1, 8 and 64 threads through the edge and straight to MariaDB in the same run, then
# 5,000 idle clients held by the edge. See benches/edge_sysbench/src/main.rs.
#
# Environment (all optional):
#   CARGO_TARGET_DIR   where cargo builds (default ./target)
#   BENCH_ARGS         e.g. "--seconds 30 --threads 1,8,64 --idle 5000"
#   SKIP_BUILD=1       use the binaries already built
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
command -v sysbench >/dev/null || {
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y -qq sysbench >/dev/null
}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -p dbplane -p edge-sysbench
fi
# shellcheck disable=SC2086 # BENCH_ARGS is a list of words
exec "$target_dir/release/edge-sysbench" --dbplane "$target_dir/release/dbplane" ${BENCH_ARGS:-}
