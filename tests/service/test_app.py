"""The relay's other endpoints: health, Prometheus metrics, the OpenAPI document, and the
lookup of an order by a prefix of its hash."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

from chain.exchange import Order, Side
from service.background import Service
from tests.service.conftest import Scene, post


def test_health_names_the_deployment_and_how_far_the_index_reaches(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    health = client.get("/health").json()
    assert health == {"status": "ok", "chain_id": scene.market.chain.chain_id,
                      "exchange": scene.exchange.contract.address,
                      "block": scene.market.chain.block_number(),
                      "timestamp": scene.market.chain.latest_timestamp(), "order_count": 0}


def test_metrics_count_accepted_and_refused_orders_by_field(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    post(client, scene.signed(order, scene.alice))
    post(client, scene.signed(order, scene.bob))
    client.get("/book", params={"item": 0, "round": scene.round_id})
    text = client.get("/metrics").text
    assert "rcm_relay_orders_accepted_total 1.0" in text
    assert 'rcm_relay_orders_refused_total{field="signature"} 1.0' in text
    assert "rcm_relay_book_seconds_count 1.0" in text


def test_the_openapi_document_lists_every_endpoint(
        service: tuple[Service, TestClient]) -> None:
    _, client = service
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {"/orders", "/orders/{order}", "/book", "/trades", "/health",
                          "/metrics", "/rounds", "/rounds.json", "/rounds/{round_id}",
                          "/rounds/{round_id}.json", "/prices", "/prices.json",
                          "/prices.vl.json", "/prices/history", "/prices/index", "/futures",
                          "/futures.json", "/verdicts", "/verdicts.json", "/safety",
                          "/safety.json", "/safety.vl.json", "/budgets", "/budgets.json",
                          "/budgets.vl.json", "/market", "/market.json"}
    assert set(paths["/orders"]["post"]["responses"]) >= {"201", "400", "409", "413", "422",
                                                          "429"}


def test_an_order_is_found_by_a_unique_prefix_only(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    assert client.get("/orders/0xabcd").status_code == 404
    hashes = []
    for salt in range(40):
        order = scene.order(scene.alice, Side.SELL, scene.futures[0], salt=salt)
        post(client, scene.signed(order, scene.alice))
        hashes.append(scene.hash(order))
    first = hashes[0]
    assert client.get(f"/orders/{first[2:12]}").json()["order"] == first
    # A one-digit prefix is below the four the path takes (it would name ~1/16 of them).
    assert client.get(f"/orders/{first[:3]}").status_code == 422


def test_a_prefix_that_names_two_orders_is_refused_with_the_field(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    """Two orders whose hashes share their first four hex digits, found by trying salts
    (a few hundred, by the birthday bound on 16^4)."""
    _, client = service
    seen: dict[str, Order] = {}
    for salt in itertools.count(100):
        order = scene.order(scene.alice, Side.SELL, scene.futures[0], salt=salt)
        prefix = scene.hash(order)[:6]
        if prefix in seen:
            break
        seen[prefix] = order
    for twin in (seen[prefix], order):
        assert post(client, scene.signed(twin, scene.alice)).status_code == 201
    answer = client.get(f"/orders/{prefix}")
    assert (answer.status_code, answer.json()["field"]) == (422, "order")
    assert "names several orders" in answer.json()["detail"]
