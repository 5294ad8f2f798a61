"""Assertions and helpers for tests on a real chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chain.contract import Contract, Receipt
from chain.reverts import Reverted
from oracle.node.spawn import free_port


def declaration(purpose: str = "general", risk: str = "low") -> dict[str, Any]:
    """A workload declaration the launch rubric scores at a band's minimum: a low-risk job
    serves a model in house on public data (1,000 bps), a medium-risk one trains a model on
    genomic data (3,000 bps)."""
    medium = risk == "medium"
    return {"task": "training" if medium else "inference", "model_parameters": 10**8,
            "job_flop": 10**20, "model_flop": 10**20,
            "data_categories": ["genomic" if medium else "public"],
            "mainly_biological_sequences": False, "capabilities": [], "practices": [],
            "purpose": purpose, "release": "internal"}


@contextmanager
def reverts(name: str, *args: Any) -> Iterator[None]:
    """The block must revert with custom error `name`; with `args`, exactly those arguments
    (bytes among them as the 0x-hex a revert's arguments read as)."""
    with pytest.raises(Reverted) as caught:
        yield
    assert caught.value.name == name, str(caught.value)
    if args:
        expected = tuple("0x" + a.hex() if isinstance(a, bytes) else a for a in args)
        assert caught.value.args_ == expected, str(caught.value)


def role(contract: Any, name: str) -> bytes:
    return bytes(getattr(contract.functions, name)().call())


def event_args(contract: Contract, receipt: Receipt, event: str) -> list[dict[str, Any]]:
    """The decoded arguments of every `event` the receipt holds from `contract`."""
    return [e.args for e in contract.events_in(receipt, event)]


RCM = str(Path(sys.executable).with_name("rcm"))


def run_in_process(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`rcm.cli.main` with `argv` and `env` in a fork of this process: a new interpreter would
    spend two seconds importing web3 per command, a fork starts with it imported. Its exit
    code and output are the command's own: 0, 2 for what it refuses, 1 and the traceback for a
    bug."""
    import tempfile

    _warm_imports()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                code = _child(argv, env, out.fileno(), err.fileno())
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, os.waitstatus_to_exitcode(status),
                                           out.read().decode(), err.read().decode())


def _child(argv: list[str], env: dict[str, str], out: int, err: int) -> int:
    import traceback

    from rcm.cli import main

    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - flushed below, fd kept
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    os.environ.clear()
    os.environ.update(env)
    sys.argv = argv
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _warm_imports() -> None:
    """What every chain command imports, once per test process, so each fork starts warm."""
    import importlib

    from rcm.cli import SUBCOMMANDS

    for module, _ in SUBCOMMANDS.values():
        importlib.import_module(f"rcm.commands.{module}")
    for module in ("web3", "eth_account", "rcm.sdk", "chain.system", "market.orders",
                   "tokens.operations", "tokens.budgets", "tokens.futures"):
        importlib.import_module(module)


class Cli:
    """The installed `rcm` command with its own RCM_HOME and password, against one chain."""

    def __init__(self, home: Path, rpc: str, password: str = "pw") -> None:
        self.home, self.rpc = home, rpc
        self.env = {**os.environ, "RCM_HOME": str(home), "RCM_PASSWORD": password}

    def __call__(
        self, *args: str, rpc: bool = True, password: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Runs the command in this process, through `rcm.cli.main` as the installed script
        does, with its own environment, argv and output: a new process would spend two seconds
        importing web3 per command. (tests/rcm/test_cli.py runs the installed script.)"""
        env = self.env if password is None else {**self.env, "RCM_PASSWORD": password}
        argv = [RCM, *args, *(["--rpc", self.rpc] if rpc else [])]
        return run_in_process(argv, env)

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


HEAVY = ("web3", "eth_account", "eth_abi", "eth_utils", "eth_keys", "Crypto")


def heavy_modules_loaded_by(cli: Cli, *args: str, rpc: bool = True) -> list[str]:
    """Which of web3 and its libraries (a second or more to import) `rcm ARGS` loads, unlocked
    and with no password: read at exit, after the command ran."""
    import ast

    argv = [*args, *(["--rpc", cli.rpc] if rpc else [])]
    probe = ("import atexit, runpy, sys\n"
             f"atexit.register(lambda: print(sorted(m for m in {HEAVY!r} if m in sys.modules),"
             " file=sys.stderr))\n"
             f"sys.argv = ['rcm', *{argv!r}]\n"
             "runpy.run_module('rcm', run_name='__main__')\n")
    env = {k: v for k, v in cli.env.items() if k != "RCM_PASSWORD"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return list(ast.literal_eval(done.stderr.strip().splitlines()[-1]))


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


@dataclass(frozen=True)
class Run:
    """What a command did: its exit code and what it printed."""

    code: int
    out: str
    err: str


def rcm_in_process(args: Sequence[str], capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> Run:
    """Runs `rcm ARGS` in this process."""
    from rcm.cli import main

    monkeypatch.setattr(sys, "argv", ["rcm", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    out, err = capsys.readouterr()
    return Run(code, out, err)
