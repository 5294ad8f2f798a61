"""The price records of `market.prices`, read from the index's tables instead of the chain's
logs: each priced round's clearing prices with the units its priced result sold, and each
trade attributed to the items of its future's bundle, in the order the chain recorded them.
`market.price_history` reads the same records from a deployment's events; the pure functions
behind both are `market.prices`'."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict

from market.price_history import PriceHistory
from market.prices import (
    BundleLine,
    ClearedRound,
    ItemSale,
    PricePoint,
    Trade,
    clearing_points,
    trade_points,
)

_ASKS = "SELECT round_id, item, label, resource, region, reserve_price_micro_usd FROM asks"
_SOLD = """
SELECT w.round_id, v.bundles, w.bundle_index FROM rounds r
JOIN awards w ON w.round_id = r.round_id AND w.version = r.priced_version
JOIN revealed v ON v.digest = w.digest
"""
_PRICED = "SELECT round_id, item, price_micro_usd, priced_at, block, log_index FROM item_prices"
_TRADES = """
SELECT t.order_hash, t.future_id, f.round_id, t.timestamp, t.seller, t.buyer, t.price_micro_usd,
       t.block, t.log_index
FROM trades t JOIN futures f ON f.future_id = t.future_id
"""
_FUTURE_ITEMS = "SELECT future_id, item, units FROM future_items ORDER BY future_id, item"


def price_history(db: sqlite3.Connection) -> PriceHistory:
    """The index's price records and the label of every item each round offered: what
    `market.price_history.read_price_history` reads from the chain."""
    labels = {(round_id, item): label for round_id, item, label, *_ in db.execute(_ASKS)}
    return PriceHistory(price_points(db), labels)


def price_points(db: sqlite3.Connection) -> list[PricePoint]:
    """Every clearing and trade price record indexed, oldest first; those of one time in the
    order of their events in the chain, as `read_price_history` lists them."""
    asks = {(r, i): (label, resource, region, reserve)
            for r, i, label, resource, region, reserve in db.execute(_ASKS)}
    sold: dict[tuple[int, int], int] = defaultdict(int)
    for round_id, awarded, bundle_index in db.execute(_SOLD):
        items, quantities = json.loads(awarded)[bundle_index]
        for item, quantity in zip(items, quantities, strict=True):
            sold[round_id, item] += quantity
    prices: dict[int, dict[int, int]] = defaultdict(dict)
    priced_at: dict[int, tuple[int, int, int]] = {}
    for round_id, item, price, timestamp, block, log_index in db.execute(_PRICED):
        prices[round_id][item] = price
        priced_at[round_id] = timestamp, block, log_index
    dated: list[tuple[tuple[int, int, int], list[PricePoint]]] = []
    for round_id, by_item in prices.items():
        items = sorted(by_item)
        sales = [ItemSale(asks[round_id, i][0], asks[round_id, i][1], asks[round_id, i][2],
                          sold[round_id, i]) for i in items]
        cleared = ClearedRound(round_id, priced_at[round_id][0], sales,
                               [by_item[i] for i in items])
        dated.append((priced_at[round_id], clearing_points(cleared)))
    delivered: dict[bytes, list[tuple[int, int]]] = defaultdict(list)
    for future, item, units in db.execute(_FUTURE_ITEMS):
        delivered[future].append((item, units))
    for (order, future, round_id, timestamp, seller, buyer, price, block,
         log_index) in db.execute(_TRADES).fetchall():
        # An unpriced round's winners paid the reserve: that weighs its items instead.
        lines = [BundleLine(asks[round_id, i][0], asks[round_id, i][1], asks[round_id, i][2],
                            units, prices[round_id].get(i, asks[round_id, i][3]))
                 for i, units in delivered[future]]
        dated.append(((timestamp, block, log_index), trade_points(
            Trade(order, future, round_id, timestamp, seller, buyer, price), lines)))
    dated.sort(key=lambda entry: entry[0])
    return [point for _, points in dated for point in points]
