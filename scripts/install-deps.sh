#!/usr/bin/env bash
# Installs the database servers dbplane manages (MariaDB, PostgreSQL), Python's venv (for
# the schemathesis test tool and PyMySQL), the mariadb client and Node.js when missing.
# Debian/Ubuntu via apt; runs as root or through sudo.
set -euo pipefail

have_mariadb() { command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; }
have_postgres() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null 2>&1; }

# The API fuzz test runs schemathesis from a Python virtualenv (install-schemathesis.sh).
have_python_venv() { python3 -c 'import ensurepip, venv' >/dev/null 2>&1; }

# The connection edge's tests drive real clients: the mariadb CLI, PyMySQL (a virtualenv,
# as above) and Node.js ones (install-client-deps.sh).
have_mariadb_client() { command -v mariadb >/dev/null 2>&1; }
have_npm() { command -v npm >/dev/null 2>&1; }

packages=()
have_mariadb || packages+=(mariadb-server)
have_mariadb_client || packages+=(mariadb-client)
have_npm || packages+=(nodejs npm)
have_postgres || packages+=(postgresql)
have_python_venv || packages+=(python3-venv)
[ ${#packages[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${packages[*]} (apt)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
