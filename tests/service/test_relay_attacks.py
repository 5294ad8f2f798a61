"""What one participant with no role and no bond can do to the relay and its index beyond
`test_attacks.py`, each answered: a bid that can never fill shown as the best bid (for the
maker's own future, or criteria no one else's future meets), fresh keys that make the relay
follow accounts without end, an order that never expires refused with a crash, a reorg that
wipes every maker's orders, leaves a stale book, or lands between reading a span's logs and
its blocks, and a span whose logs the node will not answer in one query."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from chain.errors import ChainError
from chain.exchange import CriteriaOrder, Side
from service import indexer as indexer_module
from service.background import Service, opened
from tests.service.conftest import CAROL_USD, HOUR, PRICE, Scene, post
from tests.support import reverts
from tokens.trade import OrderFile


def _book(client: TestClient, scene: Scene, item: int = 0) -> Any:
    return client.get("/book", params={"item": item, "round": scene.round_id}).json()


def _refused(client: TestClient, file: OrderFile, status: int, field: str) -> str:
    answer = post(client, file)
    assert (answer.status_code, answer.json()["field"]) == (status, field), answer.text
    return str(answer.json()["detail"])


def _held(scene: Scene, account: str, future: int) -> int:
    futures = scene.market.system.futures
    return int(futures.functions.balanceOf(account, future).call())


# ---- a bid nobody can fill, shown as the best bid ----


def test_a_bid_for_the_makers_own_future_is_refused_since_no_one_else_can_sell_it(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    """Alice holds her first future and won her second unclaimed: only she can deliver
    either, and the exchange refuses a maker's fill of its own order. Listed, her bid at any
    price she can cover would be the item's best bid and never fill."""
    _, client = service
    claimed, unclaimed = scene.futures[0], scene.futures[1]
    for future, item in ((claimed, 0), (unclaimed, 1)):
        own = scene.order(scene.alice, Side.BUY, future, price=100 * PRICE)
        assert "holds the future" in _refused(client, scene.signed(own, scene.alice), 422,
                                              "maker")
        assert _book(client, scene, item)["best_bid_micro_usd"] is None
    # What the relay would have listed: the one account that could sell is the maker.
    own = scene.order(scene.alice, Side.BUY, claimed, price=100 * PRICE)
    usd_before = scene.market.usd(scene.alice.address)
    with reverts("MakerIsTaker", scene.alice.address):
        scene.exchange.fill(own, scene.exchange.sign(own, scene.alice), scene.alice)
    assert scene.market.usd(scene.alice.address) == usd_before
    assert _held(scene, scene.alice.address, claimed) == 1


