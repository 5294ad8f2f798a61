"""Assertions and helpers for tests on a real chain."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chain.reverts import Reverted


@contextmanager
def reverts(name: str, *args: Any) -> Iterator[None]:
    """The block must revert with custom error `name`; with `args`, exactly those arguments."""
    with pytest.raises(Reverted) as caught:
        yield
    assert caught.value.name == name, str(caught.value)
    if args:
        assert caught.value.args_ == args, str(caught.value)


def role(contract: Any, name: str) -> str:
    return "0x" + bytes(getattr(contract.functions, name)().call()).hex()


def event_args(contract: Any, receipt: Any, event: str) -> list[dict[str, Any]]:
    """The decoded arguments of every `event` the receipt holds from `contract`."""
    from web3.logs import DISCARD

    # Logs of other contracts in the same receipt (token transfers) are not this event.
    found = getattr(contract.events, event)().process_receipt(receipt, errors=DISCARD)
    return [dict(e["args"]) for e in found]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
