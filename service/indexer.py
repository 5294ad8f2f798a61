"""Follows a deployment's events into the store, from its deploy block to the chain's head.

Whole blocks' rows and the block number reached are written in one transaction (a span of up
to `BLOCKS_PER_TRANSACTION` blocks), so a restart resumes after the last block stored and never
writes a block twice. It stays `confirmations` blocks behind the chain's head, so a reorg no
deeper than that never reaches the index. A store of another deployment, or one ahead of the
chain (a dev node reverted or restarted), starts over.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from chain.contract import ZERO_ADDRESS, Contract, Event
from chain.errors import ChainError
from chain.events import emitted_between
from chain.rpc import data_of, quantity
from chain.system import System
from service.handlers import HANDLERS, BlockContext
from service.store import Deployment, meta_int, open_for, set_meta

BLOCKS_PER_QUERY = 2_000
# Blocks written per transaction. The followed makers' USD is read once per transaction, at its
# last block, since only that value is ever seen: one read per block that touched a maker was
# four fifths of a first sync at 2 events a block (benchmarks/indexer.py). The relay's writes
# (a posted order, a maker followed) wait for the transaction, so it stays short.
BLOCKS_PER_TRANSACTION = 100


@dataclass(frozen=True)
class Progress:
    """What one `sync` did: the blocks it covered and the events it stored."""

    first_block: int
    last_block: int
    events: int
    started_over: bool


class Indexer:
    """Writes through its own connection; `lock` is held for each span's transaction, and by
    whoever adds an account to follow, so that the two never miss each other's rows."""

    def __init__(self, system: System, connection: sqlite3.Connection,
                 confirmations: int = 0) -> None:
        self.system = system
        self.confirmations = confirmations
        self.db = connection
        self.lock = threading.Lock()
        self.roles = {role: getattr(system, role) for role, _ in HANDLERS}
        self.deployment = self._deployment()
        self.started_over = open_for(self.db, self.deployment)

    def _deployment(self) -> Deployment:
        chain, manifest = self.system.chain, self.system.manifest
        block = chain.client.block(manifest.deploy_block)
        return Deployment(chain.chain_id, manifest.deploy_block, bytes.fromhex(block["hash"][2:]),
                          self.system.exchange.address)

    @property
    def last_block(self) -> int:
        """The last block stored; the block before the deployment before any."""
        stored = meta_int(self.db, "last_block")
        return self.deployment.deploy_block - 1 if stored is None else stored

    def sync(self) -> Progress:
        """Indexes every block up to the chain's head less `confirmations`."""
        chain_head = self.system.chain.block_number()
        started_over = False
        if chain_head < self.last_block or not self._on_chain():
            with self.lock:
                open_for(self.db, self.deployment, start_over=True)
                # The followed makers' USD was read in blocks the chain dropped: read it again
                # once caught up, unless a block of the new branch moves it first.
                self.db.execute("UPDATE funds SET block = -1")
            started_over = True
        first, stored = self.last_block + 1, 0
        head = chain_head - self.confirmations
        while self.last_block < head:
            start = self.last_block + 1
            stored += self._index(start, min(head, start + BLOCKS_PER_QUERY - 1))
        self._reread_funds()
        return Progress(first, self.last_block, stored, started_over)

    def _on_chain(self) -> bool:
        """Whether the last block stored is still the chain's block of that number: not so
        after a reorg, or a dev node reverted and mined again."""
        stored = self.db.execute("SELECT value FROM meta WHERE key = 'last_block_hash'"
                                 ).fetchone()
        return stored is None or self._hash_of(self.last_block).hex() == stored[0]

    def _hash_of(self, number: int) -> bytes:
        return bytes.fromhex(self._header(number)["hash"][2:])

    def _emitted(self, start: int, end: int) -> tuple[list[tuple[Contract, Event]], int, str]:
        """The events of blocks `start` to `end`, or of the widest span from `start` the node
        answers, that span's last block, and its hash read just before the events. Nodes cap a
        log query's answer (10,000 logs or a few MB), and anyone can fill a span with
        zero-value payment-token transfers: without halving, the index would stop there for
        good."""
        contracts = list(dict.fromkeys(self.roles.values()))
        while True:
            anchor = self._header(end)["hash"]
            try:
                return emitted_between(self.system, contracts, start, end), end, anchor
            except ChainError:
                if end == start:
                    raise
                end = start + (end - start) // 2

    def _header(self, number: int) -> dict[str, Any]:
        found = self.system.chain.client.request("eth_getBlockByNumber", [hex(number), False])
        if found is None:
            raise ChainError(f"block {number} is gone: the chain reorganised", field="rpc")
        return dict(found)

    def _index(self, start: int, end: int) -> int:
        by_block: dict[int, list[tuple[Contract, Event]]] = defaultdict(list)
        found, end, anchor = self._emitted(start, end)
        for contract, event in found:
            by_block[event.block_number].append((contract, event))
        spans = [(first, min(end, first + BLOCKS_PER_TRANSACTION - 1))
                 for first in range(start, end + 1, BLOCKS_PER_TRANSACTION)]
        numbers = sorted({*by_block, start, *(last for _, last in spans)})
        headers = dict(zip(numbers, self.system.chain.client.batch(
            [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]), strict=True))
        # The logs are of the blocks these headers name only if the span's last block is the
        # one read before them (a hash seals every block before it), and the span follows the
        # last block stored: else a fill a reorg dropped would be stored under the new block's
        # hash, and pass every later check.
        stored = self.db.execute("SELECT value FROM meta WHERE key = 'last_block_hash'"
                                 ).fetchone()
        if (None in headers.values() or headers[end]["hash"] != anchor
                or (stored is not None and headers[start]["parentHash"] != "0x" + stored[0])):
            raise ChainError(f"the chain reorganised while blocks {start} to {end} were read; "
                             "they are read again at the next sync", field="rpc")
        for first, last in spans:
            self._store(first, last, by_block, headers)
        return sum(len(found) for found in by_block.values())

    def _store(self, first: int, last: int,
               by_block: dict[int, list[tuple[Contract, Event]]],
               headers: dict[int, dict[str, Any]]) -> None:
        """Writes blocks `first` to `last` and the block reached in one transaction."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                touched: set[str] = set()
                for number in sorted(n for n in by_block if first <= n <= last):
                    context = BlockContext(self.system, number,
                                           quantity(headers[number]["timestamp"]))
                    self._block(context, by_block[number])
                    touched |= context.touched
                self._refresh_funds(touched, last)
                set_meta(self.db, "last_block", last)
                set_meta(self.db, "head_timestamp", quantity(headers[last]["timestamp"]))
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('last_block_hash', ?)",
                                (headers[last]["hash"].removeprefix("0x"),))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def _block(self, context: BlockContext, found: list[tuple[Contract, Event]]) -> None:
        for contract, event in found:
            for role, target in self.roles.items():
                handler = HANDLERS.get((role, event.name))
                if target.address == contract.address and handler is not None:
                    handler(self.db, event, context)

    def _refresh_funds(self, touched: set[str], block: int) -> None:
        """Reads again, at `block`, the USD of the followed accounts among `touched`."""
        accounts = sorted(touched - {ZERO_ADDRESS})
        if not accounts:
            return
        marks = ",".join("?" * len(accounts))
        followed = [row[0] for row in self.db.execute(
            f"SELECT account FROM funds WHERE account IN ({marks})", accounts)]
        for account, funds in zip(followed, self._read_funds(followed, block), strict=True):
            self._write_funds(account, block, funds)

    def _read_funds(self, accounts: list[str], block: int) -> list[tuple[int, int]]:
        """Each account's USD balance and allowance toward the exchange at `block`, in one
        round trip: two calls apiece were four fifths of a sync's time on a Hardhat node
        (benchmarks/indexer.py)."""
        if not accounts:
            return []
        token, exchange = self.system.payment_token, self.system.exchange.address
        calls = [call for account in accounts for call in (
            token.functions.balanceOf(account), token.functions.allowance(account, exchange))]
        answers = [data_of(answer) for answer in self.system.chain.client.batch(
            [("eth_call", [{"to": call.address, "data": "0x" + call.data.hex()}, hex(block)])
             for call in calls])]
        if any(len(answer) != 32 for answer in answers):
            raise ChainError(f"the payment token {token.address} answered no uint256 at block "
                             f"{block}: is it deployed there?", field="rpc")
        amounts = [int.from_bytes(answer, "big") for answer in answers]
        return list(zip(amounts[::2], amounts[1::2], strict=True))

    def _write_funds(self, account: str, block: int, funds: tuple[int, int]) -> None:
        balance, allowed = funds
        self.db.execute("INSERT OR REPLACE INTO funds VALUES (?, ?, ?, ?)",
                        (account, str(balance), str(allowed), block))

    def _reread_funds(self) -> None:
        """Reads again, at the last block stored, the USD of makers read in dropped blocks."""
        with self.lock:
            stale = [row[0] for row in self.db.execute(
                "SELECT account FROM funds WHERE block < 0").fetchall()]
            for account, funds in zip(stale, self._read_funds(stale, self.last_block),
                                      strict=True):
                self._write_funds(account, self.last_block, funds)

    def follow_funds(self, account: str, price_micro_usd: int) -> None:
        """Keeps `account`'s USD balance and allowance toward the exchange from now on (a
        maker's first buy order it can pay): read at the last block stored, then at the last
        block of each transaction whose blocks move them. An account short of the price is not
        followed: keys cost nothing, and each account followed costs two calls at every
        transaction that touches it, for good."""
        with self.lock:
            if self.db.execute("SELECT 1 FROM funds WHERE account = ?", (account,)).fetchone():
                return
            (funds,) = self._read_funds([account], self.last_block)
            if min(funds) < price_micro_usd:
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self._write_funds(account, self.last_block, funds)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
