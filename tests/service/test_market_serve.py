"""`serve` (`rcm market serve`): indexes the deployment into the given file and serves the
relay over it, polling the chain while it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient

from oracle.node.spawn import free_port
from rcm.commands import market_serve
from tests.service.conftest import Scene

pytestmark = pytest.mark.usefixtures("snapshot")


def test_serve_indexes_into_the_file_and_serves_the_relay(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answered: dict[str, Any] = {}

    def run(app: Any, host: str, port: int, **_: Any) -> None:
        with TestClient(app) as client:
            answered.update(client.get("/health").json(), host=host, port=port)

    monkeypatch.setattr("rcm.commands.market_serve.load_system", lambda rpc: scene.market.system)
    monkeypatch.setattr("uvicorn.run", run)
    path = tmp_path / "index.sqlite"
    market_serve.serve(rpc="embedded", port=8811, db=path, host="127.0.0.1", poll_ms=60_000)
    assert path.exists()
    assert (answered["block"], answered["host"], answered["port"]) == (
        scene.market.chain.block_number(), "127.0.0.1", 8811)


def test_serve_refuses_a_node_that_is_no_http_url_before_indexing(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    with pytest.raises(typer.BadParameter, match="'node-1:8701' is not an http"):
        market_serve.serve(rpc="embedded", port=free_port(), db=path,
                           nodes="http://127.0.0.1:8701, node-1:8701")
    assert not path.exists()
