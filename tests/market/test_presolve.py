from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from market.eligibility import screen
from market.model import EquityClass, Market, Policy, Tier
from market.presolve import (
    Column,
    Presolved,
    Problem,
    Row,
    Step,
    dominance,
    in_smallest_units,
    merge_parallel,
    packing_problem,
    presolve,
)

MarketBuilder = Any  # tests/market/conftest.py: build_market


def presolved(market: Market) -> Presolved:
    return presolve(packing_problem(market, screen(market, 0)))


def bid_ids(market: Market, columns: list[Column]) -> set[str]:
    return {market.bids[column.bid].id for column in columns}


def test_packing_problem_has_a_row_per_limit(build_market: MarketBuilder) -> None:
    policy = Policy(equity_reservation_bps=5_000, tier_risk_caps={Tier.STANDARD: 5},
                    aggregate_risk_cap=9)
    market = build_market({"x": [({"a": 2}, 10), ({"b": 1}, 8)], "y": [({"a": 1}, 4)]},
                          {"a": 2}, policy=policy, supply={"b": [(1, 1), (2, 3)]},
                          equity_class={"x": EquityClass.RESEARCH})
    problem = packing_problem(market, screen(market, 0))
    rows = {row.name: row for row in problem.rows}
    assert set(rows) == {"capacity:a", "unreserved:a", "capacity:b", "unreserved:b",
                         "risk:standard", "risk:aggregate", "xor:0"}
    assert rows["capacity:b"].limit == 1 and [s.units for s in rows["capacity:b"].steps] == [2]
    assert rows["unreserved:a"].terms == {2: 1} and rows["unreserved:a"].limit == 1
    assert rows["xor:0"].is_xor and rows["xor:0"].is_at_most_one
    assert [column.net for column in problem.columns] == [10, 8 - 1, 4]


def test_rows_no_combination_of_bids_can_fill_are_dropped(build_market: MarketBuilder) -> None:
    market = build_market({"x": [({"a": 1}, 5)], "y": [({"a": 1, "b": 1}, 7)]},
                          {"a": 2, "b": 1})
    result = presolved(market)
    assert result.redundant_rows == 2
    assert bid_ids(market, result.free) == {"x", "y"}
    assert result.components == []


def test_an_aggregate_risk_cap_looser_than_its_tiers_splits_the_market(
        build_market: MarketBuilder) -> None:
    # any two of three 2-GPU jobs fit each tier's cap of 4: an aggregate cap of 8 cannot bind,
    # and without it nothing joins the tiers; at 7 it binds and holds them together
    bids = {f"{tier}{n}": [({tier: 2}, 5 + n)] for tier in "ab" for n in range(3)}
    tiers = {"a": Tier.STANDARD, "b": Tier.CERTIFIED}
    capacity = {"a": 10, "b": 10}
    for aggregate, parts in ((8, [["a0", "a1", "a2"], ["b0", "b1", "b2"]]),
                             (7, [["a0", "a1", "a2", "b0", "b1", "b2"]])):
        policy = Policy(tier_risk_caps={Tier.STANDARD: 4, Tier.CERTIFIED: 4},
                        aggregate_risk_cap=aggregate)
        market = build_market(bids, capacity, policy=policy, tiers=tiers)
        result = presolved(market)
        assert [sorted(bid_ids(market, part.columns)) for part in result.components] == parts


def test_two_rows_that_imply_each_other_are_not_both_dropped() -> None:
    # x0 + x1 <= 1 follows from 2 x0 + 3 x1 <= 3 and the other way round: one must stay
    columns = [Column(bid=0, bundle=0, net=5), Column(bid=1, bundle=0, net=5)]
    result = presolve(Problem(columns, [Row("a", {0: 1, 1: 1}, 1), Row("b", {0: 2, 1: 3}, 3)]))
    assert result.free == [columns[0]] and result.components == []


