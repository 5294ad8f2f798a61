"""The simulator's secondary book: the exchange's rules (market.book) applied as orders
arrive — price then time, fills at the resting order's price, no fill of one's own order."""

from __future__ import annotations

from sim.secondary import Book, Future

ITEMS = ["gpu-a", "power-a", "gpu-b"]


def future(number: int, holder: str, gpus: int = 8, item: str = "gpu-a") -> Future:
    return Future(number, {item: gpus, "power-a": gpus * 5 // 4}, holder)


def test_a_bid_that_crosses_fills_at_the_resting_asks_price() -> None:
    book = Book(0, ITEMS)
    assert book.sell(1, future(0, "spec-1"), 900) is None
    trade = book.bid_criteria(1, "user-1", "gpu-a", 8, 1_000)
    assert trade is not None
    assert (trade.seller, trade.buyer, trade.price_micro_usd) == ("spec-1", "user-1", 900)
    assert book.futures[0].holder == "user-1"
    assert book.live() == []


def test_the_cheapest_ask_fills_first_and_the_earliest_at_one_price() -> None:
    book = Book(0, ITEMS)
    book.sell(1, future(0, "spec-1"), 950)
    book.sell(1, future(1, "spec-2"), 900)
    book.sell(1, future(2, "spec-3"), 900)
    trade = book.bid_criteria(1, "user-1", "gpu-a", 8, 1_000)
    assert trade is not None and trade.future == 1


def test_a_criteria_bid_needs_the_units_of_its_item() -> None:
    book = Book(0, ITEMS)
    book.sell(1, future(0, "spec-1", gpus=8), 500)
    book.sell(1, future(1, "spec-2", gpus=16, item="gpu-b"), 500)
    assert book.bid_criteria(1, "user-1", "gpu-a", 16, 1_000) is None
    trade = book.bid_criteria(1, "user-2", "gpu-b", 16, 1_000)
    assert trade is not None and trade.future == 1


def test_an_ask_arriving_fills_the_best_resting_bid_at_its_price() -> None:
    book = Book(0, ITEMS)
    book.bid_criteria(1, "user-1", "gpu-a", 8, 700)
    book.bid_criteria(1, "user-2", "gpu-a", 8, 800)
    trade = book.sell(2, future(0, "spec-1"), 650)
    assert trade is not None
    assert (trade.buyer, trade.price_micro_usd) == ("user-2", 800)
    assert [entry.price_micro_usd for entry in book.live()] == [700]


def test_a_named_bid_fills_only_its_future() -> None:
    book = Book(0, ITEMS)
    book.sell(1, future(0, "spec-1"), 900)
    book.sell(1, future(1, "spec-2"), 500)
    trade = book.bid_for(1, "maker-0", book.futures[0], 950)
    assert trade is not None and trade.future == 0 and trade.price_micro_usd == 900


def test_no_trader_fills_its_own_order() -> None:
    book = Book(0, ITEMS)
    book.sell(1, future(0, "maker-0"), 500)
    assert book.bid_criteria(1, "maker-0", "gpu-a", 8, 1_000) is None
    assert len(book.live()) == 3  # the ask under both items and the bid


def test_a_new_order_replaces_the_traders_last_one_for_the_same_future() -> None:
    book = Book(0, ITEMS)
    owned = future(0, "spec-1")
    book.sell(1, owned, 900)
    book.sell(2, owned, 800)
    assert {entry.price_micro_usd for entry in book.live()} == {800}
    assert book.bid_criteria(2, "user-1", "gpu-a", 8, 850) is not None
