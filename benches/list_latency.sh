#!/usr/bin/env bash
# List latency benchmark (issue 14).
#
# Builds the release `dbplane` and `benches/list_latency`, then runs the benchmark: one
# fresh dbplane with managed MariaDB and PostgreSQL on a temporary data dir, 1,000
# MariaDB databases and 1,000 deploy requests made through the API, then every page of
# the two lists (per_page=100) read 20 times. Prints a Markdown table (p50, p99, max per
# page, PASS/MISS against p99 < 20 ms). Exits 1 when a target is missed.
#
# Environment (all optional):
#   CARGO_TARGET_DIR   where cargo builds (default ./target)
#   BENCH_ARGS         extra arguments, e.g. "--databases 200 --rounds 5"
#   SKIP_BUILD=1       use the binaries already built
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$(pwd)/target}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "bench-lists: building release binaries (dbplane, list-latency)" >&2
  cargo build --release --locked -p dbplane -p list-latency
fi
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  revision: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
# shellcheck disable=SC2086 # BENCH_ARGS is a list of words
"$target_dir/release/list-latency" --dbplane "$target_dir/release/dbplane" ${BENCH_ARGS:-}
