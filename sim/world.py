"""The market's outside world, drawn from a run's seed: each round's jobs with their owners'
true values (as `rcm auction generate` draws them), a demand shock that scales those values,
and providers' capacity, which follows demand with a lag.

The same seed gives the same world whatever the knobs, so cells of a sweep compare markets
that differ by their rules and traders only (common random numbers)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from market.generate import generate_market
from market.model import Ask, Bid, Bundle, Market, ResourceKind
from sim.config import RunConfig

CLEARING_TIMESTAMP = 1_800_000_000  # every round clears then: generate's stale bids are expired
DEMAND_PERSISTENCE = 0.8  # AR(1) coefficient of log demand: shocks last a few rounds


@dataclass(frozen=True)
class Job:
    """What an end user needs: GPUs of one item (its home region, slot and tier) with the power
    and storage that go with them, and what that is worth to it."""

    gpu_item: str
    gpus: int
    value_micro_usd: int


@dataclass(frozen=True)
class Draw:
    """One round: the bids at their true values of the end users who bid at auction and of
    those whose jobs come up after it, the bids whose bundles the speculators bid for, and the
    asks and policy everyone bids under."""

    users: list[Bid]
    late: list[Bid]
    shapes: list[Bid]
    market: Market  # asks and policy, with every user's true bid: the fundamental market
    demand: float
    supply: float


class World:
    """Draws the rounds of one run in order."""

    def __init__(self, config: RunConfig, seed: int) -> None:
        self.config = config
        self.seed = seed
        self.shocks = random.Random(f"{seed}-demand")
        self.log_demand = 0.0
        self.demand = 1.0
        self.supply = 1.0
        self.speculators = round(config.speculator_share * config.bids_per_round)
        users = config.bids_per_round - self.speculators
        self.bidders = users - round(config.late_user_share * users)

    def next_round(self, number: int) -> Draw:
        config = self.config
        # providers add capacity toward last round's demand, at `supply_response` per round
        self.supply += config.supply_response * (self.demand - self.supply)
        self.log_demand = (DEMAND_PERSISTENCE * self.log_demand
                           + self.shocks.gauss(0.0, config.demand_volatility))
        self.demand = math.exp(self.log_demand)
        generated = generate_market(config.bids_per_round, config.regions, config.slots,
                                    seed=self.seed * 100_003 + number)
        bids = [_scaled(bid, self.demand) for bid in generated.bids]
        users = bids[:len(bids) - self.speculators]
        asks = [_grown(ask, self.supply) for ask in generated.asks]
        market = generated.model_copy(update={"bids": users, "asks": asks})
        return Draw(users[:self.bidders], users[self.bidders:], bids[len(users):], market,
                    self.demand, self.supply)


def job_of(bid: Bid, market: Market) -> Job:
    """The job behind a generated bid: its first bundle is the home region and slot."""
    home = bid.bundles[0]
    gpu_item = next(item for item in home.items
                    if market.item_by_id[item].kind is ResourceKind.GPU)
    return Job(gpu_item, home.items[gpu_item], home.value)


def _scaled(bid: Bid, demand: float) -> Bid:
    return bid.model_copy(update={"bundles": [
        Bundle(items=bundle.items, value=round(bundle.value * demand))
        for bundle in bid.bundles]})


def _grown(ask: Ask, supply: float) -> Ask:
    return ask.model_copy(update={"capacity": max(1, round(ask.capacity * supply))})
