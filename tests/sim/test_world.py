"""The simulated world: common random numbers across knobs, demand shocks, supply response."""

from __future__ import annotations

import itertools

from sim.config import RunConfig
from sim.world import World, job_of


def test_the_same_seed_draws_the_same_users_and_asks_whatever_the_traders() -> None:
    without = World(RunConfig(bids_per_round=40), 9).next_round(0)
    with_speculators = World(RunConfig(bids_per_round=40, speculator_share=0.25,
                                       time_limit=0.1), 9).next_round(0)
    assert with_speculators.users + with_speculators.late == (without.users + without.late)[:30]
    assert with_speculators.shapes == (without.users + without.late)[30:]
    assert with_speculators.market.asks == without.market.asks


def test_a_share_of_users_comes_up_after_the_auction() -> None:
    draw = World(RunConfig(bids_per_round=50, speculator_share=0.2, late_user_share=0.25),
                 3).next_round(0)
    assert (len(draw.users), len(draw.late), len(draw.shapes)) == (30, 10, 10)
    assert draw.market.bids == draw.users + draw.late


def test_capacity_follows_demand_with_a_lag() -> None:
    world = World(RunConfig(demand_volatility=0.5, supply_response=0.5), 4)
    draws = [world.next_round(number) for number in range(6)]
    assert draws[0].supply == 1.0
    for before, after in itertools.pairwise(draws):
        assert after.supply == before.supply + 0.5 * (before.demand - before.supply)


def test_a_users_job_is_its_home_bundles_gpus() -> None:
    draw = World(RunConfig(bids_per_round=20), 1).next_round(0)
    bid = draw.users[0]
    job = job_of(bid, draw.market)
    assert job.gpu_item.startswith("gpu-")
    assert bid.bundles[0].items[job.gpu_item] == job.gpus
    assert job.value_micro_usd == bid.bundles[0].value
