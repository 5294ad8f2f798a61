"""Encrypted JSON keystores (eth-account, scrypt) for wallets and oracle nodes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from chain.errors import RcmError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class KeystoreError(RcmError):
    pass


def password_variable(name: str) -> str:
    """The environment variable holding keystore `name`'s own password: `RCM_PASSWORD_` and
    the name upper-cased, each character other than a letter or digit as `_`."""
    return "RCM_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def read_password(name: str | None = None, confirm: bool = False) -> str:
    """The password of keystore `name`: `RCM_PASSWORD_<NAME>` if set, else `RCM_PASSWORD`,
    else a prompt on the terminal that names the keystore."""
    variables = ([password_variable(name)] if name else []) + ["RCM_PASSWORD"]
    password = next((os.environ[v] for v in variables if v in os.environ), None)
    if password is not None:
        return password
    import getpass

    try:
        # getpass falls back to an echoing prompt on stdin, with a warning, when there is no
        # terminal: refuse instead, in one line.
        with open("/dev/tty"):
            pass
        password = getpass.getpass(f"password for {name}: " if name else "password: ")
        if confirm and getpass.getpass("repeat password: ") != password:
            raise KeystoreError("the two entries differ", field="password")
    except (EOFError, OSError):
        raise KeystoreError(f"set {' or '.join(variables)}, or run on a terminal",
                            field="password") from None
    return password


def write_keystore(path: Path, private_key: bytes, password: str) -> str:
    """Encrypts `private_key` to `path` (mode 0600, never overwritten); returns the address."""
    from eth_account import Account

    if not password:
        raise KeystoreError("must not be empty", field="password")
    if path.exists():
        raise KeystoreError(f"{path} already exists")
    encrypted = Account.encrypt(private_key, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(encrypted, out)
    return str(Account.from_key(private_key).address)


def keystore_address(path: Path) -> str:
    """The address a keystore holds, read without the password."""
    from chain.addresses import parse_address

    return parse_address("0x" + json.loads(path.read_text())["address"], str(path))


def read_keystore(path: Path, password: str) -> LocalAccount:
    from eth_account import Account

    if not path.exists():
        raise KeystoreError(f"no keystore at {path}")
    try:
        key = Account.decrypt(json.loads(path.read_text()), password)
    except ValueError:
        raise KeystoreError(f"wrong password for {path.name}") from None
    return Account.from_key(key)
