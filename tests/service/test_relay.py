"""POST /orders against a real deployment: a good order is kept and listed; each check the
exchange would make refuses a bad one with the field at fault; an order leaves the book by
itself once the chain says it cannot fill."""

from __future__ import annotations

from eth_account import Account
from fastapi.testclient import TestClient

from chain.bid import Bundle
from chain.exchange import CriteriaOrder, Order, Side
from chain.settlement import Phase
from service.background import Service
from tests.contracts.settlement_fixtures import USD
from tests.service.conftest import CAROL_USD, HOUR, PRICE, Scene, post
from tokens.trade import OrderFile

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_a_signed_sell_order_is_kept_and_listed_under_its_item(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    answer = post(client, scene.signed(order, scene.alice))
    assert answer.status_code == 201, answer.text
    assert answer.json()["order"] == scene.hash(order)
    held = client.get(f"/orders/{scene.hash(order)[:10]}").json()
    assert (held["state"], held["reason"]) == ("open", None)
    book = client.get("/book", params={"item": 0, "round": scene.round_id}).json()
    assert book["best_ask_micro_usd"] == PRICE
    assert [e["order"] for e in book["top_asks"]] == [scene.hash(order)]
    assert client.get("/book", params={"item": 1, "round": scene.round_id}).json()["asks"] == []


# ---- each refusal names its field ----


def _refused(client: TestClient, file: OrderFile, status: int, field: str) -> str:
    answer = post(client, file)
    assert (answer.status_code, answer.json()["field"]) == (status, field), answer.text
    return str(answer.json()["detail"])


def test_a_signature_by_another_key_or_for_another_domain_is_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    assert "not the maker" in _refused(client, scene.signed(order, scene.bob), 422, "signature")
    other_chain = scene.signed(order, scene.alice, chain_id=1)
    assert "another exchange's or chain's domain" in _refused(client, other_chain, 422,
                                                              "signature")


def test_a_malleable_high_s_twin_of_a_good_signature_is_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    good = scene.signed(order, scene.alice).signature_bytes()
    s = int.from_bytes(good[32:64], "big")
    twin = good[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([good[64] ^ 1])
    file = scene.signed(order, scene.alice).model_copy(update={"signature": "0x" + twin.hex()})
    _refused(client, file, 422, "signature")


def test_a_body_that_is_no_order_file_is_refused_with_the_field(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    good = scene.signed(scene.order(scene.alice, Side.SELL, scene.futures[0]), scene.alice)
    body = good.model_dump(exclude_none=True)
    for broken, field in ((body | {"price_micro_usd": 0}, "price_micro_usd"),
                          ({k: v for k, v in body.items() if k != "salt"}, "salt"),
                          (body | {"tip": 1}, "tip"),
                          (body | {"maker": "0x12"}, "maker")):
        answer = client.post("/orders", json=broken)
        assert (answer.status_code, answer.json()["field"]) == (400, field), answer.text
    answer = client.post("/orders", content=b"{not json",
                         headers={"content-type": "application/json"})
    assert answer.status_code == 400


def test_the_same_order_twice_is_a_conflict(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    file = scene.signed(scene.order(scene.alice, Side.SELL, scene.futures[0]), scene.alice)
    assert post(client, file).status_code == 201
    _refused(client, file, 409, "order")


def test_an_expired_order_or_one_of_a_stale_counter_is_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    past = scene.order(scene.alice, Side.SELL, scene.futures[0], expiry=1)
    _refused(client, scene.signed(past, scene.alice), 422, "expires_at")
    chain = scene.market.chain
    chain.send(scene.exchange.contract.functions.incrementCounter(), scene.alice)
    indexed.indexer.sync()
    stale = scene.order(scene.alice, Side.SELL, scene.futures[0])
    assert "cancelled all its orders" in _refused(client, scene.signed(stale, scene.alice),
                                                  422, "counter")
    current = scene.order(scene.alice, Side.SELL, scene.futures[0], counter=1)
    assert post(client, scene.signed(current, scene.alice)).status_code == 201


def test_a_sell_order_for_someone_elses_future_is_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    claimed, unclaimed = scene.futures[0], scene.futures[1]
    for future in (claimed, unclaimed):
        theirs = scene.order(scene.bob, Side.SELL, future)
        _refused(client, scene.signed(theirs, scene.bob), 422, "maker")
    unknown = scene.order(scene.bob, Side.SELL, 12345)
    _refused(client, scene.signed(unknown, scene.bob), 422, "future")


def test_a_sell_order_without_the_exchanges_approval_is_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    system = scene.market.system
    scene.market.chain.send(
        system.futures.functions.setApprovalForAll(system.exchange.address, False), scene.alice)
    indexed.indexer.sync()
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    assert "approved" in _refused(client, scene.signed(order, scene.alice), 422, "maker")


def test_a_buy_order_without_the_usd_or_the_allowance_is_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    penniless = Account.create()
    bid = scene.order(penniless, Side.BUY, scene.futures[0])
    _refused(client, scene.signed(bid, penniless), 422, "maker")
    rich = scene.order(scene.carol, Side.BUY, scene.futures[0], price=CAROL_USD + 1)
    _refused(client, scene.signed(rich, scene.carol), 422, "maker")
    usd = scene.market.system.usd
    scene.market.chain.send(usd.functions.approve(scene.exchange.contract.address, PRICE - 1),
                            scene.carol)
    indexed.indexer.sync()
    affordable = scene.order(scene.carol, Side.BUY, scene.futures[0])
    _refused(client, scene.signed(affordable, scene.carol), 422, "maker")
    scene.market.chain.send(usd.functions.approve(scene.exchange.contract.address, PRICE),
                            scene.carol)
    indexed.indexer.sync()
    assert post(client, scene.signed(affordable, scene.carol)).status_code == 201


# ---- criteria bids ----


def test_a_criteria_bid_is_listed_under_its_item_and_crosses_its_asks(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    ask = scene.order(scene.alice, Side.SELL, scene.futures[0])
    bid = CriteriaOrder(scene.carol.address, scene.round_id, 0, 1, PRICE + 1,
                        scene.market.now() + HOUR, 7)
    for file in (scene.signed(ask, scene.alice), scene.signed(bid, scene.carol)):
        assert post(client, file).status_code == 201
    book = client.get("/book", params={"item": 0, "round": scene.round_id}).json()
    assert (book["best_bid_micro_usd"], book["best_ask_micro_usd"]) == (PRICE + 1, PRICE)
    assert book["top_bids"][0] | {"order": None} == {
        "order": None, "maker": scene.carol.address, "price_micro_usd": PRICE + 1,
        "quantity_units": 1, "future": None}


def test_a_criteria_bid_no_item_of_the_round_can_fill_is_refused(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    expiry = scene.market.now() + HOUR
    for round_id, item, quantity in ((scene.round_id, 9, 1), (scene.round_id + 7, 0, 1),
                                     (scene.round_id, 0, 11)):  # each item's capacity is 10
        bid = CriteriaOrder(scene.carol.address, round_id, item, quantity, PRICE, expiry, 1)
        _refused(client, scene.signed(bid, scene.carol), 422, "item")


def test_the_book_of_an_item_no_round_offered_is_not_found(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    _, client = service
    for round_id, item in ((scene.round_id, 9), (scene.round_id + 7, 0)):
        answer = client.get("/book", params={"item": item, "round": round_id})
        assert (answer.status_code, answer.json()["field"]) == (404, "item")


# ---- orders leave the book by themselves ----


def _asks(client: TestClient, scene: Scene, item: int = 0) -> list[str]:
    book = client.get("/book", params={"item": item, "round": scene.round_id}).json()
    return [entry["order"] for entry in book["top_asks"]]


def _listed(scene: Scene, client: TestClient) -> tuple[Order, bytes]:
    order = scene.order(scene.alice, Side.SELL, scene.futures[0])
    file = scene.signed(order, scene.alice)
    assert post(client, file).status_code == 201
    assert _asks(client, scene) == [scene.hash(order)]
    return order, file.signature_bytes()


def test_a_filled_order_leaves_the_book_and_its_trade_is_listed(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    order, signature = _listed(scene, client)
    receipt = scene.exchange.fill(order, signature, scene.carol)
    indexed.indexer.sync()
    assert _asks(client, scene) == []
    assert client.get(f"/orders/{scene.hash(order)}").json()["state"] == "filled"
    (trade,) = client.get("/trades", params={"item": 0, "round": scene.round_id}).json()
    assert trade == {"order": scene.hash(order), "future": f"0x{scene.futures[0]:064x}",
                     "seller": scene.alice.address, "buyer": scene.carol.address,
                     "price_micro_usd": PRICE, "fee_micro_usd": 0,
                     "block": receipt.block_number, "tx": receipt.tx,
                     "timestamp": trade["timestamp"]}
    assert client.get("/trades", params={"item": 1}).json() == []


def test_a_cancelled_order_leaves_the_book(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    order, _ = _listed(scene, client)
    scene.market.chain.send(scene.exchange.contract.functions.cancel([order.as_args()]),
                            scene.alice)
    indexed.indexer.sync()
    assert _asks(client, scene) == []
    assert client.get(f"/orders/{scene.hash(order)}").json()["state"] == "cancelled"


def test_an_incremented_counter_takes_the_makers_orders_off_the_book(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    order, _ = _listed(scene, client)
    scene.market.chain.send(scene.exchange.contract.functions.incrementCounter(), scene.alice)
    indexed.indexer.sync()
    assert _asks(client, scene) == []
    held = client.get(f"/orders/{scene.hash(order)}").json()
    assert (held["state"], held["reason"].split(":")[0]) == ("unfillable", "counter")


def test_an_order_leaves_the_book_when_its_maker_gives_the_future_away(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    _listed(scene, client)
    call = scene.market.system.futures.functions.safeTransferFrom(
        scene.alice.address, scene.bob.address, scene.futures[0], 1, b"")
    scene.market.chain.send(call, scene.alice)
    indexed.indexer.sync()
    assert _asks(client, scene) == []
    # The new holder may list it.
    theirs = scene.order(scene.bob, Side.SELL, scene.futures[0], salt=2)
    assert post(client, scene.signed(theirs, scene.bob)).status_code == 201


def test_an_order_leaves_the_book_when_it_expires(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    order = scene.order(scene.alice, Side.SELL, scene.futures[0],
                        expiry=scene.market.now() + 60)
    assert post(client, scene.signed(order, scene.alice)).status_code == 201
    scene.market.chain.advance_time(120)
    indexed.indexer.sync()
    assert _asks(client, scene) == []
    assert client.get(f"/orders/{scene.hash(order)}").json()["state"] == "unfillable"


def test_a_bid_leaves_the_book_when_its_maker_spends_the_usd(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    bid = scene.order(scene.carol, Side.BUY, scene.futures[0])
    assert post(client, scene.signed(bid, scene.carol)).status_code == 201
    usd = scene.market.system.usd
    scene.market.chain.send(usd.functions.transfer(scene.bob.address, CAROL_USD - PRICE + 1),
                            scene.carol)
    indexed.indexer.sync()
    book = client.get("/book", params={"item": 0, "round": scene.round_id}).json()
    assert book["bids"] == []


def test_a_book_already_answered_shows_orders_posted_since_and_drops_them_on_expiry(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    assert _asks(client, scene) == []
    expiry = scene.market.now() + 60
    order = scene.order(scene.alice, Side.SELL, scene.futures[0], expiry=expiry)
    assert post(client, scene.signed(order, scene.alice)).status_code == 201
    assert _asks(client, scene) == [scene.hash(order)]
    # No block: the clock alone passes the expiry.
    indexed.relay.clock = lambda: expiry + 1
    assert _asks(client, scene) == []


def test_a_future_of_several_items_is_listed_under_each_with_its_units(
        scene: Scene, service: tuple[Service, TestClient]) -> None:
    indexed, client = service
    market = scene.market
    round_id = market.open_round()
    bid = market.bid(scene.alice, round_id, Bundle((0, 2), (2, 3), 20 * USD), nonce=9)
    market.commit(bid, scene.alice)
    market.enter(round_id, Phase.REVEAL)
    market.reveal(bid, scene.alice)
    market.enter(round_id, Phase.POST)
    market.post(round_id, (bid, 0))
    market.settle(round_id)
    indexed.indexer.sync()
    future = int.from_bytes(market.digest(bid), "big")
    order = scene.order(scene.alice, Side.SELL, future)
    assert post(client, scene.signed(order, scene.alice)).status_code == 201
    for item, units in ((0, 2), (2, 3)):
        book = client.get("/book", params={"item": item, "round": round_id}).json()
        assert [(e["order"], e["quantity_units"]) for e in book["top_asks"]] == [
            (scene.hash(order), units)]
    assert client.get("/book", params={"item": 1, "round": round_id}).json()["asks"] == []
