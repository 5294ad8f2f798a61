"""The wallet agent: signatures equal to eth-account's own, its lifetime (expiry, lock, stop
signal, a removed socket), the stale socket of a killed agent, file modes, and the key found in
no file, argument or environment. Agents run in a thread of this process, or detached as
`rcm wallet unlock` starts them."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes

from chain.times import utc_text
from tests.support import Cli
from tokens import agent, wallets
from tokens.errors import TokensError

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
LOCAL: LocalAccount = Account.from_key(KEY)

@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An RCM_HOME with wallet `alice` holding KEY (its keystore's address is all the agent's
    client reads, so no scrypt here)."""
    monkeypatch.setenv("RCM_HOME", str(tmp_path))
    (tmp_path / "keystores").mkdir()
    address = LOCAL.address.removeprefix("0x").lower()
    (tmp_path / "keystores" / "alice.json").write_text(json.dumps({"address": address}))
    return tmp_path


def _serve(seconds: int) -> threading.Thread:
    """An agent for alice in a thread of this process; returns once it listens."""
    listening = threading.Event()
    thread = threading.Thread(
        target=agent.serve,
        args=(KEY, agent.socket_path("alice"), seconds, lambda _: listening.set()),
        daemon=True,
    )
    thread.start()
    assert listening.wait(30)
    return thread


@pytest.fixture
def served(home: Path) -> Iterator[threading.Thread]:
    thread = _serve(60)
    yield thread
    agent.lock("alice")
    thread.join(5)
    assert not thread.is_alive()


def test_agent_account_signs_exactly_like_the_local_account(served: threading.Thread) -> None:
    account = agent.account_for("alice")
    assert isinstance(account, agent.AgentAccount) and account.address == LOCAL.address
    transaction = {
        "type": 2,
        "chainId": 31337,
        "nonce": 7,
        "from": LOCAL.address,
        "to": "0x" + "22" * 20,
        "value": 10**18,
        "gas": 120_000,
        "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "data": HexBytes("0xa9059cbb" + "00" * 64),
        "accessList": [{"address": "0x" + "33" * 20, "storageKeys": ["0x" + "00" * 32]}],
    }
    digest = keccak(b"a verdict")
    for ours, theirs in (
        (account.sign_transaction(transaction), LOCAL.sign_transaction(transaction)),  # type: ignore[arg-type]
        (account.unsafe_sign_hash(digest), LOCAL.unsafe_sign_hash(digest)),  # type: ignore[arg-type]
    ):
        # The same fields, as plain bytes and ints: the client imports no eth-account.
        assert astuple(ours) == tuple(theirs)
    # A request eth-account refuses is refused as such, and the agent goes on serving.
    with pytest.raises(agent.AgentError, match="from field must match"):
        account.sign_transaction({**transaction, "from": "0x" + "44" * 20})  # type: ignore[arg-type]
    assert agent.status("alice") is not None


def test_the_agent_stops_when_its_time_is_up_and_removes_its_socket(home: Path) -> None:
    thread = _serve(1)
    path = agent.socket_path("alice")
    assert agent.account_for("alice") is not None and path.exists()
    thread.join(5)
    assert not thread.is_alive() and not path.exists()
    assert agent.account_for("alice") is None


def test_lock_stops_the_agent_and_its_accounts(served: threading.Thread) -> None:
    account = agent.account_for("alice")
    assert account is not None
    assert agent.lock("alice") is True
    served.join(5)
    assert not served.is_alive() and not agent.socket_path("alice").exists()
    with pytest.raises(agent.AgentError, match="stopped answering"):
        account.unsafe_sign_hash(keccak(b"x"))  # type: ignore[arg-type]
    assert agent.lock("alice") is False and agent.account_for("alice") is None


def test_an_agent_whose_socket_is_removed_stops(served: threading.Thread) -> None:
    agent.socket_path("alice").unlink()  # no client could reach it: it must not keep the key
    served.join(5)
    assert not served.is_alive()


def test_a_stale_socket_counts_as_locked_and_is_removed(home: Path) -> None:
    path = agent.socket_path("alice")
    path.parent.mkdir(mode=0o700)
    for ask in (agent.account_for, agent.lock):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
            dead.bind(str(path))  # an agent killed with SIGKILL leaves its socket behind
        assert path.exists()
        assert not ask("alice")
        assert not path.exists()


def test_socket_0600_in_a_0700_directory(home: Path) -> None:
    (home / "agent").mkdir(mode=0o755)
    os.chmod(home / "agent", 0o755)
    thread = _serve(60)
    try:
        assert stat.S_IMODE(os.stat(home / "agent").st_mode) == 0o700
        found = os.lstat(agent.socket_path("alice"))
        assert stat.S_ISSOCK(found.st_mode) and stat.S_IMODE(found.st_mode) == 0o600
    finally:
        agent.lock("alice")
        thread.join(5)


