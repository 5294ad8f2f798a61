#!/usr/bin/env bash
# Idempotent setup: a virtualenv in .venv with rcm installed editable (+dev), node_modules from
# the committed package-lock.json (the compiler, Hardhat, and the dashboard's htmx and Vega),
# and Debian's Chromium for the browser tests when it is missing and we are root. Re-running
# only installs what changed.
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
# The browser tests drive Debian's Chromium with Playwright, not a browser Playwright fetches.
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
        echo "bootstrap: no /usr/bin/chromium; the browser tests need it:" \
             "sudo apt-get install -y chromium" >&2
    fi
fi
