"""A local Hardhat 2 node run in the background, remembered in `$RCM_HOME/testnet/`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from chain.config import PROJECT_ROOT, rcm_home
from chain.errors import ChainError


class TestnetRunning(ChainError):
    """A testnet started by rcm already runs; stop it before starting another."""


STARTUP_SECONDS = 60


def state_dir() -> Path:
    return rcm_home() / "testnet"


def _state_file() -> Path:
    return state_dir() / "node.json"


def _answers(url: str) -> bool:
    import urllib.request

    request = urllib.request.Request(
        url,
        data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return b"result" in response.read()
    except OSError:
        return False


def running() -> dict[str, object] | None:
    """The node this rcm home started, if it is still alive."""
    path = _state_file()
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    try:
        os.kill(int(state["pid"]), 0)
    except ProcessLookupError:
        path.unlink()
        return None
    return dict(state)


def start(host: str = "127.0.0.1", port: int = 8545) -> str:
    """Starts `npx hardhat node` detached; returns its URL once it answers JSON-RPC."""
    url = f"http://{host}:{port}"
    if running():
        raise TestnetRunning(f"a testnet started by rcm already runs at {url}")
    if _answers(url):
        raise ChainError(f"something else already answers at {url}", field="port")
    hardhat = PROJECT_ROOT / "node_modules" / ".bin" / "hardhat"
    if not hardhat.exists():
        raise ChainError("Hardhat is not installed: run `make bootstrap` (npm ci) first")
    state_dir().mkdir(parents=True, exist_ok=True)
    log = (state_dir() / "node.log").open("wb")
    process = subprocess.Popen(
        [str(hardhat), "node", "--hostname", host, "--port", str(port)],
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"},
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            _kill_group(process.pid)
            raise ChainError(f"the Hardhat node did not start; see {state_dir() / 'node.log'}")
        time.sleep(0.25)
    _state_file().write_text(json.dumps({"pid": process.pid, "url": url}))
    return url


def stop() -> str:
    """Stops the node this rcm home started, and only that one."""
    state = running()
    if state is None:
        raise ChainError("no testnet started by rcm is running")
    _kill_group(int(str(state["pid"])))
    _state_file().unlink(missing_ok=True)
    return str(state["url"])


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(40):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)
