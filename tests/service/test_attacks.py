"""What a participant with no role can do to the relay, each answered: flooding it with
orders or with large bodies, posting orders for other people's futures or money, and posting
orders that could never fill. The relay keeps none of them; the exchange would refuse every
fill of them anyway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chain.exchange import CriteriaOrder, Side
from service.app import MAX_BODY_BYTES
from service.background import Service
from service.relay import Limits
from tests.service.conftest import HOUR, PRICE, Scene, open_service, post

CAP = 3


@pytest.fixture
def capped(snapshot: None, scene: Scene, tmp_path: Path) -> Iterator[tuple[Service, TestClient]]:
    yield from open_service(scene, tmp_path / "market.sqlite", Limits(open_per_maker=CAP))


def test_a_maker_flooding_the_relay_is_capped_and_its_filled_orders_free_room(
        scene: Scene, capped: tuple[Service, TestClient]) -> None:
    indexed, client = capped
    orders = [scene.order(scene.alice, Side.SELL, scene.futures[0], price=PRICE + n, salt=n)
              for n in range(CAP + 1)]
    for order in orders[:CAP]:
        assert post(client, scene.signed(order, scene.alice)).status_code == 201
    flood = post(client, scene.signed(orders[CAP], scene.alice))
    assert (flood.status_code, flood.json()["field"]) == (429, "maker")
    # Another maker is not held back by Alice's flood.
    bobs = scene.order(scene.bob, Side.SELL, scene.futures[2])
    assert post(client, scene.signed(bobs, scene.bob)).status_code == 201
    scene.market.chain.send(scene.exchange.contract.functions.cancel([orders[0].as_args()]),
                            scene.alice)
    indexed.indexer.sync()
    assert post(client, scene.signed(orders[CAP], scene.alice)).status_code == 201


def test_a_large_body_is_refused_before_it_is_read(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    big = b"{" + b" " * MAX_BODY_BYTES + b"}"
    answer = client.post("/orders", content=big, headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()["field"]) == (413, "body")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b"{"
        yield b" " * MAX_BODY_BYTES
        yield b"}"

    streamed = client.post("/orders", content=chunks(),
                           headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_an_order_signed_for_someone_elses_future_or_money_is_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    # Bob signs a sell of Alice's future: he holds nothing to deliver.
    theirs = scene.order(scene.bob, Side.SELL, scene.futures[0])
    assert post(client, scene.signed(theirs, scene.bob)).json()["field"] == "maker"
    # Bob makes Carol the maker of an order he signs: the signature is not hers.
    as_carol = scene.order(scene.carol, Side.BUY, scene.futures[0])
    assert post(client, scene.signed(as_carol, scene.bob)).json()["field"] == "signature"


def test_orders_that_could_never_fill_are_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    expiry = scene.market.now() + HOUR
    never = [
        # More units than the item has: no future of the round delivers them.
        (scene.signed(CriteriaOrder(scene.carol.address, scene.round_id, 0, 11, PRICE, expiry,
                                    1), scene.carol), "item"),
        # A price no USD supply pays.
        (scene.signed(scene.order(scene.alice, Side.SELL, scene.futures[0], price=2**70),
                      scene.alice), "price_micro_usd"),
        # A counter the maker will not reach.
        (scene.signed(scene.order(scene.alice, Side.SELL, scene.futures[0], counter=2**80),
                      scene.alice), "counter"),
        # A future that does not exist.
        (scene.signed(scene.order(scene.carol, Side.BUY, 2**255), scene.carol), "future"),
    ]
    for file, field in never:
        answer = post(client, file)
        assert (answer.status_code, answer.json()["field"]) == (422, field), answer.text
    assert client.get("/health").json()["order_count"] == 0


def test_a_future_whose_delivery_is_over_is_refused_and_leaves_the_book(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    order = scene.order(scene.alice, Side.SELL, scene.futures[0], expiry=2**40)
    assert post(client, scene.signed(order, scene.alice)).status_code == 201
    delivery_end = 2_000_000_000 + 3_600  # item 0's slot ends (tests/contracts' ASKS)
    scene.market.chain.advance_time(delivery_end + 1 - scene.market.now())
    # The head block's timestamp is the delivery's end: a fill can only land after it.
    assert scene.market.chain.latest_timestamp() == delivery_end
    indexed.indexer.sync()
    assert client.get("/book", params={"item": 0, "round": scene.round_id}).json()["asks"] == []
    later = scene.order(scene.alice, Side.SELL, scene.futures[0], expiry=2**40, salt=9)
    assert post(client, scene.signed(later, scene.alice)).json()["field"] == "future"
