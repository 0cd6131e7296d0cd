#!/usr/bin/env bash
# Starts curbside on a fresh machine: installs it into .venv, then opens the symptom checker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/curbside check "$@"
