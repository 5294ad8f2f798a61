"""The order relay: takes signed orders that could fill now, keeps them, and answers the book
and the trades from the indexer's store. It is a convenience, never an authority: the
exchange checks every fill again.

Every check is made against the store (SQLite, indexed) and the signature recovered in
memory, never by a call to the chain per order; the store is as fresh as the indexer's last
poll (`service.background`). Time-bound facts (expiry, the end of delivery) are judged at
each answer against the later of the clock and the earliest timestamp the next block can have.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from chain.eip712 import Domain
from chain.exchange import (
    MAX_PRICE_MICRO_USD,
    AnyOrder,
    CriteriaOrder,
    OrderStatus,
    Side,
    order_hash,
    signer_of,
)
from market.book import Entry, entries, why_dead
from service import orders
from service.books import Books
from service.errors import DuplicateOrder, OrderNotFound, ServiceError, TooManyOrders
from service.metrics import RelayMetrics
from service.models import (
    BookPublic,
    EntryPublic,
    HealthPublic,
    LevelPublic,
    OrderPublic,
    PostedPublic,
    State,
    TradePublic,
)
from service.store import meta_int
from tokens.trade import OrderFile

MAX_OPEN_PER_MAKER = 1_000
SQLITE_MAX = 2**63 - 1
MAX_TRADES = 100


@dataclass(frozen=True)
class Limits:
    open_per_maker: int = MAX_OPEN_PER_MAKER


class Relay:
    """`db` is the relay's own connection to the indexer's store; `follow_funds` asks the
    indexer to keep a new buy maker's USD if it covers the price (`Indexer.follow_funds`)."""

    def __init__(self, db: sqlite3.Connection, domain: Domain,
                 follow_funds: Callable[[str, int], None], limits: Limits | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.domain = domain
        self.follow_funds = follow_funds
        self.limits = limits or Limits()
        self.clock = clock
        self.metrics = RelayMetrics()
        self.books = Books()

    def now(self) -> int:
        """The moment orders are judged at: the clock, or if later the earliest a fill can
        land, the block after the last one indexed (a dev chain moved forward in time)."""
        return max(int(self.clock()), (meta_int(self.db, "head_timestamp") or 0) + 1)

    # ---- POST /orders ----

    def post(self, file: OrderFile) -> PostedPublic:
        try:
            posted = self._post(file)
        except ServiceError as exc:
            self.metrics.refused.labels(exc.field or "").inc()
            raise
        self.metrics.accepted.inc()
        return posted

    def _post(self, file: OrderFile) -> PostedPublic:
        order = file.order()
        digest = order_hash(self.domain, order)
        signer = signer_of(digest, file.signature_bytes())
        if signer is None:
            raise ServiceError("is not a 65-byte low-s ECDSA signature", field="signature")
        if signer != order.maker:
            raise ServiceError(f"was made by {signer}, not the maker: another key, or another "
                               "exchange's or chain's domain", field="signature")
        if order.price_micro_usd > MAX_PRICE_MICRO_USD:
            raise ServiceError("is beyond what any USD supply pays", field="price_micro_usd")
        if order.counter > SQLITE_MAX:
            raise ServiceError("is not the maker's counter", field="counter")
        if self.db.execute("SELECT 1 FROM orders WHERE order_hash = ?", (digest,)).fetchone():
            raise DuplicateOrder("the relay holds this order already", field="order")
        if order.side is Side.BUY:
            self.follow_funds(order.maker, order.price_micro_usd)
        now = self.now()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            sequence = self._insert(file, order, digest)
            listed = orders.one(self.db, digest, now)
            assert listed is not None
            dead = why_dead(listed.facts, now)
            if dead is not None:
                raise ServiceError(dead.reason, field=dead.field)
            if orders.open_count(self.db, order.maker, now) > self.limits.open_per_maker:
                raise TooManyOrders(f"has {self.limits.open_per_maker} open orders here, the "
                                    "most the relay keeps for one maker", field="maker")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.books.posted([(entry, order.maker, listed.deadline)
                           for entry in self._entries(order, digest, sequence)])
        return PostedPublic(order="0x" + digest.hex(), sequence=sequence)

    def _entries(self, order: AnyOrder, digest: bytes, sequence: int) -> list[Entry]:
        """The order as the book lists it, under each (round, item) it is for."""
        if isinstance(order, CriteriaOrder):
            return [Entry(digest, Side.BUY, order.price_micro_usd, sequence, order.round_id,
                          order.item, order.min_quantity, None)]
        delivered = orders.listings(self.db, order.future_id.to_bytes(32, "big"))
        bundle = {item: units for _, item, units in delivered}
        return entries(digest, order.side, order.price_micro_usd, sequence, delivered[0][0],
                       bundle, order.future_id)

    def _insert(self, file: OrderFile, order: AnyOrder, digest: bytes) -> int:
        criteria = order if isinstance(order, CriteriaOrder) else None
        future = None if file.future is None else bytes.fromhex(file.future[2:])
        cursor = self.db.execute(
            "INSERT INTO orders (order_hash, maker, side, future_id, round_id, item, "
            "min_quantity, price_micro_usd, expires_at, counter, file) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (digest, file.maker, int(Side[file.side.upper()]), future,
             criteria.round_id if criteria else None, criteria.item if criteria else None,
             criteria.min_quantity if criteria else None, file.price_micro_usd,
             # A uint64 expiry may pass SQLite's INTEGER; any beyond it is as good as never.
             min(file.expires_at, SQLITE_MAX), file.counter,
             file.model_dump_json(exclude_none=True)))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    # ---- GET /orders/{hash} ----

    def order(self, hash_or_prefix: str) -> OrderPublic:
        prefix = hash_or_prefix.lower().removeprefix("0x")
        found = orders.by_prefix(self.db, prefix)
        if not found:
            raise OrderNotFound(f"no order 0x{prefix}… here", field="order")
        if len(found) > 1:
            raise ServiceError(f"0x{prefix}… names several orders: give more digits",
                               field="order")
        ((digest, file),) = found
        now = self.now()
        listed = orders.one(self.db, digest, now)
        assert listed is not None
        dead = why_dead(listed.facts, now)
        state: State = "unfillable"
        if dead is None:
            state = "open"
        elif listed.facts.status is OrderStatus.FILLED:
            state = "filled"
        elif listed.facts.status is OrderStatus.CANCELLED:
            state = "cancelled"
        return OrderPublic(order="0x" + digest.hex(), sequence=listed.entry.sequence,
                           state=state,
                           reason=None if dead is None else f"{dead.field}: {dead.reason}",
                           file=OrderFile.model_validate_json(file))

    # ---- GET /book ----

    def book(self, round_id: int, item: int) -> BookPublic:
        if not self.db.execute("SELECT 1 FROM asks WHERE round_id = ? AND item = ?",
                               (round_id, item)).fetchone():
            raise OrderNotFound(f"round {round_id} has no item {item} (or the relay has not "
                                "seen it yet)", field="item")
        started = time.perf_counter()
        now = self.now()
        head = self.db.execute("SELECT value FROM meta WHERE key = 'last_block_hash'").fetchone()
        live = self.books.live(self.db, round_id, item, now, "" if head is None else head[0])
        levels, bids, asks = live.summarised()
        book = BookPublic(
            round=round_id, item=item, timestamp=now, best_bid_micro_usd=levels.best_bid,
            best_ask_micro_usd=levels.best_ask,
            bids=[LevelPublic.of(level) for level in levels.bids],
            asks=[LevelPublic.of(level) for level in levels.asks],
            top_bids=[_entry_public(e, live.makers[e.order_hash]) for e in bids],
            top_asks=[_entry_public(e, live.makers[e.order_hash]) for e in asks])
        self.metrics.book_seconds.observe(time.perf_counter() - started)
        return book

    # ---- GET /trades ----

    def trades(self, round_id: int | None, item: int | None) -> list[TradePublic]:
        query = ("SELECT DISTINCT t.order_hash, t.future_id, t.seller, t.buyer, "
                 "t.price_micro_usd, t.fee_micro_usd, t.block, t.tx, t.timestamp, t.log_index "
                 "FROM trades t")
        where, args = [], []
        if round_id is not None or item is not None:
            query += " JOIN future_items fi ON fi.future_id = t.future_id"
        if round_id is not None:
            where.append("fi.round_id = ?")
            args.append(round_id)
        if item is not None:
            where.append("fi.item = ?")
            args.append(item)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += f" ORDER BY t.block DESC, t.log_index DESC LIMIT {MAX_TRADES}"
        return [TradePublic(order="0x" + bytes(h).hex(), future="0x" + bytes(f).hex(),
                            seller=seller, buyer=buyer, price_micro_usd=price,
                            fee_micro_usd=fee, block=block, tx="0x" + bytes(tx).hex(),
                            timestamp=timestamp)
                for h, f, seller, buyer, price, fee, block, tx, timestamp, _ in
                self.db.execute(query, args)]

    # ---- GET /health ----

    def health(self) -> HealthPublic:
        (count,) = self.db.execute("SELECT COUNT(*) FROM orders").fetchone()
        return HealthPublic(status="ok", chain_id=self.domain.chain_id,
                            exchange=self.domain.verifying_contract,
                            block=meta_int(self.db, "last_block") or 0,
                            timestamp=meta_int(self.db, "head_timestamp") or 0,
                            order_count=count)


def _entry_public(entry: Entry, maker: str) -> EntryPublic:
    return EntryPublic(order="0x" + entry.order_hash.hex(), maker=maker,
                       price_micro_usd=entry.price_micro_usd, quantity_units=entry.units,
                       future=None if entry.future_id is None
                       else f"0x{entry.future_id:064x}")

