from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from market.eligibility import screen
from market.model import Market
from market.presolve import Column, Problem, Row, packing_problem
from market.relaxation import _ConflictGraph, relax
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
    # three units of one good: the LP fills "a" (5 a unit) and half of "b" (4.5 a unit), so
    # a unit is worth 4.5 and the LP bound is 14.5; the optimum is a and c (11). Filling "d"
    # gives at most 14.5 + 5 - 3 * 4.5 = 6, so no allocation worth 11 fills it.
    market = build_market({"a": [({"g": 2}, 10)], "b": [({"g": 2}, 9)], "c": [({"g": 1}, 1)],
                           "d": [({"g": 3}, 5)]}, capacity={"g": 3})
    relaxation = relax(whole_problem(market), seconds=5.0)
    assert relaxation.bound == 14
    assert relaxation.fixed_out(11).tolist() == [3]
    assert relaxation.fixed_out(6).tolist() == []


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


def test_the_clique_search_finds_a_violated_clique_whose_every_member_has_a_heavier_neighbour(
        ) -> None:
    # p, q, r conflict pairwise (1.08 together); each also conflicts with a private column
    # worth more to the LP (0.6), so a greedy clique from any column takes the private one
    # and stops at 0.96
    members = ["p", "q", "r"]
    rows = [Row(f"{a}{b}", {i: 1, (i + 1) % 3: 1}, 1) for i, (a, b) in
            enumerate(zip(members, members[1:] + members[:1], strict=True))]
    rows += [Row(f"{a}-own", {i: 1, 3 + i: 1}, 1) for i, a in enumerate(members)]
    problem = Problem([Column(bid=j, bundle=0, net=1) for j in range(6)], rows)
    values = np.array([0.36, 0.36, 0.36, 0.6, 0.6, 0.6])
    cliques = _ConflictGraph(problem).violated_cliques(values, deadline=math.inf)
    assert [sorted(clique) for clique in cliques] == [[0, 1, 2]]
