"""What a command pays before it reads anything (issue 17): the deployment check is one
JSON-RPC request, the chain id is asked once, and the ABIs come without the bytecode."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chain import compiler
from chain.config import cache_dir
from chain.connection import connect
from chain.erc20 import balance_of
from chain.system import System
from tests.support import running_testnet


def test_interfaces_are_read_back_without_the_artifacts(monkeypatch: pytest.MonkeyPatch) -> None:
    artifacts = compiler.load_artifacts()
    interfaces = compiler.load_interfaces()
    assert interfaces == {name: compiler.Interface(a.abi, a.abi_hash)
                          for name, a in artifacts.items()}
    key = compiler._source_hash(compiler._sources())
    assert (cache_dir() / "artifacts" / f"{key}.abi.json").exists()

    def no_artifacts() -> None:
        raise AssertionError("the interfaces were derived from the artifacts again")

    monkeypatch.setattr(compiler, "load_artifacts", no_artifacts)
    compiler.load_interfaces.cache_clear()
    try:
        assert compiler.load_interfaces() == interfaces
    finally:
        compiler.load_interfaces.cache_clear()


class _Recorder(BaseHTTPRequestHandler):
    """Forwards JSON-RPC to the node and records each request's method (a batch as a list)."""

    server: _RecordingProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = json.loads(body)
        self.server.sent.append([r["method"] for r in request] if isinstance(request, list)
                                else request["method"])
        forwarded = urllib.request.Request(self.server.upstream, data=body,
                                           headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(forwarded) as response:
            answer = response.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _RecordingProxy(ThreadingHTTPServer):
    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.upstream = upstream
        self.sent: list[Any] = []


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    home = tmp_path_factory.mktemp("load-cost")
    with running_testnet(home) as cli:
        yield home, cli.rpc


@pytest.mark.hardhat
def test_loading_a_deployment_over_json_rpc_is_two_requests(
    node: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, rpc = node
    monkeypatch.setenv("RCM_HOME", str(home))
    proxy = _RecordingProxy(rpc)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        chain = connect(f"http://127.0.0.1:{proxy.server_address[1]}")
        system = System.load(chain)
        assert proxy.sent == ["eth_chainId", ["eth_getCode"] * len(system.manifest.contracts)]
        proxy.sent.clear()
        balance_of(system.cst, system.manifest.governance)
        assert proxy.sent == ["eth_call"]  # web3's chain-id check of a call is answered locally
    finally:
        proxy.shutdown()
        proxy.server_close()