def test_a_bid_leaves_the_book_when_its_maker_comes_to_hold_the_future(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    bid = scene.order(scene.carol, Side.BUY, scene.futures[0])
    assert post(client, scene.signed(bid, scene.carol)).status_code == 201
    assert _book(client, scene)["best_bid_micro_usd"] == PRICE
    give = scene.market.system.futures.functions.safeTransferFrom(
        scene.alice.address, scene.carol.address, scene.futures[0], 1, b"")
    scene.market.chain.send(give, scene.alice)
    indexed.indexer.sync()
    assert _book(client, scene)["bids"] == []
    held = client.get(f"/orders/{scene.hash(bid)}").json()
    assert (held["state"], held["reason"].split(":")[0]) == ("unfillable", "maker")


def test_a_criteria_bid_no_future_held_by_another_can_meet_is_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    """Item 0's capacity is 10 units, but its one future, Alice's, delivers 1: a bid for 2
    units, or Alice's own bid for 1, could only ever be a best bid that never fills (the
    round's futures are all issued)."""
    indexed, client = service
    expiry = scene.market.now() + HOUR
    more = CriteriaOrder(scene.carol.address, scene.round_id, 0, 2, 2 * PRICE, expiry, 1)
    _refused(client, scene.signed(more, scene.carol), 422, "item")
    own = CriteriaOrder(scene.alice.address, scene.round_id, 0, 1, 2 * PRICE, expiry, 2)
    _refused(client, scene.signed(own, scene.alice), 422, "item")
    assert _book(client, scene)["bids"] == []
    wants = CriteriaOrder(scene.carol.address, scene.round_id, 0, 1, PRICE, expiry, 3)
    assert post(client, scene.signed(wants, scene.carol)).status_code == 201
    assert _book(client, scene)["best_bid_micro_usd"] == PRICE
    give = scene.market.system.futures.functions.safeTransferFrom(
        scene.alice.address, scene.carol.address, scene.futures[0], 1, b"")
    scene.market.chain.send(give, scene.alice)
    indexed.indexer.sync()
    assert _book(client, scene)["bids"] == []


# ---- accounts followed without end ----


def _followed(service: Service) -> set[str]:
    return {row[0] for row in service.indexer.db.execute("SELECT account FROM funds")}


def test_buy_orders_from_fresh_keys_make_the_relay_follow_no_one(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    """A key costs nothing: were every signer of a buy order followed, each would cost the
    indexer two calls at every block that touches it, from a row kept forever."""
    indexed, client = service
    before = _followed(indexed)
    for n in range(5):
        penniless = Account.create()
        bid = scene.order(penniless, Side.BUY, scene.futures[2], salt=n)
        _refused(client, scene.signed(bid, penniless), 422, "maker")
    stranger = Account.create()
    criteria = CriteriaOrder(stranger.address, scene.round_id, 0, 1, PRICE,
                             scene.market.now() + HOUR, 1)
    _refused(client, scene.signed(criteria, stranger), 422, "maker")
    assert _followed(indexed) == before
    # Carol can pay: she is followed from her first bid on.
    bid = scene.order(scene.carol, Side.BUY, scene.futures[2])
    assert post(client, scene.signed(bid, scene.carol)).status_code == 201
    assert _followed(indexed) == before | {scene.carol.address}


def test_a_bid_beyond_the_makers_usd_does_not_follow_it_and_a_later_one_in_reach_does(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    dear = scene.order(scene.carol, Side.BUY, scene.futures[2], price=CAROL_USD + 1)
    _refused(client, scene.signed(dear, scene.carol), 422, "maker")
    assert scene.carol.address not in _followed(indexed)
    cheap = scene.order(scene.carol, Side.BUY, scene.futures[2], salt=2)
    assert post(client, scene.signed(cheap, scene.carol)).status_code == 201
    # Followed from here: spending the USD takes the bid off the book.
    usd = scene.market.system.usd
    scene.market.chain.send(usd.functions.transfer(scene.bob.address, CAROL_USD), scene.carol)
    indexed.indexer.sync()
    assert _book(client, scene, 2)["bids"] == []


# ---- an order that never expires ----


def test_an_order_that_never_expires_is_kept_and_listed(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    """`expiryTimestamp` is a uint64: its largest value, the usual "no expiry", passes
    SQLite's INTEGER and used to fail the post with a 500."""
    _, client = service
    forever = scene.order(scene.alice, Side.SELL, scene.futures[0], expiry=2**64 - 1)
    answer = post(client, scene.signed(forever, scene.alice))
    assert answer.status_code == 201, answer.text
    assert [e["order"] for e in _book(client, scene)["top_asks"]] == [scene.hash(forever)]
    assert client.get(f"/orders/{scene.hash(forever)}").json()["file"]["expires_at"] == (
        2**64 - 1)


# ---- a reorg ----


def test_a_reorg_keeps_the_makers_orders_and_judges_them_again(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    """Signatures bind the chain id and the exchange, which a reorg keeps: dropping the
    orders (and which makers' USD is followed) with the index would hide every order that can
    still fill after any reorg, however short."""
    indexed, client = service
    chain = scene.market.chain
    taken = chain.snapshot()
    kept = scene.order(scene.alice, Side.SELL, scene.futures[0])
    assert post(client, scene.signed(kept, scene.alice)).status_code == 201
    bid = scene.order(scene.carol, Side.BUY, scene.futures[2])
    assert post(client, scene.signed(bid, scene.carol)).status_code == 201
    usd = scene.market.system.usd
    chain.send(usd.functions.transfer(scene.bob.address, 1), scene.alice)
    indexed.indexer.sync()
    chain.revert_to(taken)
    # Another block at the same height.
    chain.send(usd.functions.transfer(scene.alice.address, 1), scene.bob)
    assert indexed.indexer.sync().started_over
    assert [e["order"] for e in _book(client, scene)["top_asks"]] == [scene.hash(kept)]
    assert [e["order"] for e in _book(client, scene, 2)["top_bids"]] == [scene.hash(bid)]
    for order in (kept, bid):
        assert client.get(f"/orders/{scene.hash(order)}").json()["state"] == "open"


def test_a_book_judged_before_a_reorg_is_judged_again_at_the_same_height(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    """The block that replaced the one a book was judged at has its number: the kept book
    listed Carol's bid after the branch that counts had her spend the USD."""
    indexed, client = service
    chain, usd = scene.market.chain, scene.market.system.usd
    taken = chain.snapshot()
    chain.send(usd.functions.transfer(scene.bob.address, 1), scene.alice)
    indexed.indexer.sync()
    bid = scene.order(scene.carol, Side.BUY, scene.futures[2])
    assert post(client, scene.signed(bid, scene.carol)).status_code == 201
    assert [e["order"] for e in _book(client, scene, 2)["top_bids"]] == [scene.hash(bid)]
    chain.revert_to(taken)
    chain.send(usd.functions.transfer(scene.bob.address, CAROL_USD), scene.carol)
    assert indexed.indexer.sync().started_over
    assert _book(client, scene, 2)["bids"] == []


def test_a_reorg_between_reading_the_logs_and_the_blocks_stores_neither(
        scene: Scene, service: tuple[Service, TestClient], monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """Carol's fill is mined, read from the logs, and dropped by a reorg before the block's
    header is read: stored with the new block's hash, the fill would pass every later reorg
    check, and the order would show filled for good while it is open."""
    indexed, client = service
    chain, usd = scene.market.chain, scene.market.system.usd
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    assert post(client, scene.signed(order, scene.alice)).status_code == 201
    taken = chain.snapshot()
    scene.exchange.fill(order, scene.exchange.sign(order, scene.alice), scene.carol)
    real = indexer_module.emitted_between

    def reorged_after(system: Any, contracts: Any, first: int, last: int) -> Any:
        found = real(system, contracts, first, last)
        monkeypatch.setattr(indexer_module, "emitted_between", real)
        chain.revert_to(taken)
        chain.send(usd.functions.transfer(scene.alice.address, 1), scene.bob)
        return found

    monkeypatch.setattr(indexer_module, "emitted_between", reorged_after)
    with pytest.raises(ChainError):
        indexed.indexer.sync()
    indexed.indexer.sync()
    assert client.get(f"/orders/{scene.hash(order)}").json()["state"] == "open"
    assert client.get("/trades").json() == []


# ---- logs the node will not answer in one query ----


def test_a_span_whose_logs_the_node_refuses_is_halved_until_it_answers(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snapshot: None) -> None:
    """Public nodes cap `eth_getLogs` (10,000 logs, or a few MB): anyone can fill a span with
    zero-value transfers of the payment token. The index must still get past it."""
    real = indexer_module.emitted_between
    widest = 3

    def capped(system: Any, contracts: Any, first: int, last: int) -> Any:
        if last - first + 1 > widest:
            raise ChainError("query returned more than 10000 results", field="rpc")
        return real(system, contracts, first, last)

    path = tmp_path / "market.sqlite"
    monkeypatch.setattr(indexer_module, "emitted_between", capped)
    with opened(scene.market.system, path) as service:
        progress = service.indexer.sync()
    assert progress.last_block == scene.market.chain.block_number()
    with sqlite3.connect(path) as db:
        futures = {int.from_bytes(f, "big") for (f,) in db.execute(
            "SELECT future_id FROM futures")}
    assert futures == set(scene.futures)
