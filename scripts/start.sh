#!/usr/bin/env bash
# Starts curbside on a fresh machine: installs it into .venv, then serves the web app on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# development only: a demo admin and a demo patient with published passwords (docs/accounts.md)
if [ "${CURBSIDE_ENVIRONMENT:-development}" = "development" ]; then
    .venv/bin/curbside demo seed
fi
exec .venv/bin/curbside serve "$@"
