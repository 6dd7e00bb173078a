#!/usr/bin/env bash
# Backup and restore benchmark (issue 6).
#
# Builds the release `dbplane` and `benches/backup_restore`, then runs the benchmark: one
# fresh dbplane with durable managed MariaDB and PostgreSQL on a temporary data dir, a
# database per engine filled with BENCH_ROWS rows in 3 tables (~250 bytes of row text a
# row: 2,000,000 rows ≈ 500 MB), dbplane's backup and restore timed over the API, and the
# peer tools on the same data (mariadb-dump | zstd -1 and its reload, mydumper/myloader,
# pg_dump -Fc/pg_restore, pg_dump -Fd -j2/pg_restore -j2). Every restore is checked
# (row counts and row checksums). Prints a Markdown summary with PASS/MISS against the
# issue's targets; exits 1 when a target is missed. The data dir is removed at the end.
#
# Environment (all optional):
#   CARGO_TARGET_DIR   where cargo builds (default ./target)
#   BENCH_ROWS         rows in total (default 2000000; 100000 for a quick run)
#   BENCH_ROUNDS       times each tool runs, the tools taking turns (default 3); the
#                      summary compares medians
#   BENCH_ENGINES      mysql,postgresql (default both)
#   BENCH_PEERS        mariadb-dump,mydumper,pg_dump-Fc,pg_dump-Fd-j2 (default all)
#   SKIP_BUILD=1       use the binaries already built
#   BENCH_RESULTS_DIR  where the summary and the server's log are kept (default
#                      $CARGO_TARGET_DIR/bench-backup)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
results_dir=${BENCH_RESULTS_DIR:-$target_dir/bench-backup}

# The peers that `make deps` does not install (`make test` does not need them).
missing=()
command -v zstd >/dev/null || missing+=(zstd)
{ command -v mydumper >/dev/null && command -v myloader >/dev/null; } || missing+=(mydumper)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "bench-backup: installing ${missing[*]} (apt)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in mariadb-dump mariadb zstd mydumper myloader pg_dump pg_restore; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench-backup: $tool is missing (mydumper/myloader: sudo apt-get install mydumper)" >&2
    exit 2
  fi
done
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "bench-backup: building release binaries (dbplane, backup-restore-bench)" >&2
  cargo build --release -p dbplane -p backup-restore-bench
fi
mkdir -p "$results_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
summary="$results_dir/summary-$stamp.md"
export BENCH_SERVER_LOG="$results_dir/server-$stamp.log"
set +e
"$target_dir/release/backup-restore-bench" --dbplane "$target_dir/release/dbplane" | tee "$summary"
status=${PIPESTATUS[0]}
set -e
{
  echo
  echo "nproc: $(nproc); uptime at the end: $(uptime)"
  if revision=$(git rev-parse --short HEAD 2>/dev/null); then
    git diff --quiet HEAD 2>/dev/null || revision="$revision + uncommitted changes"
    echo "source: $revision"
  fi
} | tee -a "$summary"
echo "bench-backup: summary in $summary" >&2
exit "$status"
