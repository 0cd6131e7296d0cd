#!/usr/bin/env bash
# Starts curbside on a fresh machine: installs it into .venv, then serves the web app on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/curbside serve "$@"
