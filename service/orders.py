"""The relay's orders in the store, each with the indexed facts that decide whether it can
still fill (`market.book.Facts`), read in one query per book or order."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from chain.exchange import OrderStatus, Side
from market.book import Entry, Facts

# One row per order and (round, item) it is listed under; `units` and the listing's round
# and item come from the future's bundle, or from the criteria themselves.
_FACTS = """
SELECT o.order_hash, o.side, o.price_micro_usd, o.sequence, {units}, {round_id}, {item},
       o.future_id, o.maker, o.counter, o.expires_at, o.min_quantity,
       COALESCE(s.status, 0), COALESCE(c.counter, 0),
       f.status, f.delivery_end, f.claimed, f.holder, f.bidder, COALESCE(ap.approved, 0),
       fu.balance_micro_usd, fu.allowance_micro_usd, a.capacity_units, a.delivery_end
FROM {source}
LEFT JOIN order_status s ON s.order_hash = o.order_hash
LEFT JOIN counters c ON c.maker = o.maker
LEFT JOIN futures f ON f.future_id = o.future_id
LEFT JOIN exchange_approvals ap ON ap.owner = o.maker
LEFT JOIN funds fu ON fu.account = o.maker
LEFT JOIN asks a ON a.round_id = o.round_id AND a.item = o.item
"""
_NAMED_LISTED = _FACTS.format(
    units="fi.units", round_id="fi.round_id", item="fi.item",
    source="future_items fi JOIN orders o ON o.future_id = fi.future_id") + (
    " WHERE fi.round_id = ? AND fi.item = ? AND o.expires_at >= ?")
_CRITERIA_LISTED = _FACTS.format(
    units="o.min_quantity", round_id="o.round_id", item="o.item", source="orders o") + (
    " WHERE o.round_id = ? AND o.item = ? AND o.future_id IS NULL AND o.expires_at >= ?")
_ONE = _FACTS.format(units="o.min_quantity", round_id="o.round_id", item="o.item",
                     source="orders o") + " WHERE o.order_hash = ?"
# What a criteria bid of (round, item) can be filled with: each tradable future's units of the
# item, most first, and who may sell it (its holder, or its unclaimed winner).
_SUPPLY = """
SELECT fi.units, CASE WHEN f.claimed THEN f.holder ELSE f.bidder END
FROM future_items fi JOIN futures f ON f.future_id = fi.future_id
WHERE fi.round_id = ? AND fi.item = ? AND f.status = 'future' AND f.delivery_end >= ?
ORDER BY fi.units DESC
"""


# Looked up rather than called: a book judges thousands of rows per answer.
_SIDES = {int(side): side for side in Side}
_STATUSES = {int(status): status for status in OrderStatus}


@dataclass(frozen=True, slots=True)
class Listed:
    """An order under one (round, item) of the book, with what decides whether it is live;
    `deadline`: the last timestamp at which time alone leaves it fillable (its expiry, or the
    end of its future's or item's delivery)."""

    entry: Entry
    facts: Facts
    maker: str
    deadline: int


def _supply(db: sqlite3.Connection, round_id: int, item: int, now_timestamp: int
            ) -> list[tuple[int, str]]:
    return list(db.execute(_SUPPLY, (round_id, item, now_timestamp)))


def _met(supply: list[tuple[int, str]], min_quantity: int, maker: str) -> bool:
    """Whether a future someone other than `maker` may sell delivers `min_quantity` units: a
    bid no such future meets can only fill once one is issued or changes hands, and until
    then would be a best bid that never fills."""
    for units, seller in supply:
        if units < min_quantity:
            return False
        if seller != maker:
            return True
    return False


def _listed(row: tuple, now_timestamp: int,  # type: ignore[type-arg]
            supply: list[tuple[int, str]]) -> Listed:
    """`supply`: `_supply` of the row's (round, item) when it is a criteria bid."""
    (order_hash, side, price, sequence, units, round_id, item, future_id, maker, counter,
     expires_at, min_quantity, status, maker_counter, future_status, future_end, claimed,
     holder, bidder, approved, balance, allowance, capacity, item_end) = row
    if future_id is not None:
        tradable = future_status == "future" and now_timestamp <= future_end
        end = future_end
    else:
        tradable = (capacity is not None and min_quantity <= capacity
                    and now_timestamp <= item_end and _met(supply, min_quantity, maker))
        end = item_end
    maker_owns = (holder if claimed else bidder) == maker
    maker_holds = bool(approved) and maker_owns
    maker_funded = (balance is not None and int(balance) >= price
                    and int(allowance) >= price)
    entry = Entry(order_hash, _SIDES[side], price, sequence, round_id or 0, item or 0,
                  units or 0, None if future_id is None else int.from_bytes(future_id, "big"))
    facts = Facts(entry.side, _STATUSES[status], counter, maker_counter, expires_at, tradable,
                  maker_holds, maker_funded, criteria=future_id is None,
                  maker_sells=maker_owns)
    return Listed(entry, facts, maker, expires_at if end is None else min(expires_at, end))


def listed(db: sqlite3.Connection, round_id: int, item: int, now_timestamp: int
           ) -> Iterator[Listed]:
    """Every unexpired order listed under (round, item), live or not."""
    supply = _supply(db, round_id, item, now_timestamp)
    for query in (_NAMED_LISTED, _CRITERIA_LISTED):
        for row in db.execute(query, (round_id, item, now_timestamp)):
            yield _listed(row, now_timestamp, supply)


def listings(db: sqlite3.Connection, future_id: bytes) -> list[tuple[int, int, int]]:
    """(round, item, units) of each item the future delivers."""
    return list(db.execute("SELECT round_id, item, units FROM future_items WHERE future_id = ?",
                           (future_id,)))


def one(db: sqlite3.Connection, order_hash: bytes, now_timestamp: int) -> Listed | None:
    """The order with its facts; a named order's entry without its bundle's items."""
    row = db.execute(_ONE, (order_hash,)).fetchone()
    if row is None:
        return None
    round_id, item, future_id = row[5:8]
    supply = [] if future_id is not None else _supply(db, round_id, item, now_timestamp)
    return _listed(row, now_timestamp, supply)


def by_prefix(db: sqlite3.Connection, prefix: str) -> list[tuple[bytes, str]]:
    """(hash, file JSON) of at most two orders whose hash starts with the hex `prefix`."""
    low = bytes.fromhex(prefix.ljust(64, "0"))
    high = bytes.fromhex(prefix.ljust(64, "f"))
    return [(bytes(h), f) for h, f in db.execute(
        "SELECT order_hash, file FROM orders WHERE order_hash BETWEEN ? AND ? LIMIT 2",
        (low, high))]


def open_count(db: sqlite3.Connection, maker: str, now_timestamp: int) -> int:
    """The maker's unexpired orders of its current counter, neither filled nor cancelled:
    what the per-maker cap counts."""
    (count,) = db.execute(
        "SELECT COUNT(*) FROM orders o LEFT JOIN order_status s ON s.order_hash = o.order_hash"
        " WHERE o.maker = ? AND o.expires_at >= ? AND s.status IS NULL AND o.counter ="
        " COALESCE((SELECT counter FROM counters WHERE maker = ?), 0)",
        (maker, now_timestamp, maker)).fetchone()
    return int(count)
