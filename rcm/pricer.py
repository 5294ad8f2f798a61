"""What an oracle node reads from the chain: a round's prices, by the market's Ethical Pricing
Function recomputed from its events, and the terms of the future a job redeemed. The shell
composes them because neither `oracle` nor `market` may import the other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chain.errors import ChainError
from oracle.errors import FutureUnreadable, PricingRefused

if TYPE_CHECKING:
    from chain.prices import PriceReport
    from chain.system import System
    from oracle.future import FutureTerms
    from oracle.node.service import Pricer


@dataclass
class ChainReads:
    """Reads over the deployment `system()` returns (connected once, on first use), one at a
    time: an embedded chain is not safe to read from several threads, and every node of a demo
    shares one."""

    system: Callable[[], System]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def price(self, round_id: int, config_digest: bytes) -> PriceReport:
        from market.errors import MarketError
        from market.round_book import read_book
        from market.settlement import price_report

        with self.lock:
            try:
                deployment = self.system()
                return price_report(deployment, read_book(deployment, round_id), config_digest)
            except (MarketError, ChainError) as refused:
                raise PricingRefused(str(refused)) from None

    def future(self, job: str) -> FutureTerms:
        from chain.futures_terms import read_redeemed_future
        from oracle.future import future_terms

        with self.lock:
            try:
                redeemed = read_redeemed_future(self.system(), bytes.fromhex(job[2:]))
            except ChainError as refused:
                raise FutureUnreadable(str(refused)) from None
        if redeemed is None:
            # Every job on chain is a redeemed future: nothing else could use a verdict.
            raise FutureUnreadable(f"{job} is no redeemed future on this chain")
        return future_terms(redeemed)


def chain_pricer(system: Callable[[], System]) -> Pricer:
    return ChainReads(system).price


def rpc_reads(rpc: str) -> ChainReads:
    """A node's reads when it serves on its own, over the deployment at `rpc`."""
    from functools import cache

    from chain.connection import connect
    from chain.system import System

    return ChainReads(cache(lambda: System.load(connect(rpc))))
