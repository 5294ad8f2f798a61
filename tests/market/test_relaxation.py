from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from market.eligibility import screen
from market.model import Market
from market.presolve import Problem, packing_problem
from market.relaxation import relax
from market.wdp import SolveParams, clear

MarketBuilder = Any  # tests/market/conftest.py: build_market


def whole_problem(market: Market) -> Problem:
    return packing_problem(market, screen(market, 0))


def test_clique_cut_closes_the_odd_cycle_the_plain_lp_splits(build_market: MarketBuilder
                                                             ) -> None:
    # three bids pairwise sharing a good: the plain LP takes each by half (15), but at most
    # one of them fits, so the clique x_ab + x_bc + x_ca <= 1 brings the bound to 10
    market = build_market({"ab": [({"a": 1, "b": 1}, 10)], "bc": [({"b": 1, "c": 1}, 10)],
                           "ca": [({"c": 1, "a": 1}, 10)]})
    relaxation = relax(whole_problem(market), seconds=5.0)
    assert relaxation.bound == 10
    assert [sorted(clique) for clique in relaxation.cliques] == [[0, 1, 2]]


def test_lifting_adds_columns_at_zero_that_conflict_with_the_whole_clique(
        build_market: MarketBuilder) -> None:
    # abc conflicts with each of ab, bc, ca: the violated triangle lifts to all four
    market = build_market({"ab": [({"a": 1, "b": 1}, 10)], "bc": [({"b": 1, "c": 1}, 10)],
                           "ca": [({"c": 1, "a": 1}, 10)], "abc": [({"a": 1, "b": 1, "c": 1},
                                                                    1)]})
    relaxation = relax(whole_problem(market), seconds=5.0)
    assert [sorted(clique) for clique in relaxation.cliques] == [[0, 1, 2, 3]]


def test_costlier_supply_steps_enter_the_bound(build_market: MarketBuilder) -> None:
    market = build_market({"x": [({"gpu": 3}, 50)]}, supply={"gpu": [(1, 0), (2, 10)]})
    assert relax(whole_problem(market), seconds=5.0).bound == 50 - 2 * 10


def test_reduced_costs_fix_out_bundles_no_good_allocation_fills(build_market: MarketBuilder
                                                                ) -> None:
    # one good: "best" (10) is the optimum; "poor" (3) filled gives at most 3
    market = build_market({"best": [({"a": 1}, 10)], "poor": [({"a": 1}, 3)]})
    relaxation = relax(whole_problem(market), seconds=5.0)
    assert relaxation.fixed_out(10).tolist() == [1]
    assert relaxation.fixed_out(3).tolist() == []


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.integers(0, 50), min_size=6, max_size=6),
       shapes=st.lists(st.sets(st.sampled_from("abcde"), min_size=1, max_size=3), min_size=6,
                       max_size=6))
def test_relaxation_bound_is_never_below_the_optimum(build_market: MarketBuilder,
                                                     values: list[int],
                                                     shapes: list[set[str]]) -> None:
    market = build_market({f"b{n}": [(dict.fromkeys(shape, 1), value)]
                           for n, (shape, value) in enumerate(zip(shapes, values, strict=True))})
    optimum = clear(market, 0, SolveParams(time_limit=10.0, workers=1)).welfare
    assert relax(whole_problem(market), seconds=5.0).bound >= optimum
