#!/usr/bin/env bash
# Runs every test: the workspace's (cargo-nextest when present, which runs test binaries
# in parallel, plain cargo test otherwise), then PlanetScale's Go SDK against the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
# The API fuzz test (crates/dbplane/tests/api_fuzz.rs) runs schemathesis; install it
# once up front rather than inside a test.
scripts/install-schemathesis.sh >/dev/null
# Likewise the real clients the edge's tests drive (PyMySQL, mysql2, Prisma, Kysely).
scripts/install-client-deps.sh >/dev/null
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast || status=$?
else
  cargo test --workspace --locked --no-fail-fast || status=$?
fi
scripts/test-go-clients.sh || status=$?
exit "$status"
