"""Follows a deployment's events into the store, from its deploy block to the chain's head.

Each block's rows and the block number reached are written in one transaction, so a restart
resumes after the last block stored and never writes a block twice. A store of another
deployment, or one ahead of the chain (a dev node reverted or restarted), starts over.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass

from chain.contract import ZERO_ADDRESS, Contract, Event
from chain.erc20 import allowance, balance_of
from chain.events import emitted_between
from chain.rpc import quantity
from chain.system import System
from service.handlers import HANDLERS, BlockContext
from service.store import Deployment, meta_int, open_for, set_meta

BLOCKS_PER_QUERY = 2_000


@dataclass(frozen=True)
class Progress:
    """What one `sync` did: the blocks it covered and the events it stored."""

    first_block: int
    last_block: int
    events: int
    started_over: bool


class Indexer:
    """Writes through its own connection; `lock` is held for each block's transaction, and by
    whoever adds an account to follow, so that the two never miss each other's rows."""

    def __init__(self, system: System, connection: sqlite3.Connection) -> None:
        self.system = system
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
        """Indexes every block up to the chain's head."""
        head = self.system.chain.block_number()
        started_over = False
        if head < self.last_block or not self._on_chain():
            with self.lock:
                open_for(self.db, self.deployment, start_over=True)
            started_over = True
        first, stored = self.last_block + 1, 0
        while self.last_block < head:
            start = self.last_block + 1
            end = min(head, start + BLOCKS_PER_QUERY - 1)
            stored += self._index(start, end)
        return Progress(first, head, stored, started_over)

    def _on_chain(self) -> bool:
        """Whether the last block stored is still the chain's block of that number: not so
        after a reorg, or a dev node reverted and mined again."""
        stored = self.db.execute("SELECT value FROM meta WHERE key = 'last_block_hash'"
                                 ).fetchone()
        return stored is None or self._hash_of(self.last_block).hex() == stored[0]

    def _hash_of(self, number: int) -> bytes:
        return bytes.fromhex(self.system.chain.client.block(number)["hash"][2:])

    def _index(self, start: int, end: int) -> int:
        contracts = list(dict.fromkeys(self.roles.values()))
        by_block: dict[int, list[tuple[Contract, Event]]] = defaultdict(list)
        for contract, event in emitted_between(self.system, contracts, start, end):
            by_block[event.block_number].append((contract, event))
        numbers = sorted({*by_block, end})
        headers = self.system.chain.client.batch(
            [("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        for number, header in zip(numbers, headers, strict=True):
            with self.lock:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    context = BlockContext(self.system, number, quantity(header["timestamp"]))
                    self._block(context, by_block.get(number, []))
                    set_meta(self.db, "last_block", number)
                    set_meta(self.db, "head_timestamp", context.timestamp)
                    self.db.execute("INSERT OR REPLACE INTO meta VALUES ('last_block_hash', ?)",
                                    (header["hash"].removeprefix("0x"),))
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
        return sum(len(found) for found in by_block.values())

    def _block(self, context: BlockContext, found: list[tuple[Contract, Event]]) -> None:
        for contract, event in found:
            for role, target in self.roles.items():
                handler = HANDLERS.get((role, event.name))
                if target.address == contract.address and handler is not None:
                    handler(self.db, event, context)
        self._refresh_funds(context)

    def _refresh_funds(self, block: BlockContext) -> None:
        touched = sorted(block.touched - {ZERO_ADDRESS})
        if not touched:
            return
        marks = ",".join("?" * len(touched))
        followed = [row[0] for row in self.db.execute(
            f"SELECT account FROM funds WHERE account IN ({marks})", touched)]
        for account in followed:
            self._write_funds(account, block.number)

    def _write_funds(self, account: str, block: int) -> None:
        token, exchange = self.system.payment_token, self.system.exchange.address
        self.db.execute("INSERT OR REPLACE INTO funds VALUES (?, ?, ?, ?)",
                        (account, str(balance_of(token, account, block)),
                         str(allowance(token, account, exchange, block)), block))

    def follow_funds(self, account: str) -> None:
        """Keeps `account`'s USD balance and allowance toward the exchange from now on (a
        maker's first buy order): read at the last block stored, then at each block that
        moves them."""
        with self.lock:
            if self.db.execute("SELECT 1 FROM funds WHERE account = ?", (account,)).fetchone():
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self._write_funds(account, self.last_block)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
