"""`rcm demo --serve --rpc` on a Hardhat node started here: after the story, the demo's market
stays served; the dashboard's URL is printed, its rounds list the demo's round, each
violation's failed clauses come from the demo's oracle nodes (their ids hashing to the
chain's `clausesHash`), and Ctrl-C stops the service."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from chain.verdict import clauses_hash
from tests.rcm.test_json_convention import check_document
from tests.support import free_port, running_testnet

pytestmark = pytest.mark.hardhat
DEMO_SECONDS = 300


def _url_in(path: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + DEMO_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        for line in path.read_text().splitlines():
            if line.startswith("dashboard: "):
                return line.split()[1]
        time.sleep(0.5)
    raise AssertionError(f"no dashboard URL; the demo said:\n{path.read_text()[-3000:]}")


def _get_json(url: str) -> Any:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.loads(answer.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_demo_serve_prints_the_dashboard_url_and_serves_the_demos_round(tmp_path: Path) -> None:
    port = free_port()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with running_testnet(tmp_path / "home") as cli, out.open("wb") as stdout, \
            err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "rcm", "demo", "--serve", "--json", "--rpc", cli.rpc,
             "--port", str(port)], env=cli.env, stdout=stdout, stderr=stderr,
            stdin=subprocess.DEVNULL)
        try:
            url = _url_in(err, process)
            rounds = _get_json(url.replace("/rounds", "/rounds.json"))["rounds"]
            violations = _proven_violations(url.replace("/rounds", "/verdicts.json"))
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0, err.read_text()[-3000:]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert url == f"http://127.0.0.1:{port}/rounds"
    summary = json.loads(out.read_text())
    check_document(summary)
    (demo_round,) = rounds
    clearing = summary["clearing"]
    assert demo_round["winners"] == len(clearing["winners"])
    assert demo_round["welfare_micro_usd"] == clearing["welfare_micro_usd"]
    assert demo_round["bids_committed"] == len(clearing["winners"]) + len(clearing["losing"])
    assert violations
    for verdict in violations:
        ids = [clause["id"] for clause in verdict["failed_clauses"]]
        assert "0x" + clauses_hash(ids).hex() == verdict["clauses_hash"]
        assert verdict["clauses_from"].startswith("http://127.0.0.1:")


def _proven_violations(url: str) -> list[dict[str, Any]]:
    """The violations of `/verdicts.json`, once the service has learned every one's clauses."""
    deadline = time.monotonic() + 20
    while True:
        violations = [v for v in _get_json(url)["verdicts"] if v["outcome"] == "violation"]
        if all(v["failed_clauses"] is not None for v in violations) or \
                time.monotonic() > deadline:
            return violations
        time.sleep(0.2)


def test_demo_serve_refuses_the_embedded_chain(tmp_path: Path) -> None:
    from tests.support import Cli

    Cli(tmp_path, "embedded").rejects("demo", "--serve", match="--rpc", rpc=False)
