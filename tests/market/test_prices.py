"""market/prices.py: a trade's price split over its bundle's items, and the index — the auction's
clearing prices, moved a bounded way by trades, wash trades left out. Expectations are derived
by hand from the formula in docs/prices.md."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from market.prices import (
    BASIS_POINTS,
    DAY_SECONDS,
    DEFAULT_WINDOW_SECONDS,
    MAX_TRADE_MOVE_BPS,
    BundleLine,
    ClearedRound,
    ItemSale,
    PricePoint,
    Source,
    Trade,
    attributed,
    clearing_points,
    price_index,
    trade_points,
    wash_trades,
)

GPU = "gpu-euw1-2027-06-07T00:00Z-certified"
POWER = "power-euw1-2027-06-07T00:00Z-certified"
USD = 10**6
CLEARING_PRICE = 100 * USD
OWNER_A, OWNER_B = "0x" + "aa" * 20, "0x" + "bb" * 20  # one owner's two accounts
FUTURE = b"\x01" * 32


def _sale(timestamp: int, price: int, units: int = 4, round_id: int = 1) -> PricePoint:
    return PricePoint(GPU, "gpu", "euw1", round_id, timestamp, Source.CLEARING, price, units)


def _trade(timestamp: int, price: int, seller: str, buyer: str, number: int,
           future: bytes = FUTURE) -> PricePoint:
    return PricePoint(GPU, "gpu", "euw1", 1, timestamp, Source.TRADE, price, 4, future,
                      number.to_bytes(32, "big"), seller, buyer)


def _values(points: list[PricePoint]) -> list[int]:
    return [p.index_micro_usd for p in price_index(points, "gpu", "euw1")]


# ---- records ----


def test_a_round_records_every_items_final_price_sold_or_not() -> None:
    cleared = ClearedRound(3, 1_000, [ItemSale(GPU, "gpu", "euw1", 8),
                                      ItemSale(POWER, "power", "euw1", 0)], [120 * USD, 9 * USD])
    assert [(p.item, p.round_id, p.timestamp, p.source, p.price_per_unit_micro_usd, p.units)
            for p in clearing_points(cleared)] == [
        (GPU, 3, 1_000, Source.CLEARING, 120 * USD, 8),
        (POWER, 3, 1_000, Source.CLEARING, 9 * USD, 0)]


def test_a_trade_is_split_over_its_bundle_by_clearing_prices_times_quantities() -> None:
    """2 GPUs at 100 and 3 kW at 10 cleared at 230 USD; sold for 460, each item sold at twice
    its clearing price."""
    lines = [BundleLine(GPU, "gpu", "euw1", 2, 100 * USD),
             BundleLine(POWER, "power", "euw1", 3, 10 * USD)]
    trade = Trade(b"\x0a" * 32, FUTURE, 1, 2_000, OWNER_A, OWNER_B, 460 * USD)
    points = trade_points(trade, lines)
    assert [(p.item, p.price_per_unit_micro_usd, p.units, p.source) for p in points] == [
        (GPU, 200 * USD, 2, Source.TRADE), (POWER, 20 * USD, 3, Source.TRADE)]
    assert {(p.future, p.order_hash, p.seller, p.buyer) for p in points} == {
        (FUTURE, b"\x0a" * 32, OWNER_A, OWNER_B)}


def test_a_bundle_of_unpriced_items_is_split_by_units() -> None:
    lines = [BundleLine(GPU, "gpu", "euw1", 1, 0), BundleLine(POWER, "power", "euw1", 3, 0)]
    assert attributed(8 * USD, lines) == [2 * USD, 2 * USD]


@given(st.integers(1, 10**12), st.lists(st.tuples(st.integers(1, 1_000), st.integers(0, 10**9)),
                                        min_size=1, max_size=6))
def test_the_split_adds_up_to_the_price_within_rounding(
        price: int, lines: list[tuple[int, int]]) -> None:
    bundle = [BundleLine(GPU, "gpu", "euw1", quantity, weight) for quantity, weight in lines]
    per_unit = attributed(price, bundle)
    total = sum(p * line.quantity for p, line in zip(per_unit, bundle, strict=True))
    assert abs(total - price) <= sum(line.quantity for line in bundle) / 2


# ---- the index ----


def test_without_trades_the_index_is_the_units_weighted_clearing_price_of_the_window() -> None:
    points = [_sale(0, 100 * USD, units=1), _sale(0, 130 * USD, units=2),
              _sale(DAY_SECONDS, 90 * USD, units=1)]
    assert _values(points) == [120 * USD, round(Fraction(100 + 260 + 90, 4) * USD)]


@given(st.lists(st.tuples(st.integers(-20, 20), st.integers(1, 50), st.integers(1, 10)),
                min_size=1, max_size=30))
def test_a_random_walk_of_clearing_prices_with_no_trades_is_the_windows_mean(
        steps: list[tuple[int, int, int]]) -> None:
    """Rounds `days` apart, the price walking by `percent` each round: the index at each round
    is the units-weighted mean of the sales of the trailing week, within their range."""
    points, price, day = [], CLEARING_PRICE, 0
    for percent, units, days in steps:
        price = max(USD, price + price * percent // 100)
        day += days
        points.append(_sale(day * DAY_SECONDS, price, units))
    series = price_index(points, "gpu", "euw1")
    assert [p.timestamp for p in series] == sorted({p.timestamp for p in points})
    for value in series:
        window = [p for p in points
                  if value.timestamp - DEFAULT_WINDOW_SECONDS < p.timestamp <= value.timestamp]
        mean = Fraction(sum(p.price_per_unit_micro_usd * p.units for p in window),
                        sum(p.units for p in window))
        assert value.index_micro_usd == value.clearing_micro_usd == round(mean)
        assert min(p.price_per_unit_micro_usd for p in window) <= value.index_micro_usd <= max(
            p.price_per_unit_micro_usd for p in window)
        assert (value.trade_median_micro_usd, value.trade_count) == (None, 0)


def test_trades_move_the_index_a_fifth_of_the_way_to_their_median() -> None:
    points = [_sale(0, CLEARING_PRICE),
              _trade(10, 110 * USD, "0x" + "01" * 20, "0x" + "02" * 20, 1, b"\x01" * 32),
              _trade(20, 120 * USD, "0x" + "03" * 20, "0x" + "04" * 20, 2, b"\x02" * 32),
              _trade(30, 150 * USD, "0x" + "05" * 20, "0x" + "06" * 20, 3, b"\x03" * 32)]
    series = price_index(points, "gpu", "euw1")
    assert [(p.trade_median_micro_usd, p.trade_count) for p in series] == [
        (None, 0), (110 * USD, 1), (115 * USD, 2), (120 * USD, 3)]
    assert series[-1].index_micro_usd == CLEARING_PRICE + (120 - 100) * USD // 5


def test_one_owners_accounts_trading_a_future_back_and_forth_at_ten_times_move_nothing() -> None:
    """The wash trade the index is built to shrug off: every trade is between a pair that
    traded both ways, so none counts and the index is the auction's."""
    clearing = [_sale(0, CLEARING_PRICE)]
    wash = [_trade(60 * n + 60, 10 * CLEARING_PRICE, *((OWNER_A, OWNER_B) if n % 2 == 0
                                                       else (OWNER_B, OWNER_A)), n)
            for n in range(20)]
    series = price_index(clearing + wash, "gpu", "euw1")
    assert {p.index_micro_usd for p in series} == {CLEARING_PRICE}
    assert series[-1].excluded_trade_count == 20
    assert wash_trades(wash) == {p.order_hash for p in wash}


