"""Named wallets: encrypted keystores under `$RCM_HOME/keystores/<name>.json`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from chain.config import rcm_home
from chain.keystore import NAME_PATTERN, keystore_address, read_keystore, write_keystore
from tokens.errors import TokensError, UnknownWallet

if TYPE_CHECKING:
    from chain.signer import Signer


def keystore_dir() -> Path:
    return rcm_home() / "keystores"


def _path(name: str, field: str = "name") -> Path:
    if not NAME_PATTERN.match(name):
        raise TokensError(f"{name!r} is not a valid wallet name (letters, digits, _ . -)",
                          field=field)
    return keystore_dir() / f"{name}.json"


def create(name: str, password: str, private_key: bytes | None = None) -> str:
    path = _path(name)
    if path.exists():
        raise TokensError(f"a wallet named {name!r} already exists", field="name")
    return write_keystore(path, private_key or secrets.token_bytes(32), password)


def parse_private_key(text: str) -> bytes:
    raw = text.strip().removeprefix("0x")
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        raise TokensError("not hexadecimal", field="private_key") from None
    if len(key) != 32 or not 0 < int.from_bytes(key, "big") < 2**256 - 2**32 - 977:
        raise TokensError("must be 32 bytes of a valid secp256k1 key", field="private_key")
    return key


def names() -> list[tuple[str, str]]:
    """(name, address) of every wallet, sorted by name."""
    return [(p.stem, keystore_address(p)) for p in sorted(keystore_dir().glob("*.json"))]


def names_by_address() -> dict[str, str]:
    """The wallets here by address (lower case), the first name where two hold one: read once
    for a table that names many addresses, as every keystore is read to make it."""
    return {held.lower(): name for name, held in reversed(names())}


def name_of(address: str) -> str | None:
    """The name of the wallet here that holds `address`, if one does."""
    return names_by_address().get(address.lower())


def known_as(address: str) -> str:
    """An address as a human line names it: `bob (0x…)` when a wallet here holds it."""
    name = name_of(address)
    return f"{name} ({address})" if name else address


def address_of(name: str, field: str = "name") -> str:
    path = _path(name, field)
    if not path.exists():
        raise UnknownWallet(f"unknown wallet {name!r}", field=field)
    return keystore_address(path)


def unlock(name: str, password: str) -> Signer:
    address_of(name)
    return read_keystore(_path(name), password)


def resolve_recipient(text: str, field: str = "to") -> str:
    """The address of a wallet name or of a 0x address (EIP-55 checked), checksummed."""
    from chain.addresses import parse_address

    if text.startswith("0x"):
        return parse_address(text, field)
    return address_of(text, field)
