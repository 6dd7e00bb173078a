#!/usr/bin/env bash
# Installs schemathesis (PyPI, pinned) into its own virtualenv when missing and prints
# the path of its executable. The API fuzz test (crates/dbplane/tests/api_fuzz.rs) runs
# it; scripts/test.sh calls this first so `make test` needs nothing preinstalled.
# DBPLANE_TOOLS_DIR moves the virtualenv (default: ~/.cache/dbplane/tools); PYTHON picks
# the interpreter (default: python3).
set -euo pipefail

version="4.32.5"
tools="${DBPLANE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbplane/tools}"
venv="$tools/schemathesis-$version"
exe="$venv/bin/schemathesis"

# The marker is written last, so an interrupted install is never taken as done.
if [ ! -f "$venv/.installed" ]; then
  python="${PYTHON:-python3}"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
    { echo "install-schemathesis: $python (3.9 or newer) is required; set PYTHON" >&2; exit 1; }
  mkdir -p "$tools"
  echo "installing schemathesis $version into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" >&2
  touch "$venv/.installed"
fi
echo "$exe"
