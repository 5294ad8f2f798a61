"""What lets an oracle node price rounds: the market's Ethical Pricing Function, recomputed from
the chain the node reads. The shell composes it because neither `oracle` nor `market` may import
the other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from chain.errors import ChainError
from oracle.errors import PricingRefused

if TYPE_CHECKING:
    from chain.prices import PriceReport
    from chain.system import System
    from oracle.node.service import Pricer


def chain_pricer(system: Callable[[], System]) -> Pricer:
    """A pricer over the deployment `system()` returns (connected once, on first use). One
    round is priced at a time: an embedded chain is not safe to read from several threads."""
    from market.book import read_book
    from market.errors import MarketError
    from market.settlement import price_report

    lock = threading.Lock()

    def price(round_id: int, config_digest: bytes) -> PriceReport:
        with lock:
            try:
                deployment = system()
                return price_report(deployment, read_book(deployment, round_id), config_digest)
            except (MarketError, ChainError) as refused:
                raise PricingRefused(str(refused)) from None

    return price


def rpc_pricer(rpc: str) -> Pricer:
    """A pricer for a node serving on its own, over the deployment at `rpc`."""
    from functools import cache

    from chain.connection import connect
    from chain.system import System

    return chain_pricer(cache(lambda: System.load(connect(rpc))))
