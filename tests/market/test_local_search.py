from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from market.eligibility import Usage, screen
from market.local_search import _RETURN, _Search, iterated_local_search
from market.model import Market
from market.presolve import Problem, packing_problem
from market.result import LossReason, Status
from market.wdp import SolveParams, clear, welfare_of
from tests.market.test_wdp import random_markets

MarketBuilder = Any  # tests/market/conftest.py: build_market

NOW = 1_800_000_000
ITERATIONS = 200


def searched(market: Market, seed: int = 0, iterations: int = ITERATIONS
             ) -> tuple[dict[int, int], int]:
    """The local search's allocation (bid index -> bundle index) and the welfare it claims."""
    problem = problem_of(market)
    packing = iterated_local_search(problem, seed, iterations)
    filled = {problem.columns[j].bid: problem.columns[j].bundle for j in packing.columns}
    assert len(filled) == len(packing.columns)  # never two bundles of one bid
    return filled, packing.welfare


def problem_of(market: Market) -> Problem:
    return packing_problem(market, screen(market, NOW))


def assert_feasible(market: Market, filled: dict[int, int]) -> None:
    """Each filled bundle passes the screening and fits beside the ones before it; only a
    bundle's own reserve cost may exceed its value, which welfare then pays for."""
    eligible = screen(market, NOW).eligible
    usage = Usage(market)
    for index, number in filled.items():
        assert number in eligible[index]
        bid = market.bids[index]
        loss = usage.loss(bid, number)
        assert loss is None or loss.reason is LossReason.BELOW_RESERVE, loss
        usage.add(bid, bid.bundles[number])


def test_local_search_swaps_one_bundle_for_the_two_it_blocks(build_market: MarketBuilder
                                                             ) -> None:
    # filled by value density the big bundle comes first (10 over two items against 6 over
    # one); only the (1,2)-swap reaches left + right = 12
    market = build_market({"big": [({"a": 1, "b": 1}, 11)],
                           "left": [({"a": 1}, 6)], "right": [({"b": 1}, 6)]})
    filled, welfare = searched(market)
    assert {market.bids[index].id for index in filled} == {"left", "right"}
    assert welfare == 12


def test_local_search_fills_several_units_of_one_item(build_market: MarketBuilder) -> None:
    # 5 GPUs: x (3) + y (2) = 17 beats z (4) alone = 15, which greedy by value takes first
    market = build_market({"x": [({"gpu": 3}, 9)], "y": [({"gpu": 2}, 8)],
                           "z": [({"gpu": 4}, 15)]}, {"gpu": 5})
    filled, welfare = searched(market)
    assert {market.bids[index].id for index in filled} == {"x", "y"}
    assert welfare == 17


def test_local_search_pays_for_dearer_supply_only_when_worth_it(build_market: MarketBuilder
                                                                ) -> None:
    # as test_wdp's: y's unit would come from the 30 ask, worth 25 - 30 < 0
    market = build_market({"x": [({"gpu": 2}, 50)], "y": [({"gpu": 1}, 25)]},
                          supply={"gpu": [(2, 10), (2, 30)]})
    filled, welfare = searched(market)
    assert {market.bids[index].id for index in filled} == {"x"}
    assert welfare == 30


@settings(max_examples=60, deadline=None)
@given(arguments=random_markets())
def test_local_search_is_feasible_and_its_welfare_exact(build_market: MarketBuilder,
                                                        arguments: dict[str, Any]) -> None:
    market = build_market(**arguments)
    filled, welfare = searched(market, iterations=_RETURN + ITERATIONS)  # returns to the best
    assert_feasible(market, filled)
    assert welfare == welfare_of(market, filled)


@settings(max_examples=30, deadline=None)
@given(arguments=random_markets())
def test_local_search_finds_the_optimum_cp_sat_proves(build_market: MarketBuilder,
                                                      arguments: dict[str, Any]) -> None:
    market = build_market(**arguments)
    proven = clear(market, NOW, SolveParams(time_limit=10.0, workers=1, seed=0))
    assert proven.status is Status.OPTIMAL
    assert searched(market)[1] == proven.welfare


def test_local_search_is_deterministic_for_a_seed(build_market: MarketBuilder) -> None:
    bids = {f"b{n}": [({"a": 1 + n % 2, "b": 1}, 7 + 3 * n % 5), ({"c": 1 + n % 3}, 5 + n % 4)]
            for n in range(12)}
    market = build_market(bids, {"a": 4, "b": 3, "c": 5})
    assert searched(market, seed=3) == searched(market, seed=3)


@st.composite
def one_unit_markets(draw: st.DrawFn) -> dict[str, Any]:
    """build_market arguments as CATS's: bids of one to three bundles, each of up to three
    one-unit items of six."""
    names = "abcdef"
    return {"bids": {f"b{number}": [
        ({name: 1 for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3,
                                            unique=True))}, draw(st.integers(0, 40)))
        for _ in range(draw(st.integers(1, 3)))] for number in range(draw(st.integers(1, 8)))}}


# property tests over any packing of a random market and seed: CATS-like or compute
on_random_packings = given(arguments=st.one_of(one_unit_markets(), random_markets()),
                           seed=st.integers(0, 9))


@settings(max_examples=60, deadline=None)
@on_random_packings
def test_rows_of_one_take_the_evictions_the_general_rule_takes(
        build_market: MarketBuilder, arguments: dict[str, Any], seed: int) -> None:
    # a bundle whose every row holds at most one filled bundle (an XOR, a one-unit item) takes
    # the short way in evictions and _fits; on any packing, after fills and empties, it must
    # choose what the long one does
    problem = problem_of(build_market(**arguments))
    short = _Search(problem, random.Random(seed))
    general = _Search(problem, random.Random(seed))
    general.exclusive_rows = [None] * len(problem.columns)
    order = list(range(len(problem.columns)))
    random.Random(seed).shuffle(order)
    for j in general.fill(order):
        short.add(j)
    for j in sorted(general.chosen)[::2]:  # emptied again: what held them must be free
        general.remove(j)
        short.remove(j)
    for j in set(order) - general.chosen:
        assert short._fits(j) == general._fits(j)
        for worth in (problem.columns[j].net, float("inf")):
            assert _sorted(short.evictions(j, worth)) == _sorted(general.evictions(j, worth))


@settings(max_examples=60, deadline=None)
@on_random_packings
def test_going_back_to_a_packing_restores_all_its_bookkeeping(
        build_market: MarketBuilder, arguments: dict[str, Any], seed: int) -> None:
    problem = problem_of(build_market(**arguments))
    search = _Search(problem, random.Random(seed))
    search.descend(search.by_density())
    saved = _state(search)
    for _ in range(3):
        if len(search.chosen) < len(problem.columns):
            search.force(search.pick())
    search.restore(sorted(saved[0]))
    assert _state(search) == saved


def _state(search: _Search) -> tuple[set[int], list[int], list[set[int]], int]:
    return set(search.chosen), list(search.used), [set(m) for m in search.members], search.welfare


def _sorted(columns: list[int] | None) -> list[int] | None:
    return None if columns is None else sorted(columns)
