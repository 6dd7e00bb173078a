#!/usr/bin/env bash
# Installs the database servers dbplane manages (MariaDB, PostgreSQL) and Python's venv
# (for the schemathesis test tool) when missing.
# Debian/Ubuntu via apt; runs as root or through sudo.
set -euo pipefail

have_mariadb() { command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; }
have_postgres() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null 2>&1; }

# The API fuzz test runs schemathesis from a Python virtualenv (install-schemathesis.sh).
have_python_venv() { python3 -c 'import ensurepip, venv' >/dev/null 2>&1; }

packages=()
have_mariadb || packages+=(mariadb-server)
have_postgres || packages+=(postgresql)
have_python_venv || packages+=(python3-venv)
[ ${#packages[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${packages[*]} (apt)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
