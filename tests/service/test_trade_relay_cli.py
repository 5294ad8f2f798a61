"""`rcm trade book|trades` against a relay served on loopback: tables for people, --json in
the convention of every document, and a relay that cannot be reached as one line, exit 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import rcm
from chain.exchange import Side
from oracle.node.spawn import free_port
from rcm import cli
from service.background import Service, serving
from tests.rcm.test_json_convention import check_document
from tests.service.conftest import PRICE, Scene, post


def _rcm(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
         ) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["rcm", *argv])
    with pytest.raises(SystemExit) as exited:
        cli.main()
        sys.exit(0)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def relay_url(scene: Scene, service: tuple[Service, TestClient]) -> Iterator[str]:
    """Carol bought Alice's future through the relay and lists it at 10 and 15 USD."""
    indexed, client = service
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    assert post(client, scene.signed(order, scene.alice)).status_code == 201
    scene.exchange.fill(order, scene.exchange.sign(order, scene.alice), scene.carol)
    indexed.indexer.sync()
    for salt in (2, 3):
        again = scene.order(scene.carol, Side.SELL, scene.futures[0], price=PRICE * salt,
                            salt=salt)
        assert post(client, scene.signed(again, scene.carol)).status_code == 201
    with serving(indexed.relay) as url:
        yield url


def test_book_and_trades_print_tables_and_json(
        scene: Scene, relay_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    where = ["--item", "0", "--round", str(scene.round_id), "--relay", relay_url]
    code, out, _ = _rcm(["trade", "book", *where], capsys, monkeypatch)
    assert code == 0
    assert f"round {scene.round_id} item 0: best bid none, best ask 10.00 (USD)" in out
    assert "15.00" in out and max(map(len, out.splitlines())) <= 80
    code, out, _ = _rcm(["trade", "book", *where, "--json"], capsys, monkeypatch)
    document = json.loads(out)
    check_document(document)
    assert [level["price_micro_usd"] for level in document["asks"]] == [2 * PRICE, 3 * PRICE]
    code, out, _ = _rcm(["trade", "trades", *where], capsys, monkeypatch)
    assert (code, out.splitlines()[0]) == (0, "1 trade")
    code, out, _ = _rcm(["trade", "trades", *where, "--json"], capsys, monkeypatch)
    (traded,) = json.loads(out)
    check_document(traded)
    assert (traded["seller"], traded["buyer"]) == (scene.alice.address, scene.carol.address)


def test_a_relay_that_cannot_be_reached_is_one_line_and_exit_2(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setenv("RCM_HOME", str(tmp_path))
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = _rcm(["trade", "book", "--item", "0", "--round", "1", "--relay", url],
                          capsys, monkeypatch)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: --relay: no relay answers at {url}")
    assert err.rstrip().endswith("(start one with `rcm market serve`)")
    assert len(err.strip().splitlines()) == 1


def test_the_sdk_reads_the_same_relay(scene: Scene, relay_url: str) -> None:
    relay = rcm.Market.relay(relay_url)
    assert relay.health().block > 0
    assert relay.book(0, scene.round_id).best_ask_micro_usd == 2 * PRICE
    (traded,) = relay.trades()
    assert traded.buyer == scene.carol.address
