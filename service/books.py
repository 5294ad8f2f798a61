"""The live orders of each (round, item) the relay was asked for, judged once and kept while
nothing that decides them can have changed: no block indexed since, no order's deadline
passed, and every order posted since added as it was taken. Judging 10,000 orders from SQLite
takes ~100 ms; answering from here ~1 ms."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from chain.exchange import Side
from market.book import Depth, Entry, depth, ranked, why_dead
from service import orders

TOP_ORDERS = 20
DEPTH_LEVELS = 50


@dataclass
class Book:
    """One (round, item)'s live orders as of the block `block_hash`, their makers, and until
    when time leaves them all live; `depth`, `top_bids` and `top_asks` are worked out when
    first asked for."""

    block_hash: str
    valid_until: int
    entries: list[Entry]
    makers: dict[bytes, str]
    summary: tuple[Depth, list[Entry], list[Entry]] | None = field(default=None)

    def add(self, entry: Entry, maker: str, deadline: int) -> None:
        self.entries.append(entry)
        self.makers[entry.order_hash] = maker
        self.valid_until = min(self.valid_until, deadline)
        self.summary = None

    def summarised(self) -> tuple[Depth, list[Entry], list[Entry]]:
        """Depth (at most `DEPTH_LEVELS` prices a side) and the best orders of each side."""
        if self.summary is None:
            bids = ranked(e for e in self.entries if e.side is Side.BUY)
            asks = ranked(e for e in self.entries if e.side is Side.SELL)
            self.summary = (depth(bids + asks, DEPTH_LEVELS), bids[:TOP_ORDERS],
                            asks[:TOP_ORDERS])
        return self.summary


class Books:
    def __init__(self) -> None:
        self._books: dict[tuple[int, int], Book] = {}

    def live(self, db: sqlite3.Connection, round_id: int, item: int, now_timestamp: int,
             block_hash: str) -> Book:
        """The (round, item)'s live orders, judged again if the cached ones may be stale: the
        last block indexed is known by its hash, since a reorg replaces a block by another of
        the same number."""
        book = self._books.get((round_id, item))
        if book is None or book.block_hash != block_hash or now_timestamp > book.valid_until:
            book = Book(block_hash, 2**63, [], {})
            for found in orders.listed(db, round_id, item, now_timestamp):
                if why_dead(found.facts, now_timestamp) is None:
                    book.add(found.entry, found.maker, found.deadline)
            self._books[(round_id, item)] = book
        return book

    def posted(self, listed: list[tuple[Entry, str, int]]) -> None:
        """A live order just taken, under each (round, item) it is listed: (entry, maker,
        deadline)."""
        for entry, maker, deadline in listed:
            book = self._books.get((entry.round_id, entry.item))
            if book is not None:
                book.add(entry, maker, deadline)
