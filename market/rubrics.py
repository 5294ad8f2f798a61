"""The risk rubrics this machine holds, by hash: those shipped with rcm (`risk/rubrics/`) and a
copy of each one a policy registered from here (`$RCM_HOME/rubrics/<hash>.toml`). The chain
keeps only a round policy's rubric hash, so a buyer's client scores its declaration with the
rubric it finds under that hash, or refuses to bid."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from chain.config import rcm_home
from chain.policy import rubric_hash_of
from market.errors import MarketError
from risk.rubric import (
    DEFAULT_RUBRIC,
    Rubric,
    find_rubric,
    launch_rubric_hash,
    read_rubric,
    rubric_hash,
)

if TYPE_CHECKING:
    from chain.system import System

HASH_TEXT = re.compile(r"^0x[0-9a-f]{64}$")


def store() -> Path:
    return rcm_home() / "rubrics"


def keep_rubric(source: bytes) -> bytes:
    """Copies a rubric's file into the store, so that bids find it by its hash; the hash."""
    digest = rubric_hash(source)
    path = _kept(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(source)
        temporary.replace(path)
    return digest


def rubric_by_hash(digest: bytes) -> Rubric | None:
    """The rubric whose file hashes to `digest`, kept or shipped; None when this machine has
    none."""
    path = _held(digest)
    return None if path is None else read_rubric(path)[0]


def policy_rubric_source(entry: str | None, directory: Path) -> bytes:
    """The file a policy file's `rubric` names — the path of a TOML file (relative to
    `directory`), the 0x-hash of one this machine holds, or none for the launch rubric — once
    it reads as a monotone rubric (else refused naming the key)."""
    if entry is None:
        path = DEFAULT_RUBRIC
    elif HASH_TEXT.match(entry):
        held = _held(bytes.fromhex(entry[2:]))
        if held is None:
            raise MarketError(f"no rubric with hash {entry} on this machine (shipped or under "
                              f"{store()})", field="rubric")
        path = held
    else:
        path = directory / entry
    return read_rubric(path)[1]


def policy_rubric_entry(digest: bytes) -> str | None:
    """How a policy file names the rubric `digest`: none for the launch rubric, else its hash."""
    return None if digest == launch_rubric_hash() else f"0x{digest.hex()}"


def _kept(digest: bytes) -> Path:
    return store() / f"0x{digest.hex()}.toml"


def _held(digest: bytes) -> Path | None:
    return find_rubric(digest, [store()])


def round_rubric(system: System, policy_id: int, round_id: int) -> Rubric:
    """The rubric round `round_id`'s policy pinned, as this machine holds it."""
    digest = rubric_hash_of(system.policies, policy_id)
    rubric = rubric_by_hash(digest)
    if rubric is None:
        raise MarketError(f"round {round_id} scores risk with rubric 0x{digest.hex()}, which "
                          f"this machine does not have: put its TOML file in {store()}",
                          field="round_id")
    return rubric
