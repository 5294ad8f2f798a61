"""The futures exchange's order book, as rules over data: how orders are listed, ranked and
crossed, which of them can still fill, and the depth they add up to. The order relay and the
market simulator both use these; neither the chain nor a database is read here.

A sell order (or a buy order naming one future) is listed under every item its future's
bundle delivers, with that item's units; a criteria bid under its one item, with its minimum
quantity. Asks rank by ascending price, bids by descending price, ties by arrival.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chain.exchange import OrderStatus, Side


@dataclass(frozen=True, slots=True)
class Entry:
    """An order as the book lists it under one (round, item). `units`: the units of the item
    the future delivers, or a criteria bid's minimum quantity; `future_id` None for a criteria
    bid. `sequence` is the order's place in arrival order."""

    order_hash: bytes
    side: Side
    price_micro_usd: int
    sequence: int
    round_id: int
    item: int
    units: int
    future_id: int | None


def entries(order_hash: bytes, side: Side, price_micro_usd: int, sequence: int,
            round_id: int, bundle: Mapping[int, int], future_id: int) -> list[Entry]:
    """An order that names a future, listed under each item of the future's `bundle`
    (item → units)."""
    return [Entry(order_hash, side, price_micro_usd, sequence, round_id, item, units, future_id)
            for item, units in sorted(bundle.items())]


def priority(entry: Entry) -> tuple[int, int]:
    """The sort key of price-then-time priority on the entry's side of the book."""
    price = entry.price_micro_usd if entry.side is Side.SELL else -entry.price_micro_usd
    return price, entry.sequence


def ranked(book_side: Iterable[Entry]) -> list[Entry]:
    """One side's entries, best first."""
    return sorted(book_side, key=priority)


def crosses(bid: Entry, ask: Entry) -> bool:
    """Whether a fill of `ask` by `bid`'s maker at the ask's price satisfies the bid: a named
    bid wants that very future; a criteria bid any future of its round delivering at least its
    quantity of its item."""
    if bid.side is not Side.BUY or ask.side is not Side.SELL:
        return False
    if bid.price_micro_usd < ask.price_micro_usd:
        return False
    if bid.future_id is not None:
        return bid.future_id == ask.future_id
    return (ask.round_id, ask.item) == (bid.round_id, bid.item) and ask.units >= bid.units


# ---- liveness ----


@dataclass(frozen=True, slots=True)
class Facts:
    """What decides whether an order can still fill, as of one moment. For a sell order,
    `maker_holds`: the maker holds the future (or won it and has not claimed it) and lets the
    exchange move its futures; for a buy order, `maker_funded`: its USD balance and allowance
    toward the exchange each cover the price, and `maker_sells`: a buy order naming a future
    whose maker is the one account that could sell it (its holder, or its unclaimed winner).
    `tradable`: the future is a `Future` whose delivery has not ended, or (`criteria`, a bid
    by criteria) the round has the item, its delivery has not ended, and a future of it that
    someone other than the maker may sell delivers the quantity."""

    side: Side
    status: OrderStatus
    counter: int
    maker_counter: int
    expiry_timestamp: int
    tradable: bool
    maker_holds: bool
    maker_funded: bool
    criteria: bool = False
    maker_sells: bool = False


@dataclass(frozen=True)
class Dead:
    """Why an order cannot fill: the field of the order at fault and the reason."""

    field: str
    reason: str


def why_dead(facts: Facts, now_timestamp: int) -> Dead | None:
    """The first reason the exchange would refuse a fill of the order now, in the order it
    checks them; None when it would fill."""
    if facts.status is not OrderStatus.OPEN:
        return Dead("order", f"was {facts.status.name.lower()} already")
    if facts.counter != facts.maker_counter:
        return Dead("counter", f"is {facts.counter}, the maker's counter is "
                               f"{facts.maker_counter}: the maker cancelled all its orders")
    if facts.expiry_timestamp < now_timestamp:
        return Dead("expires_at", f"{facts.expiry_timestamp} has passed")
    if not facts.tradable and facts.criteria:
        return Dead("item", "has no future that another account may sell and that delivers "
                            "the quantity before its delivery ends: nothing could fill the "
                            "bid now")
    if not facts.tradable:
        return Dead("future", "is not tradable: not a future, or its delivery is over")
    if facts.side is Side.SELL and not facts.maker_holds:
        return Dead("maker", "does not hold the future or has not approved the exchange")
    # The exchange refuses a maker's fill of its own order: listed, such a bid would be the
    # best bid at any price its maker can cover, at no risk of ever paying it.
    if facts.side is Side.BUY and facts.maker_sells:
        return Dead("maker", "holds the future it bids for: no one else can sell it")
    if facts.side is Side.BUY and not facts.maker_funded:
        return Dead("maker", "lacks the USD or the allowance toward the exchange for the price")
    return None


# ---- depth ----


@dataclass(frozen=True)
class Level:
    """The live entries at one price on one side: how many orders and their units."""

    price_micro_usd: int
    order_count: int
    units: int


@dataclass(frozen=True)
class Depth:
    """One (round, item)'s book: bids best (highest) first, asks best (lowest) first."""

    bids: list[Level]
    asks: list[Level]

    @property
    def best_bid(self) -> int | None:
        return self.bids[0].price_micro_usd if self.bids else None

    @property
    def best_ask(self) -> int | None:
        return self.asks[0].price_micro_usd if self.asks else None


def levels(book_side: Iterable[Entry], limit: int | None = None) -> list[Level]:
    """One side's entries added up by price, best price first; at most `limit` levels."""
    found: list[Level] = []
    for entry in ranked(book_side):
        if found and found[-1].price_micro_usd == entry.price_micro_usd:
            last = found[-1]
            found[-1] = Level(last.price_micro_usd, last.order_count + 1,
                              last.units + entry.units)
        elif limit is not None and len(found) == limit:
            break
        else:
            found.append(Level(entry.price_micro_usd, 1, entry.units))
    return found


def depth(live: Sequence[Entry], limit: int | None = None) -> Depth:
    """The depth of a book of live entries, both sides."""
    return Depth(levels((e for e in live if e.side is Side.BUY), limit),
                 levels((e for e in live if e.side is Side.SELL), limit))