def test_wash_trades_the_rules_miss_move_the_index_at_most_ten_percent() -> None:
    """Fresh accounts each time, so no pair trades twice and no future comes back: the median
    is clamped to half again the clearing price, and weighs a fifth."""
    accounts = ["0x" + f"{n:040x}" for n in range(21)]
    wash = [_trade(60 * n + 60, 10 * CLEARING_PRICE, accounts[n], accounts[n + 1], n)
            for n in range(20)]
    assert wash_trades(wash) == set()
    top = max(_values([_sale(0, CLEARING_PRICE), *wash]))
    assert top == CLEARING_PRICE * (BASIS_POINTS + MAX_TRADE_MOVE_BPS) // BASIS_POINTS
    assert MAX_TRADE_MOVE_BPS == 1_000  # the 10 % docs/prices.md states


def test_a_future_passed_round_a_ring_back_to_its_seller_is_a_wash_trade_all_the_way() -> None:
    ring = [_trade(1, 10 * CLEARING_PRICE, OWNER_A, OWNER_B, 1),
            _trade(2, 10 * CLEARING_PRICE, OWNER_B, "0x" + "cc" * 20, 2),
            _trade(3, 10 * CLEARING_PRICE, "0x" + "cc" * 20, OWNER_A, 3),
            _trade(4, 90 * USD, OWNER_A, "0x" + "dd" * 20, 4)]
    assert wash_trades(ring) == {(n).to_bytes(32, "big") for n in (1, 2, 3)}


def test_trades_never_compound_when_no_round_clears_for_weeks() -> None:
    """The anchor carried forward is the last clearing price, never the index itself."""
    accounts = ["0x" + f"{n:040x}" for n in range(61)]
    wash = [_trade(DAY_SECONDS * (n + 1), 10 * CLEARING_PRICE, accounts[n], accounts[n + 1], n)
            for n in range(60)]
    series = price_index([_sale(0, CLEARING_PRICE), *wash], "gpu", "euw1")
    assert {p.clearing_micro_usd for p in series} == {CLEARING_PRICE}
    assert max(p.index_micro_usd for p in series) == CLEARING_PRICE * 11 // 10


def test_no_index_before_the_first_sale_and_unsold_items_do_not_count() -> None:
    points = [_trade(0, 50 * USD, OWNER_A, OWNER_B, 1), _sale(5, 999 * USD, units=0),
              _sale(10, CLEARING_PRICE)]
    assert [(p.timestamp, p.clearing_micro_usd, p.index_micro_usd)
            for p in price_index(points, "gpu", "euw1")] == [
        (10, CLEARING_PRICE, CLEARING_PRICE - (100 - 50) * USD // 5)]  # the trade in its week