@pytest.fixture
def detached(home: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The agent processes a test starts: none survives it."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _files_hold_key(root: Path) -> list[Path]:
    return [
        path for path in root.rglob("*")
        if path.is_file() and (KEY in (data := path.read_bytes()) or KEY.hex().encode() in data)
    ]


def test_detached_agent_keeps_the_key_out_of_files_argv_and_env(
    home: Path, detached: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCM_PASSWORD", "not for the agent")
    first = agent.start("alice", LOCAL, 60)
    detached.append(first.process)
    live = agent.status("alice")
    assert live == {"address": LOCAL.address, "expires_at": first.expires_at,
                    "pid": first.process.pid}
    assert _files_hold_key(home) == []
    proc = Path(f"/proc/{first.process.pid}")
    if proc.exists():
        assert KEY.hex().encode() not in (proc / "cmdline").read_bytes()
        try:
            environ = (proc / "environ").read_bytes()
        except PermissionError:  # an undumpable process's, unless we are root
            environ = b""
        assert KEY.hex().encode() not in environ and b"RCM_PASSWORD" not in environ
    # Unlocking again replaces the agent.
    second = agent.start("alice", LOCAL, 60)
    detached.append(second.process)
    assert first.process.wait(5) == 0
    assert agent.status("alice")["pid"] == second.process.pid  # type: ignore[index]
    # SIGTERM stops it, and it removes its socket.
    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(5) == 0
    assert not agent.socket_path("alice").exists() and agent.account_for("alice") is None


def test_the_agent_process_is_not_dumpable() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("prctl is Linux's")
    done = subprocess.run(
        [sys.executable, "-c", "import ctypes\nfrom tokens.agent import _no_dumps\n_no_dumps()\n"
         "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))"],  # 3 = PR_GET_DUMPABLE
        capture_output=True, text=True, timeout=30, check=True,
    )
    assert done.stdout.strip() == "0"


@pytest.mark.parametrize(
    "text, seconds", [("90s", 90), ("15m", 900), ("1h", 3600), ("2h30m", 9000), ("24h", 86400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert agent.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0s", "0h0m", "", "15", "1d", "24h1s", "-5m", "m", "1h 2m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(TokensError) as caught:
        agent.parse_duration(text)
    assert caught.value.field == "duration" and "--" not in str(caught.value)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """`rcm` with a real keystore (scrypt) for alice; no chain."""
    home = tmp_path_factory.mktemp("agent-cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RCM_HOME", str(home))
        wallets.create("alice", "pw", KEY)
    return Cli(home, "unused")


@pytest.mark.parametrize(
    "duration, match", [("0s", "must be more than 0"), ("1d", "expected a duration like 90s")]
)
def test_unlock_rejects_a_bad_duration_in_one_line(cli: Cli, duration: str, match: str) -> None:
    cli.rejects("wallet", "unlock", "alice", "--for", duration, match=f"--for: {match}", rpc=False)
    assert not (cli.home / "agent").exists()


def test_unlock_with_a_wrong_password_starts_no_agent(cli: Cli) -> None:
    cli.rejects("wallet", "unlock", "alice", match="wrong password", rpc=False, password="nope")
    assert not (cli.home / "agent").exists()


def test_unlock_lasts_an_hour_by_default_and_lock_says_when_an_unlock_expired(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCM_HOME", str(cli.home))  # for the agent's status and the cleanup
    try:
        unlocked = cli.json("wallet", "unlock", "alice", rpc=False)
        assert 3_590 <= unlocked["expires_at"] - time.time() <= 3_600  # the walkthrough fits
        assert cli.json("wallet", "lock", "alice", rpc=False) == {
            "name": "alice", "was_unlocked": True, "expired_at": None, "expired_at_iso": None}

        expires_at = cli.json("wallet", "unlock", "alice", "--for", "1s", rpc=False)["expires_at"]
        pid = agent.status("alice")["pid"]  # type: ignore[index]
        deadline = time.monotonic() + 10
        while agent.status("alice") is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert agent.status("alice") is None, f"agent {pid} outlived its unlock"
        said = cli.ok("wallet", "lock", "alice", rpc=False)
        assert " ".join(said.split()) == (
            f"alice was already locked: its unlock had expired at {utc_text(expires_at)}")
        # Said once: the next lock finds nothing to say of an unlock.
        assert cli.ok("wallet", "lock", "alice", rpc=False) == "alice was not unlocked\n"
    finally:
        agent.lock("alice")
