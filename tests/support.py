"""Assertions and helpers for tests on a real chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chain.reverts import Reverted
from oracle.node.spawn import free_port


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


RCM = str(Path(sys.executable).with_name("rcm"))


class Cli:
    """The installed `rcm` command with its own RCM_HOME and password, against one chain."""

    def __init__(self, home: Path, rpc: str, password: str = "pw") -> None:
        self.home, self.rpc = home, rpc
        self.env = {**os.environ, "RCM_HOME": str(home), "RCM_PASSWORD": password}

    def __call__(
        self, *args: str, rpc: bool = True, password: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = self.env if password is None else {**self.env, "RCM_PASSWORD": password}
        command = [RCM, *args, *(["--rpc", self.rpc] if rpc else [])]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)

    def nonce(self, name: str) -> int:
        """The transaction count of wallet `name`: unchanged when nothing was sent."""
        from web3 import HTTPProvider, Web3

        from chain.keystore import keystore_address

        address = keystore_address(self.home / "keystores" / f"{name}.json")
        return Web3(HTTPProvider(self.rpc)).eth.get_transaction_count(address)  # type: ignore[arg-type]

    def ok(self, *args: str, rpc: bool = True) -> str:
        done = self(*args, rpc=rpc)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args: str, rpc: bool = True) -> Any:
        return json.loads(self.ok(*args, "--json", rpc=rpc))

    def rejects(
        self, *args: str, match: str, rpc: bool = True, password: str | None = None
    ) -> None:
        """Exit 2 with exactly one line on stderr that contains `match`."""
        done = self(*args, rpc=rpc, password=password)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and match in lines[0], (
            done.stdout,
            done.stderr,
        )


@contextmanager
def running_testnet(home: Path, password: str = "pw") -> Iterator[Cli]:
    """`rcm testnet start` on a free port with its own RCM_HOME; stopped on the way out."""
    port = free_port()
    cli = Cli(home, f"http://127.0.0.1:{port}", password=password)
    cli.ok("testnet", "start", "--port", str(port), rpc=False)
    try:
        yield cli
    finally:
        cli("testnet", "stop", rpc=False)
