"""The order book's rules over plain data: listing, price-then-time priority, which bid
crosses which ask (named and by criteria), which orders can still fill, and depth."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from chain.exchange import OrderStatus, Side
from market.book import (
    Dead,
    Entry,
    Facts,
    Level,
    crosses,
    depth,
    entries,
    ranked,
    why_dead,
)

ROUND = 3
NOW = 1_000


def _ask(price: int, sequence: int, units: int = 1, future: int = 1, item: int = 0,
         round_id: int = ROUND) -> Entry:
    return Entry(bytes([sequence]) * 32, Side.SELL, price, sequence, round_id, item, units,
                 future)


def _bid(price: int, sequence: int, units: int = 1, future: int | None = None, item: int = 0,
         round_id: int = ROUND) -> Entry:
    return Entry(bytes([sequence]) * 32, Side.BUY, price, sequence, round_id, item, units,
                 future)


def test_a_future_delivering_several_items_is_listed_under_each_with_its_units() -> None:
    listed = entries(b"\x01" * 32, Side.SELL, 50, 7, ROUND, {2: 8, 0: 3}, future_id=9)
    assert [(e.item, e.units, e.future_id) for e in listed] == [(0, 3, 9), (2, 8, 9)]


def test_asks_rank_by_ascending_price_bids_by_descending_ties_by_arrival() -> None:
    asks = [_ask(30, 1), _ask(20, 2), _ask(20, 0), _ask(25, 3)]
    assert [(e.price_micro_usd, e.sequence) for e in ranked(asks)] == [
        (20, 0), (20, 2), (25, 3), (30, 1)]
    bids = [_bid(20, 1), _bid(30, 2), _bid(30, 0), _bid(25, 3)]
    assert [(e.price_micro_usd, e.sequence) for e in ranked(bids)] == [
        (30, 0), (30, 2), (25, 3), (20, 1)]


def test_a_named_bid_crosses_only_a_sell_of_its_future_at_or_below_its_price() -> None:
    bid = _bid(20, 1, future=5)
    assert crosses(bid, _ask(20, 2, future=5))
    assert crosses(bid, _ask(15, 2, future=5))
    assert not crosses(bid, _ask(21, 2, future=5))
    assert not crosses(bid, _ask(10, 2, future=6))
    assert not crosses(_ask(10, 2, future=5), bid)  # an ask is no bid


def test_a_criteria_bid_crosses_a_sell_of_its_round_delivering_enough_of_its_item() -> None:
    bid = _bid(20, 1, units=4)
    assert crosses(bid, _ask(20, 2, units=4))
    assert crosses(bid, _ask(19, 2, units=9, future=77))  # any future of the round
    assert not crosses(bid, _ask(20, 2, units=3))  # too few units
    assert not crosses(bid, _ask(20, 2, units=4, item=1))  # another item
    assert not crosses(bid, _ask(20, 2, units=4, round_id=ROUND + 1))  # another round
    assert not crosses(bid, _ask(21, 2, units=4))  # too dear


def _facts(**changes: object) -> Facts:
    live = Facts(side=Side.SELL, status=OrderStatus.OPEN, counter=2, maker_counter=2,
                 expiry_timestamp=NOW, tradable=True, maker_holds=True, maker_funded=False)
    return replace(live, **changes)  # type: ignore[arg-type]


def test_an_order_is_live_until_any_fact_the_exchange_checks_turns() -> None:
    assert why_dead(_facts(), NOW) is None
    assert why_dead(_facts(side=Side.BUY, maker_holds=False, maker_funded=True), NOW) is None
    assert why_dead(_facts(status=OrderStatus.FILLED), NOW) == Dead("order", "was filled already")
    assert why_dead(_facts(status=OrderStatus.CANCELLED), NOW) == Dead(
        "order", "was cancelled already")
    dead = {
        "counter": _facts(maker_counter=3),
        "expires_at": _facts(expiry_timestamp=NOW - 1),
        "future": _facts(tradable=False),
        "item": _facts(tradable=False, criteria=True, side=Side.BUY, maker_funded=True),
        "maker": _facts(maker_holds=False),
    }
    for field, facts in dead.items():
        found = why_dead(facts, NOW)
        assert found is not None and found.field == field, (field, found)
    unfunded = why_dead(_facts(side=Side.BUY, maker_funded=False), NOW)
    assert unfunded is not None and unfunded.field == "maker"


def test_depth_adds_up_each_price_and_keeps_the_best_levels() -> None:
    book = depth([_ask(20, 1, units=2), _ask(20, 2, units=3), _ask(25, 3), _bid(18, 4),
                  _bid(19, 5, units=4), _bid(18, 6, units=2)])
    assert book.asks == [Level(20, 2, 5), Level(25, 1, 1)]
    assert book.bids == [Level(19, 1, 4), Level(18, 2, 3)]
    assert (book.best_bid, book.best_ask) == (19, 20)
    assert depth([_ask(20, 1), _ask(21, 2), _ask(22, 3)], limit=2).asks == [
        Level(20, 1, 1), Level(21, 1, 1)]
    assert (depth([]).best_bid, depth([]).best_ask) == (None, None)


_orders = st.lists(st.tuples(st.booleans(), st.integers(1, 50), st.integers(1, 5)),
                   max_size=40)


@given(_orders)
def test_ranking_and_depth_agree_for_any_book(orders: list[tuple[bool, int, int]]) -> None:
    book = [(_bid if buy else _ask)(price, n, units) for n, (buy, price, units) in
            enumerate(orders)]
    levels = depth(book)
    for side, found in ((Side.BUY, levels.bids), (Side.SELL, levels.asks)):
        mine = [e for e in book if e.side is side]
        best = ranked(mine)
        # Each entry is at least as good as the next: price first, then arrival.
        for first, second in pairwise(best):
            better = (first.price_micro_usd < second.price_micro_usd if side is Side.SELL
                      else first.price_micro_usd > second.price_micro_usd)
            assert better or (first.price_micro_usd == second.price_micro_usd
                              and first.sequence < second.sequence)
        # Depth keeps every order and unit, one level per price, in the ranking's order.
        assert sum(level.order_count for level in found) == len(mine)
        assert sum(level.units for level in found) == sum(e.units for e in mine)
        assert [level.price_micro_usd for level in found] == list(
            dict.fromkeys(e.price_micro_usd for e in best))
        # The best ask crosses every bid at or above it that wants as little.
        if side is Side.SELL and best:
            for bid in (e for e in book if e.side is Side.BUY):
                assert crosses(bid, best[0]) == (
                    bid.price_micro_usd >= best[0].price_micro_usd
                    and best[0].units >= bid.units)
