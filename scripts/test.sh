#!/usr/bin/env bash
# Runs every test of the workspace. Uses cargo-nextest when present (runs test binaries
# in parallel), plain cargo test otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
# The API fuzz test (crates/dbplane/tests/api_fuzz.rs) runs schemathesis; install it
# once up front rather than inside a test.
scripts/install-schemathesis.sh >/dev/null
if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace --locked --no-fail-fast
else
  exec cargo test --workspace --locked --no-fail-fast
fi
