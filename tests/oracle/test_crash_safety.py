"""A node killed (SIGKILL) under load and restarted still serves every verdict it answered."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from oracle.attester import Enclave
from oracle.config import read_node_config, write_toml
from oracle.node.app import create_app
from oracle.node.service import load_node
from tests.oracle.factories import PASSWORD, body, signed, start_node
from tests.support import free_port

WORKERS = 4
ACCEPTED_BEFORE_KILL = 60


@pytest.fixture
def config(oracle_dir: Path, tmp_path: Path) -> Path:
    node = read_node_config(oracle_dir / "node-1.toml")
    path = tmp_path / "node.toml"
    write_toml(path, node.model_copy(update={"database": tmp_path / "node.sqlite"}))
    return path


def _load(port: int, bodies: Iterator[dict[str, Any]], accepted: dict[str, Any]) -> None:
    """Posts until the node goes away; records every verdict the node answered with."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for document in bodies:
            try:
                response = client.post("/attestations", json=document)
            except httpx.TransportError:
                return
            if response.status_code == 201:
                accepted[response.json()["job"]] = response.json()


def test_every_accepted_attestation_is_served_after_a_kill_and_restart(
    config: Path, enclave: Enclave
) -> None:
    # Compliant and violating verdicts alike, signed before the node starts.
    documents = [body(signed(enclave, claimed_epsilon=[None, 0.5][i % 2])) for i in range(600)]
    queue, accepted = iter(documents), dict[str, Any]()
    lock = threading.Lock()

    def bodies() -> Iterator[dict[str, Any]]:
        while True:
            with lock:
                document = next(queue, None)
            if document is None:
                return
            yield document

    port = free_port()
    node = start_node(config, port)
    try:
        workers = [
            threading.Thread(target=_load, args=(port, bodies(), accepted)) for _ in range(WORKERS)
        ]
        for worker in workers:
            worker.start()
        while len(accepted) < ACCEPTED_BEFORE_KILL and any(w.is_alive() for w in workers):
            threading.Event().wait(0.01)
        os.kill(node.pid, signal.SIGKILL)
        for worker in workers:
            worker.join()
    finally:
        node.kill()
        node.wait()

    assert len(accepted) >= ACCEPTED_BEFORE_KILL
    # The restart: a node loaded afresh from the same files, as `rcm oracle serve` does.
    restarted = load_node(read_node_config(config), PASSWORD)
    with TestClient(create_app(restarted)) as client:
        for job, verdict in accepted.items():
            assert client.get(f"/verdicts/{job}").json() == verdict
        replay = client.post("/attestations", json=documents[0])
        assert replay.status_code == 409
        assert replay.json()["verdict"] == accepted[documents[0]["evidence"]["job"]]
        assert client.get("/health").json()["verdicts"] >= len(accepted)
