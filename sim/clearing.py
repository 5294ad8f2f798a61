"""Clearing a simulated round with `market`'s own winner determination and Ethical Pricing
Function, under the run's knobs of how hard clearing is; the fundamental (an unhurried solve
on true values); and the same bids re-cleared with other solver seeds, to see who wins by luck.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from market.errors import MarketError
from market.model import Market
from market.pricing import price
from market.result import PricedClearing, Status
from market.wdp import SolveParams, clear
from sim.config import RunConfig
from sim.world import CLEARING_TIMESTAMP

FAILED = "failed"


@dataclass(frozen=True)
class Cleared:
    """A round's clearing: None when it failed, with what the market fell back to."""

    priced: PricedClearing | None
    status: str
    seconds: float
    fallback: str | None


def clear_round(market: Market, config: RunConfig) -> Cleared:
    """The round's allocation and prices, or a failed round: a solver that returned no
    allocation in time, or an error from the solver or the pricing, ends the round with no
    futures issued (the fallback a market needs when it cannot clear) rather than the run."""
    started = time.monotonic()
    try:
        clearing = clear(market, CLEARING_TIMESTAMP, solve_params(config, config.solver_seed))
        if clearing.status in (Status.TIME_LIMIT, Status.INFEASIBLE):
            return Cleared(None, FAILED, time.monotonic() - started,
                           f"no futures issued: the winner determination ended "
                           f"{clearing.status} within {config.time_limit} s")
        priced = price(market, clearing, CLEARING_TIMESTAMP)
    except (MarketError, RuntimeError) as error:
        return Cleared(None, FAILED, time.monotonic() - started,
                       f"no futures issued: {error}")
    return Cleared(priced, priced.status, time.monotonic() - started, None)


def fundamental(market: Market, config: RunConfig) -> PricedClearing:
    """The Ethical Pricing Function's prices for an unhurried solve of the users' true values,
    with no shading and no speculators."""
    params = SolveParams(time_limit=config.fundamental_time_limit, workers=1, seed=0,
                         deterministic=config.deterministic)
    clearing = clear(market, CLEARING_TIMESTAMP, params)
    return price(market, clearing, CLEARING_TIMESTAMP)


def lottery_flips(market: Market, config: RunConfig, winners: set[str]) -> int:
    """How many bids win with one of `config.lottery_seeds` other seeds and lose with the
    run's, or the other way round."""
    flipped: set[str] = set()
    for offset in range(1, config.lottery_seeds + 1):
        again = clear(market, CLEARING_TIMESTAMP, solve_params(config, config.solver_seed + offset))
        flipped |= winners ^ {fill.bid for fill in again.allocation}
    return len(flipped)


def solve_params(config: RunConfig, seed: int) -> SolveParams:
    return SolveParams(time_limit=config.time_limit, workers=1, seed=seed,
                       relative_gap=config.relative_gap, greedy=config.solver == "greedy",
                       deterministic=config.deterministic)
