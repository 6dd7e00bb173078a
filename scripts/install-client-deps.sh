#!/usr/bin/env bash
# Installs the real MySQL clients the connection edge's tests drive (when missing) and
# prints where they are, one `name=path` per line:
#   python=<a Python with PyMySQL>            (PyPI, pinned, in its own virtualenv)
#   node_clients=<tests/clients/node>         (npm ci from the lockfile: mysql2, Kysely,
#                                              Prisma 7 with its MariaDB adapter; the
#                                              Prisma client generated)
# The mariadb command-line client comes with the server (install-deps.sh).
# DBPLANE_TOOLS_DIR moves the virtualenv (default: ~/.cache/dbplane/tools).
set -euo pipefail
cd "$(dirname "$0")/.."

pymysql="1.1.2"
tools="${DBPLANE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbplane/tools}"
venv="$tools/pymysql-$pymysql"
# Markers are written last, so an interrupted install is never taken as done.
if [ ! -f "$venv/.installed" ]; then
  python="${PYTHON:-python3}"
  mkdir -p "$tools"
  echo "installing PyMySQL $pymysql into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "PyMySQL==$pymysql" >&2
  touch "$venv/.installed"
fi

node_dir="$PWD/tests/clients/node"
if ! command -v npm >/dev/null 2>&1; then
  echo "install-client-deps: the edge's client tests need Node.js and npm" >&2
  exit 1
fi
lock_hash="$(sha256sum "$node_dir/package-lock.json" "$node_dir/prisma/schema.prisma" | sha256sum | cut -c1-16)"
marker="$node_dir/node_modules/.installed-$lock_hash"
if [ ! -f "$marker" ]; then
  echo "installing the Node.js clients (npm ci) in $node_dir" >&2
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  # With a driver adapter, generating the client needs no engine binary; pointing the
  # CLI at a schema engine that is never run keeps it from downloading one.
  (cd "$node_dir" && PRISMA_SCHEMA_ENGINE_BINARY=/bin/true npx --no-install prisma generate >&2)
  touch "$marker"
fi

echo "python=$venv/bin/python"
echo "node_clients=$node_dir"
