#!/usr/bin/env bash
# Online schema change benchmark (issue 5).
#
# Builds the release `dbplane` and `benches/online_ddl` and runs the benchmark: one fresh
# `dbplane serve` with durable managed MariaDB on a temporary dir, a BENCH_ROWS-row table
# (~200 bytes a row) in a database's `main` branch, and the same ALTER (add a column and
# an index) by a dbplane deploy request over the API, pt-online-schema-change
# (--recursion-method=none) and
# ALTER TABLE ... ALGORITHM=COPY, idle and under BENCH_WRITERS writers at BENCH_RATE
# statements/s. Prints a Markdown summary with PASS/MISS against the issue's targets;
# exits 1 when a target is missed.
#
# Environment (all optional): CARGO_TARGET_DIR, BENCH_ROWS (1000000), BENCH_RATE (600),
# BENCH_WRITERS (3), BENCH_METHODS (deploy,pt-osc,copy; osc = the engine alone), BENCH_MODES (idle,load),
# BENCH_WARMUP_SECS (3), OSC_CHUNK_MS, OSC_MAX_CHUNK, OSC_RATIO, OSC_MAX_THREADS_RUNNING,
# SKIP_BUILD=1, BENCH_RESULTS_DIR (default $CARGO_TARGET_DIR/bench-osc).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
results_dir=${BENCH_RESULTS_DIR:-$target_dir/bench-osc}

if ! command -v pt-online-schema-change >/dev/null; then
  echo "bench-osc: pt-online-schema-change is missing: sudo apt-get install percona-toolkit" >&2
  exit 2
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "bench-osc: building release binaries (dbplane, online-ddl-bench)" >&2
  cargo build --release -p dbplane -p online-ddl-bench
fi
mkdir -p "$results_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
summary="$results_dir/summary-$stamp.md"
export BENCH_LOG_DIR="$results_dir/logs-$stamp"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
set +e
"$target_dir/release/online-ddl-bench" --dbplane "$target_dir/release/dbplane" | tee "$summary"
status=${PIPESTATUS[0]}
set -e
{
  echo
  echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
  if revision=$(git rev-parse --short HEAD 2>/dev/null); then
    git diff --quiet HEAD 2>/dev/null || revision="$revision + uncommitted changes"
    echo "source: $revision"
  fi
} | tee -a "$summary"
echo "bench-osc: summary in $summary" >&2
exit "$status"
