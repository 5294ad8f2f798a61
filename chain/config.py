"""Where rcm keeps things: the project checkout, the user's home, the compiler cache."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
NODE_MODULES = PROJECT_ROOT / "node_modules"
DEFAULT_RPC = "http://127.0.0.1:8545"
EMBEDDED = "embedded"


def rcm_home() -> Path:
    return Path(os.environ.get("RCM_HOME", Path.home() / ".rcm")).expanduser()


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rcm"
    return Path(os.environ.get("RCM_CACHE", default)).expanduser()
