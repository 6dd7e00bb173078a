#!/usr/bin/env bash
# Runs PlanetScale's official Go SDK (tests/clients/go) against the real dbplane binary,
# which the suite starts itself on a fresh data dir with managed MariaDB and PostgreSQL.
# A cold run downloads the SDK and the SQL drivers from the Go module proxy first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
  echo "tests/clients/go needs Go >= 1.26 (the SDK's go.mod asks for it) on PATH" >&2
  exit 1
fi

cargo build --locked -p dbplane --bin dbplane
target="${CARGO_TARGET_DIR:-target}"
DBPLANE_BIN="$(cd "$target" && pwd)/debug/dbplane"
export DBPLANE_BIN

cd tests/clients/go
go mod download
go vet ./...
go test -count=1 -parallel 4 -timeout 20m "$@" ./...