def test_a_bid_taking_one_bundle_does_not_add_up_its_bundles(build_market: MarketBuilder
                                                             ) -> None:
    # x names a in both bundles: capacity 1 never binds, so only the XOR row is left, and
    # under it the first bundle is worth less than the second for the same limits
    market = build_market({"x": [({"a": 1}, 5), ({"a": 1, "b": 1}, 6)]}, {"a": 1, "b": 1})
    result = presolved(market)
    assert (result.redundant_rows, result.dominated) == (3, 1)
    assert [(column.bid, column.bundle) for column in result.free] == [(0, 1)]


def test_a_bundle_with_a_cheaper_subset_elsewhere_is_dominated(build_market: MarketBuilder
                                                               ) -> None:
    market = build_market({"big": [({"a": 1, "b": 1}, 5)], "small": [({"a": 1}, 6)],
                           "other": [({"b": 1}, 1)]})
    result = presolved(market)
    assert result.dominated == 1
    assert bid_ids(market, result.free) == {"small", "other"}


def test_equal_twins_keep_the_first(build_market: MarketBuilder) -> None:
    market = build_market({"first": [({"a": 1}, 5)], "second": [({"a": 1}, 5)]})
    result = presolved(market)
    assert result.dominated == 1
    assert bid_ids(market, result.free) == {"first"}


def test_a_subset_worth_less_dominates_nothing(build_market: MarketBuilder) -> None:
    market = build_market({"big": [({"a": 1, "b": 1}, 9)], "small": [({"a": 1}, 6)],
                           "other": [({"b": 1}, 1)]})
    result = presolved(market)
    assert result.dominated == 0
    assert [len(part.columns) for part in result.components] == [3]


def test_an_xor_sibling_is_not_dominated_by_another_bids_subset(build_market: MarketBuilder
                                                                ) -> None:
    market = build_market({"x": [({"a": 1, "b": 1}, 5), ({"c": 1}, 1)],
                           "y": [({"a": 1}, 6), ({"c": 1}, 2)]})
    assert presolved(market).dominated == 0


def whole_problem(market: Market) -> Problem:
    return packing_problem(market, screen(market, 0))


def test_a_job_wanting_less_for_more_dominates_across_bids(build_market: MarketBuilder
                                                           ) -> None:
    # "small" takes 2 of 4 GPUs for 12, "big" 3 for 10: "big" only if "small" is filled
    market = build_market({"big": [({"gpu": 3}, 10)], "small": [({"gpu": 2}, 12)]},
                          capacity={"gpu": 4})
    assert dominance(whole_problem(market)) == [(0, 1)]


def test_dominance_needs_no_more_of_every_limit(build_market: MarketBuilder) -> None:
    # "wide" is worth more and takes less gpu, but also takes disk that "narrow" leaves
    market = build_market({"narrow": [({"gpu": 3}, 10)], "wide": [({"gpu": 2, "disk": 1}, 12)]},
                          capacity={"gpu": 4, "disk": 1})
    assert dominance(whole_problem(market)) == []


def test_look_alike_jobs_dominate_in_one_direction_only(build_market: MarketBuilder) -> None:
    market = build_market({"first": [({"gpu": 2}, 7)], "second": [({"gpu": 2}, 7)],
                           "third": [({"gpu": 2}, 7)]}, capacity={"gpu": 4})
    assert sorted(dominance(whole_problem(market))) == [(1, 0), (2, 0), (2, 1)]


def test_bundles_of_one_bid_never_dominate_each_other(build_market: MarketBuilder) -> None:
    market = build_market({"x": [({"gpu": 3}, 10), ({"gpu": 2}, 12)]}, capacity={"gpu": 4})
    assert dominance(whole_problem(market)) == []


def test_independent_components_are_solved_apart(build_market: MarketBuilder) -> None:
    market = build_market({"p": [({"a": 1, "d": 1}, 5)], "q": [({"a": 1}, 4)],
                           "u": [({"d": 1}, 3)], "r": [({"b": 1, "c": 1}, 5)],
                           "s": [({"c": 1}, 2)], "t": [({"b": 1}, 4)], "v": [({"e": 1}, 1)]})
    result = presolved(market)
    assert bid_ids(market, result.free) == {"v"}
    parts = result.components
    assert [sorted(bid_ids(market, part.columns)) for part in parts] == [
        ["p", "q", "u"], ["r", "s", "t"]]
    assert all(set(row.terms) <= set(range(len(part.columns)))
               for part in parts for row in part.rows)


