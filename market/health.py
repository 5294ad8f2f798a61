"""Measures of how well a market works, as pure functions over its records (the dashboard's
market health view, docs/dashboard.md)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from itertools import pairwise

MIN_VOLATILITY_PRICES = 3
"""Two prices give one return, whose spread is no measure of anything."""


def volatility(prices: Sequence[int]) -> float | None:
    """The sample standard deviation of the log returns between successive positive prices,
    oldest first; None below `MIN_VOLATILITY_PRICES` of them. A price of zero (a round cleared
    at a zero reserve) has no log and is left out."""
    positive = [price for price in prices if price > 0]
    if len(positive) < MIN_VOLATILITY_PRICES:
        return None
    returns = [math.log(later / earlier) for earlier, later in pairwise(positive)]
    return statistics.stdev(returns)
