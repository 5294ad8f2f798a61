"""`rcm oracle serve` in a process of its own, returned once it answers /health: how tests and
benchmarks run nodes the way an operator does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port nothing listens on now, for a node or a local chain to serve on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn_node(config: Path, port: int, password: str, rpc: str | None = None,
               home: Path | None = None, timeout_seconds: float = 60.0
               ) -> subprocess.Popen[bytes]:
    """The node serving `config` on `port`; with `rpc` (and `home` holding that chain's
    deployment manifest) it reads the chain. Raises RuntimeError, with the node's stderr, if
    it exits or does not answer within `timeout_seconds`."""
    command = ["oracle", "serve", "--config", str(config), "--port", str(port)]
    if rpc:
        command += ["--rpc", rpc]
    env = {**os.environ, "RCM_PASSWORD": password}
    if home:
        env["RCM_HOME"] = str(home)
    node = subprocess.Popen([sys.executable, "-m", "rcm", *command], env=env,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if node.poll() is not None:
            stderr = node.stderr.read().decode() if node.stderr else ""
            raise RuntimeError(f"the node serving {config} exited: {stderr}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return node
        except httpx.TransportError:
            time.sleep(0.1)
    node.kill()
    raise RuntimeError(f"the node serving {config} did not answer /health within "
                       f"{timeout_seconds:g} s")