def test_at_most_one_needs_every_pair_to_overflow() -> None:
    assert Row("r", {0: 3, 1: 3, 2: 4}, 5).is_at_most_one
    assert not Row("r", {0: 2, 1: 3, 2: 4}, 5).is_at_most_one
    assert not Row("r", {0: 3, 1: 3}, 5, steps=(Step(premium=1, units=2),)).is_at_most_one
    assert not Row("r", {0: 3}, 2).is_at_most_one


def test_presolve_of_an_empty_problem_is_empty() -> None:
    result = presolve(Problem([], []))
    assert (result.free, result.components, result.dominated) == ([], [], 0)


def test_a_row_in_smallest_units_rounds_its_limit_down() -> None:
    # 8-GPU nodes against 100 GPUs: at most 12 nodes, not 12.5
    row = in_smallest_units(Row("gpu", {0: 8, 1: 16, 2: 32}, 100))
    assert (row.terms, row.limit, row.steps) == ({0: 1, 1: 2, 2: 4}, 12, ())


def test_a_unit_straddling_a_step_costs_the_premiums_it_spans() -> None:
    # 13 free units, then 20 at 3 each: node 2 (units 9-16) pays for 3 of its units
    row = in_smallest_units(Row("gpu", {0: 8, 1: 16}, 13, steps=(Step(premium=3, units=20),)))
    assert (row.terms, row.limit) == ({0: 1, 1: 2}, 1)
    assert row.steps == (Step(premium=9, units=1), Step(premium=24, units=2))


@given(limit=st.integers(0, 40), steps=st.lists(st.tuples(st.integers(1, 9), st.integers(1, 30)),
                                                max_size=3),
       scale=st.integers(1, 9))
def test_a_row_in_smallest_units_costs_the_same_at_every_whole_use(
        limit: int, steps: list[tuple[int, int]], scale: int) -> None:
    ordered = tuple(Step(premium, units) for premium, units in sorted(steps))
    row = Row("r", {0: scale, 1: 2 * scale}, limit, ordered)
    small = in_smallest_units(row)
    assert small.capacity == row.capacity // scale
    for used in range(small.capacity + 1):
        assert small.premium(0, used) == row.premium(0, used * scale)


def test_parallel_rows_merge_into_the_tighter_supply_with_both_premiums() -> None:
    # GPUs (8 per node) and the power they draw (10 kW per node) limit the same jobs
    gpus = in_smallest_units(Row("gpu", {0: 8, 1: 16}, 80, steps=(Step(2, 40),)))
    power = in_smallest_units(Row("power", {0: 10, 1: 20}, 60, steps=(Step(1, 100),)))
    (merged,) = merge_parallel([gpus, power])
    assert merged.terms == {0: 1, 1: 2} and merged.capacity == 15
    for used in range(merged.capacity + 1):
        assert merged.premium(0, used) == gpus.premium(0, used) + power.premium(0, used)


def test_xor_rows_are_never_merged() -> None:
    xor = Row("xor:0", {0: 1, 1: 1}, 1, is_xor=True)
    capacity = Row("capacity:a", {0: 1, 1: 1}, 1)
    assert merge_parallel([xor, capacity]) == [capacity, xor]


def test_presolve_counts_the_limits_it_merged(build_market: MarketBuilder) -> None:
    market = build_market({"x": [({"a": 2, "b": 2}, 5)], "y": [({"a": 4, "b": 4}, 6)]},
                          capacity={"a": 5, "b": 7})
    result = presolved(market)
    # a and b as one row of 2-unit lots, 2 of them: x (1 lot) and y (2) never fit together
    assert (result.merged_rows, result.dominated) == (1, 1)
    assert bid_ids(market, result.free) == {"y"}
