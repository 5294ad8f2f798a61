"""Price history and the price index: what clearing and trading say an item of capacity is worth.

Pure functions over plain records, whoever reads them from the chain (`market/price_history.py`
from a deployment's events; an indexer from its own tables). A record is one item's price per
unit at one time: the round's final clearing price (`Priced`), or a trade's price on the futures
exchange (`Traded`) attributed to the items of the future's bundle. docs/prices.md gives the
method, its formula and what it resists.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

BASIS_POINTS = 10_000
DAY_SECONDS = 86_400
DEFAULT_WINDOW_SECONDS = 7 * DAY_SECONDS
TRADE_WEIGHT_BPS = 2_000
"""The trades' share of the index at most: the auction's clearing prices carry the rest."""
TRADE_BAND_BPS = 5_000
"""How far from the clearing anchor the trades' median may pull, either way, before it is
clamped: with the weight, no trades move the index by more than 20 % × 50 % = 10 %."""
MAX_TRADE_MOVE_BPS = TRADE_WEIGHT_BPS * TRADE_BAND_BPS // BASIS_POINTS


class Source(StrEnum):
    CLEARING = "clearing"
    TRADE = "trade"


@dataclass(frozen=True)
class PricePoint:
    """One item's price per unit at one time. `item` is its label (`market.model.item_label`);
    `round_id` the round that cleared it, or that issued the traded future; `units` what was
    sold at that price (for a clearing price, the round's units of the item: 0 when none sold).
    A trade's point names its future, order, seller and buyer."""

    item: str
    resource: str
    region: str
    round_id: int
    timestamp: int
    source: Source
    price_per_unit_micro_usd: int
    units: int
    future: bytes | None = None
    order_hash: bytes | None = None
    seller: str | None = None
    buyer: str | None = None


@dataclass(frozen=True)
class ItemSale:
    """An item of a round as the price records need it: what it is and the units it sold."""

    item: str
    resource: str
    region: str
    units: int


@dataclass(frozen=True)
class ClearedRound:
    """A round's final prices (the latest version of its `Priced`), one per item index."""

    round_id: int
    timestamp: int
    items: Sequence[ItemSale]
    item_prices_micro_usd: Sequence[int]


@dataclass(frozen=True)
class BundleLine:
    """One item of a traded future's bundle: its quantity, and the price per unit that weighs
    its share of the trade (the round's clearing price; its reserve if the round was never
    priced, which is then what its winners paid per unit)."""

    item: str
    resource: str
    region: str
    quantity: int
    weight_price_micro_usd: int


@dataclass(frozen=True)
class Trade:
    """A future sold on the exchange: what the buyer paid for the whole bundle."""

    order_hash: bytes
    future: bytes
    round_id: int
    timestamp: int
    seller: str
    buyer: str
    price_micro_usd: int


@dataclass(frozen=True)
class IndexPoint:
    """The index of one resource in one region at one time, with its parts: the clearing
    anchor, the trades' median (None without trades counted) and how many trades the window
    counted and left out as wash trades."""

    resource: str
    region: str
    timestamp: int
    index_micro_usd: int
    clearing_micro_usd: int
    trade_median_micro_usd: int | None
    trade_count: int
    excluded_trade_count: int


def clearing_points(cleared: ClearedRound) -> list[PricePoint]:
    """A round's final price of every item, sold or not."""
    return [PricePoint(sale.item, sale.resource, sale.region, cleared.round_id, cleared.timestamp,
                       Source.CLEARING, price, sale.units)
            for sale, price in zip(cleared.items, cleared.item_prices_micro_usd, strict=True)]


def attributed(price_micro_usd: int, lines: Sequence[BundleLine]) -> list[int]:
    """A bundle's price as a price per unit of each of its lines, in proportion to the lines'
    clearing prices × quantities (by units alone when those are all zero), rounded to the
    micro-USD. The auction's prices are the market's own relative valuation of the items when
    the future was made: a trade at 1.2× the bundle's clearing cost prices each item at 1.2×
    its clearing price rather than inventing a new ratio between, say, a GPU and a kW."""
    weights = [line.weight_price_micro_usd for line in lines]
    if not any(weights):
        weights = [1] * len(lines)
    total = sum(w * line.quantity for w, line in zip(weights, lines, strict=True))
    return [round(Fraction(price_micro_usd * w, total)) for w in weights]


def trade_points(trade: Trade, lines: Sequence[BundleLine]) -> list[PricePoint]:
    """A trade's price per unit of each item of the future's bundle."""
    return [PricePoint(line.item, line.resource, line.region, trade.round_id, trade.timestamp,
                       Source.TRADE, per_unit, line.quantity, trade.future, trade.order_hash,
                       trade.seller, trade.buyer)
            for line, per_unit in zip(lines, attributed(trade.price_micro_usd, lines),
                                      strict=True)]


def wash_trades(points: Iterable[PricePoint]) -> set[bytes | None]:
    """The order hashes of the trades the index leaves out, of `points` oldest first: every
    trade between two accounts that also traded the other way (a pair trading back and forth,
    whatever the future), and every trade of a loop that brings a future back to an account
    that sold it before."""
    trades = list({p.order_hash: p for p in points if p.source is Source.TRADE}.values())
    directions = {(p.seller, p.buyer) for p in trades}
    excluded = {p.order_hash for p in trades if (p.buyer, p.seller) in directions}
    by_future: dict[bytes | None, list[PricePoint]] = defaultdict(list)
    for trade in trades:
        by_future[trade.future].append(trade)
    for held in by_future.values():
        for end, trade in enumerate(held):
            start = next((k for k in range(end) if held[k].seller == trade.buyer), None)
            if start is not None:
                excluded |= {p.order_hash for p in held[start:end + 1]}
    return excluded


def price_index(points: Sequence[PricePoint], resource: str, region: str,
                window_seconds: int = DEFAULT_WINDOW_SECONDS,
                excluded: set[bytes | None] | None = None) -> list[IndexPoint]:
    """The index of `resource` in `region` from `points` (every item's, oldest first: wash
    trades are told by the accounts' whole history, later trades included; `excluded`, when
    given, is `wash_trades(points)` computed once for many markets) at each time one of its
    prices was recorded, from the first clearing sale on: the clearing anchor A
    (units-weighted mean clearing price per unit of the window's sales, or of the latest sales
    before it), moved toward the median T of the window's trades but wash trades, T clamped to
    A ± 50 %, by 20 %: index = A + 20 % × (clamp(T) − A)."""
    ours = [p for p in points if (p.resource, p.region) == (resource, region)]
    if excluded is None:
        excluded = wash_trades(points)
    sales = sorted((p for p in ours if p.source is Source.CLEARING and p.units > 0),
                   key=lambda p: p.timestamp)
    trades = sorted((p for p in ours if p.source is Source.TRADE), key=lambda p: p.timestamp)
    sale_times, trade_times = [p.timestamp for p in sales], [p.timestamp for p in trades]
    window = _Window(excluded)
    first = last = 0  # the window's trades are trades[first:last]
    series = []
    for timestamp in sorted({p.timestamp for p in ours}):
        start = timestamp - window_seconds
        while last < len(trades) and trade_times[last] <= timestamp:
            window.add(trades[last])
            last += 1
        while first < last and trade_times[first] <= start:
            window.remove(trades[first])
            first += 1
        anchor = _anchor(sales, sale_times, start, timestamp)
        if anchor is None:
            continue
        trade_median = window.median()
        index = anchor if trade_median is None else anchor + Fraction(
            TRADE_WEIGHT_BPS, BASIS_POINTS) * (_clamped(trade_median, anchor) - anchor)
        series.append(IndexPoint(
            resource, region, timestamp, round(index), round(anchor),
            None if trade_median is None else round(trade_median),
            len(window.counted_trades), len(window.excluded_trades)))
    return series


class _Window:
    """The trades of a sliding window, kept as it slides (each trade added and removed once):
    the counted prices in order for their median, and how many points of each trade are in."""

    def __init__(self, excluded: set[bytes | None]) -> None:
        self.excluded = excluded
        self.prices: list[int] = []
        self.counted_trades: Counter[bytes | None] = Counter()
        self.excluded_trades: Counter[bytes | None] = Counter()

    def add(self, point: PricePoint) -> None:
        if point.order_hash in self.excluded:
            self.excluded_trades[point.order_hash] += 1
            return
        insort(self.prices, point.price_per_unit_micro_usd)
        self.counted_trades[point.order_hash] += 1

    def remove(self, point: PricePoint) -> None:
        trades = (self.excluded_trades if point.order_hash in self.excluded
                  else self.counted_trades)
        trades[point.order_hash] -= 1
        if not trades[point.order_hash]:
            del trades[point.order_hash]
        if point.order_hash not in self.excluded:
            del self.prices[bisect_left(self.prices, point.price_per_unit_micro_usd)]

    def median(self) -> Fraction | None:
        """Exact where `statistics.median` would average two large prices in floating point."""
        if not self.prices:
            return None
        middle = len(self.prices) // 2
        return Fraction(self.prices[middle] + self.prices[~middle], 2)


def _anchor(sales: list[PricePoint], times: list[int], start: int, end: int
            ) -> Fraction | None:
    """The units-weighted mean price of the sales in (start, end], else of the latest sales at
    or before `start` (`sales` in time order, `times` their timestamps): carried forward, never
    replaced by the index, so trades cannot feed on their own effect."""
    chosen = sales[bisect_right(times, start):bisect_right(times, end)]
    if not chosen:
        before = bisect_right(times, start)
        if before == 0:
            return None
        latest = times[before - 1]
        chosen = sales[bisect_left(times, latest):before]
    return Fraction(sum(p.price_per_unit_micro_usd * p.units for p in chosen),
                    sum(p.units for p in chosen))


def _clamped(price: Fraction, anchor: Fraction) -> Fraction:
    band = anchor * Fraction(TRADE_BAND_BPS, BASIS_POINTS)
    return min(max(price, anchor - band), anchor + band)
