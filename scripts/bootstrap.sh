#!/usr/bin/env bash
# Idempotent setup: a virtualenv in .venv with rcm installed editable (+dev), and node_modules
# from the committed package-lock.json. Re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp_ok() { [ -f "$1" ] && [ "$1" -nt "$2" ]; }

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! stamp_ok .venv/.installed pyproject.toml; then
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e '.[dev]'
    touch .venv/.installed
fi
if ! stamp_ok node_modules/.installed package-lock.json; then
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules/.installed
fi
