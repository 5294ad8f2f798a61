"""The market health view's spread, from the relay's book: on the relay's scene (Alice
holds a claimed future, Carol has USD), Alice asks more than Carol bids for it, and the view
shows the difference for the future's item."""

from __future__ import annotations

from fastapi.testclient import TestClient

from chain.exchange import Side
from service.background import Service
from tests.service.conftest import PRICE, Scene, post

ASK_PRICE = PRICE + 2_000_000


def _quoted(scene: Scene, service: tuple[Service, TestClient]) -> TestClient:
    """Alice asks ASK_PRICE for her future; Carol bids PRICE and 1 USD less."""
    _, client = service
    future = scene.futures[0]
    for maker, side, price in ((scene.alice, Side.SELL, ASK_PRICE),
                               (scene.carol, Side.BUY, PRICE),
                               (scene.carol, Side.BUY, PRICE - 1_000_000)):
        order = scene.order(maker, side, future, price, salt=price)
        assert post(client, scene.signed(order, maker)).status_code == 201
    return client


def test_the_spread_is_the_best_live_ask_less_the_best_live_bid(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    client = _quoted(scene, service)
    label = client.get(f"/rounds/{scene.round_id}.json").json()["items"][0]["label"]
    items = client.get("/market.json").json()["items"]
    assert [(i["label"], i["best_bid_micro_usd"], i["best_ask_micro_usd"], i["spread_micro_usd"])
            for i in items if i["spread_micro_usd"] is not None] == [
        (label, PRICE, ASK_PRICE, ASK_PRICE - PRICE)]


def test_the_prices_page_shows_each_books_depth_best_first(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    client = _quoted(scene, service)
    (book,) = client.get("/prices.json").json()["books"]
    assert (book["round"], book["item"]) == (scene.round_id, 0)
    assert [level["price_micro_usd"] for level in book["bids"]] == [PRICE, PRICE - 1_000_000]
    assert [level["price_micro_usd"] for level in book["asks"]] == [ASK_PRICE]
    html = client.get("/prices").text
    assert f"round {scene.round_id} item 0" in html and 'class="n ask"' in html
