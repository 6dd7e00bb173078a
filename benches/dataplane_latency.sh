#!/usr/bin/env bash
# Data plane latency benchmark (issue 3).
#
# Builds the release `dbplane` and `benches/dataplane_latency`, then runs the benchmark:
# one fresh dbplane with managed MariaDB and PostgreSQL on a temporary data dir, and,
# timed from the POST to the first GET that reports ready (polled every 10 ms):
#   - new database (mysql, postgresql);
#   - dev branch of a parent with 10 and with 200 tables (index + FK each), both engines.
# Prints a Markdown summary (median, p90, max, PASS/MISS against < 1 s) and a per-step
# breakdown read from the server's job log. Exits 1 when a target is missed.
#
# Environment (all optional):
#   CARGO_TARGET_DIR   where cargo builds (default ./target)
#   RUNS               runs per case (default 10)
#   BENCH_ARGS         extra arguments, e.g. "--no-fsync" or "--tables 10,200,1000"
#   SKIP_BUILD=1       use the binaries already built
#   BENCH_RESULTS_DIR  where the summary and the server log are kept
#                      (default $CARGO_TARGET_DIR/bench-dataplane)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
results_dir=${BENCH_RESULTS_DIR:-$target_dir/bench-dataplane}
export RUNS=${RUNS:-10}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "bench-dataplane: building release binaries (dbplane, dataplane-latency)" >&2
  cargo build --release -p dbplane -p dataplane-latency
fi
mkdir -p "$results_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
summary="$results_dir/summary-$stamp.md"
set +e
# shellcheck disable=SC2086 # BENCH_ARGS is a list of words
"$target_dir/release/dataplane-latency" --dbplane "$target_dir/release/dbplane" \
  --log-out "$results_dir/server-$stamp.log" ${BENCH_ARGS:-} | tee "$summary"
status=${PIPESTATUS[0]}
set -e
{
  echo
  echo "uptime: $(uptime)"
  if revision=$(git rev-parse --short HEAD 2>/dev/null); then
    git diff --quiet HEAD 2>/dev/null || revision="$revision + uncommitted changes"
    if [ "${SKIP_BUILD:-0}" = 1 ]; then
      echo "source: not rebuilt (SKIP_BUILD=1); dbplane built $(date -u -r "$target_dir/release/dbplane" +%Y-%m-%dT%H:%M:%SZ), tree now at $revision"
    else
      echo "source: $revision"
    fi
  fi
} | tee -a "$summary"
echo "bench-dataplane: summary in $summary, server log in $results_dir/server-$stamp.log" >&2
exit "$status"
