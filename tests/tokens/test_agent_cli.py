"""`rcm wallet unlock|lock` as a user runs them, against a Hardhat node started here: while
unlocked, a signing command needs no password; once locked, it needs one again."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import RCM, Cli, heavy_modules_loaded_by, running_testnet
from tokens import agent

pytestmark = pytest.mark.hardhat


@pytest.fixture
def cli(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    home = tmp_path_factory.mktemp("agent-cli")
    monkeypatch.setenv("RCM_HOME", str(home))  # for the teardown's `agent.lock`
    with running_testnet(home) as cli:
        cli.ok("wallet", "new", "alice", rpc=False)
        cli.ok("testnet", "fund", "alice", "--cst", "10")
        try:
            yield cli
        finally:
            agent.lock("alice")  # no agent outlives the test


def _without_password(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    """`rcm ARGS --rpc ...` with no RCM_PASSWORD and no terminal to prompt on."""
    env = {k: v for k, v in cli.env.items() if k != "RCM_PASSWORD"}
    return subprocess.run(
        [RCM, *args, "--rpc", cli.rpc], env=env, capture_output=True, text=True, timeout=180,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )


def _files_holding(root: Path, secret: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.hex().encode() in p.read_bytes()]


def test_unlock_signs_without_a_password_until_lock(cli: Cli) -> None:
    out = cli.ok("wallet", "unlock", "alice", "--for", "5m", rpc=False)
    until = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
    said = " ".join(out.split())  # one line, wrapped to 80 columns
    assert re.fullmatch(rf"unlocked alice \(0x[0-9a-fA-F]{{40}}\) until {until}", said), out
    from chain.keystore import read_keystore

    key = bytes(read_keystore(cli.home / "keystores" / "alice.json", "pw").key)
    assert _files_holding(cli.home, key) == []  # keystores, manifest, node logs, agent dir

    nonce = cli.nonce("alice")
    done = _without_password(cli, "wallet", "stake", "alice", "1")
    assert done.returncode == 0 and done.stdout.startswith("staked 1 CST"), done.stderr
    assert cli.nonce("alice") == nonce + 2  # approve + stake, signed by the agent

    assert cli.ok("wallet", "lock", "alice", rpc=False) == "locked alice\n"
    assert cli.ok("wallet", "lock", "alice", rpc=False) == "alice was not unlocked\n"
    done = _without_password(cli, "wallet", "stake", "alice", "1")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    # The one error line; before it, getpass (finding no terminal) warns and prompts on stderr.
    last = done.stderr.strip().splitlines()[-1]
    assert last.endswith("error: password: set RCM_PASSWORD_ALICE or RCM_PASSWORD, or run on a "
                         "terminal"), done.stderr
    assert cli.nonce("alice") == nonce + 2


def test_reads_and_unlocked_signing_never_import_web3_or_eth_account(cli: Cli) -> None:
    cli.ok("wallet", "unlock", "alice", "--for", "5m", rpc=False)
    assert heavy_modules_loaded_by(cli, "wallet", "balance", "alice") == []
    nonce = cli.nonce("alice")
    assert heavy_modules_loaded_by(cli, "wallet", "stake", "alice", "1") == []
    assert cli.nonce("alice") == nonce + 2  # it did sign and send: approve + stake
