"""Where rcm keeps things (the project checkout, the user's home, the compiler cache) and what
the user set in `$RCM_HOME/config.toml`."""

from __future__ import annotations

import os
from pathlib import Path

from chain.errors import RcmError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
NODE_MODULES = PROJECT_ROOT / "node_modules"
DEFAULT_RPC = "http://127.0.0.1:8545"
EMBEDDED = "embedded"
CONFIG_KEYS = ("rpc",)


class ConfigError(RcmError):
    """`$RCM_HOME/config.toml` cannot be read, or holds a key or value rcm does not take;
    `field` is the key as `config.KEY`."""


def rcm_home() -> Path:
    return Path(os.environ.get("RCM_HOME", Path.home() / ".rcm")).expanduser()


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rcm"
    return Path(os.environ.get("RCM_CACHE", default)).expanduser()


def config_file() -> Path:
    return rcm_home() / "config.toml"


def read_config() -> dict[str, str]:
    """The settings in `config.toml` (none if there is no file), each checked."""
    import tomllib

    path = config_file()
    try:
        settings = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", field="config") from None
    for key, value in settings.items():
        if key not in CONFIG_KEYS:
            raise ConfigError(f"not a setting (rcm reads {', '.join(CONFIG_KEYS)}) in {path}",
                              field=f"config.{key}")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"must be a non-empty string in {path}", field=f"config.{key}")
    rpc = settings.get("rpc")
    if rpc is not None and rpc != EMBEDDED and not rpc.startswith(("http://", "https://")):
        raise ConfigError(f"expected an http(s) URL or '{EMBEDDED}', got {rpc!r} in {path}",
                          field="config.rpc")
    return settings


def default_rpc() -> str:
    """The chain to use when none is named: $RCM_RPC, else `rpc` in config.toml, else the
    local testnet."""
    return os.environ.get("RCM_RPC") or read_config().get("rpc", DEFAULT_RPC)
