"""RelayClient: the relay's answers as typed results; a refusal or a relay that cannot be
reached as one ServiceError naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from chain.exchange import Side
from oracle.node.spawn import free_port
from service.background import Service
from service.client import RelayClient
from service.errors import RelayUnreachable, ServiceError
from tests.service.conftest import PRICE, Scene


def test_the_client_posts_an_order_and_reads_it_back_with_its_book(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, http = service
    client = RelayClient("http://testserver", http)
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    posted = client.post_order(scene.signed(order, scene.alice))
    assert posted.order == scene.hash(order)
    assert client.order(posted.order[:8]).state == "open"
    assert client.book(0, scene.round_id).best_ask_micro_usd == PRICE
    assert client.trades(0, scene.round_id) == []


def test_a_refusal_is_a_service_error_naming_the_field(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, http = service
    client = RelayClient("http://testserver", http)
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    with pytest.raises(ServiceError) as refused:
        client.post_order(scene.signed(order, scene.bob))
    assert (refused.value.field, refused.value.status_code) == ("signature", 422)
    assert str(refused.value).startswith("signature: was made by ")
    with pytest.raises(ServiceError, match=r"^order: no order 0xabcdef"):
        client.order("0xabcdef")


def test_a_relay_that_cannot_be_reached_is_one_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RelayUnreachable, match=f"^relay: no relay answers at {url}"):
        RelayClient(url).book(0, 1)
