from __future__ import annotations

import itertools
import random
import re
import signal
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market import portfolio, wdp
from market.generate import generate_market
from market.local_search_process import search_beside
from market.portfolio import Race, breach
from market.presolve import Column, Problem, Row, Step
from market.result import Status
from market.wdp import SolveParams, clear, objective, welfare_of
from market.wdp import solve as solve_alone

NOW = 1_800_000_000
CENT_MICRO_USD = 10_000


def indices(problem: Problem, columns: list[Column]) -> list[int]:
    return [problem.columns.index(column) for column in columns]


def conflict_problem(seed: int, bids: int, goods: int) -> Problem:
    """Single-bundle bids for 3-6 of `goods` goods of one unit each, in the manner of CATS
    "arbitrary", values whole cents so that progress lines in USD are exact."""
    rng = random.Random(seed)
    wanted = [rng.sample(range(goods), rng.randint(3, 6)) for _ in range(bids)]
    columns = [Column(j, 0, rng.randint(1_000, 10_000) * CENT_MICRO_USD) for j in range(bids)]
    rows = [Row(f"capacity:g{good}", {j: 1 for j in range(bids) if good in wanted[j]}, 1)
            for good in range(goods)]
    return Problem(columns, [row for row in rows if len(row.terms) > 1])


def far_problem(seed: int, bids: int, goods: int) -> Problem:
    """Single-bundle bids for 2-10 of `goods` goods, worth a little more per good the bigger
    the bundle (as complementarity makes CATS "arbitrary" bundles): the LP fills halves of
    many bundles, its bound far above any packing (0.35 above the hint for seed 3, 400 bids,
    100 goods), so no solver proves it in seconds."""
    rng = random.Random(seed)
    wanted = [rng.sample(range(goods), rng.randint(2, 10)) for _ in range(bids)]
    columns = [Column(j, 0, round(len(wanted[j]) ** 1.2 * rng.randint(1_000, 1_200))
                      * CENT_MICRO_USD) for j in range(bids)]
    rows = [Row(f"capacity:g{good}", {j: 1 for j in range(bids) if good in wanted[j]}, 1)
            for good in range(goods)]
    return Problem(columns, [row for row in rows if len(row.terms) > 1])


def test_race_keeps_the_better_allocation_whoever_offers_it_first() -> None:
    problem = Problem([Column(0, 0, 5), Column(1, 0, 3), Column(2, 0, 4)],
                      [Row("capacity:a", {0: 1, 1: 1}, 1), Row("capacity:b", {0: 1, 2: 1}, 1)])
    race = Race(problem, lambda _message: None)
    race.offer("CP-SAT", [1, 2])
    race.offer("HiGHS", [0])
    assert (race.best, race.value, race.leader) == ([1, 2], 7, "CP-SAT")


def test_race_discards_an_allocation_that_breaks_a_row_and_says_so() -> None:
    # two units of supply, one more at a premium: three units fit, four break the row
    problem = Problem([Column(j, 0, 10) for j in range(4)],
                      [Row("capacity:gpu", dict.fromkeys(range(4), 1), 2, (Step(3, 1),))])
    said: list[str] = []
    race = Race(problem, said.append)
    race.offer("HiGHS", [0, 1, 2, 3])
    race.offer("CP-SAT", [0, 0])  # one bundle twice
    assert (race.best, race.value) == ([], 0)
    assert said == ["HiGHS: allocation breaks limit capacity:gpu, discarded",
                    "CP-SAT: allocation breaks limit capacity:gpu, discarded"]
    race.offer("CP-SAT", [0, 1, 2])
    assert (race.best, race.value) == ([0, 1, 2], 27)


def test_race_is_over_and_stops_every_member_once_an_allocation_meets_a_bound() -> None:
    problem = Problem([Column(0, 0, 5), Column(1, 0, 3)], [Row("capacity:a", {0: 1, 1: 1}, 1)])
    stopped: list[str] = []
    race = Race(problem, lambda _message: None)
    race.enter(lambda: stopped.append("CP-SAT"))
    race.offer("HiGHS", [1])
    race.tighten(5)  # one member's bound against the other's allocation: not yet
    assert not race.over and stopped == []
    race.offer("HiGHS", [0])
    assert race.over and stopped == ["CP-SAT"]
    assert race.outcome().status is Status.OPTIMAL
    race.enter(lambda: stopped.append("late"))  # a member entering after the end stops at once
    assert stopped == ["CP-SAT", "late"]


@pytest.mark.parametrize(("problem", "member"), [
    (conflict_problem(seed=3, bids=400, goods=60), "HiGHS"),
    (far_problem(seed=3, bids=400, goods=100), "local search"),  # HiGHS recalled
])
def test_portfolio_returns_the_best_allocation_any_member_reported(problem: Problem,
                                                                   member: str) -> None:
    said: list[str] = []
    params = SolveParams(time_limit=4.0, workers=2, seed=0, portfolio=True)
    outcome = portfolio.solve(problem, params, 4.0, said.append)
    chosen = indices(problem, outcome.columns)
    assert breach(problem, chosen) is None
    reported = [round(float(amount.replace(",", "")) * 1_000_000)
                for line in said if not line.startswith("portfolio: ")  # the verdict itself
                for amount in re.findall(r"allocation ([\d,.]+) USD", line)]
    assert any(line.startswith(f"{member}: allocation ") for line in said)
    assert objective(problem, chosen) == max(reported)
    assert outcome.bound >= objective(problem, chosen)


def test_portfolio_proves_what_cp_sat_alone_proves() -> None:
    problem = conflict_problem(seed=5, bids=250, goods=80)
    params = SolveParams(time_limit=10.0, workers=2, seed=0)
    alone = solve_alone(problem, params, 10.0, lambda _message: None)
    raced = portfolio.solve(problem, params, 10.0, lambda _message: None)
    assert alone.status is raced.status is Status.OPTIMAL
    assert objective(problem, indices(problem, raced.columns)) == alone.bound == raced.bound


def test_cp_sat_starts_from_a_rival_s_allocation_where_it_beats_rcm_s_hint() -> None:
    problem = conflict_problem(seed=3, bids=300, goods=100)  # hint 8 % below the LP bound
    longer = solve_alone(problem, SolveParams(time_limit=4.0, workers=2, seed=0), 4.0,
                         lambda _message: None)
    better = indices(problem, longer.columns)
    race = Race(problem, lambda _message: None)
    race.offer("HiGHS", better)
    said: list[str] = []
    outcome = solve_alone(problem, SolveParams(time_limit=2.0, workers=2, seed=0), 2.0,
                          said.append, race)
    value = objective(problem, better)
    assert f"hint: allocation {value / 1_000_000:,.2f} USD from HiGHS;" in "\n".join(said)
    assert objective(problem, indices(problem, outcome.columns)) >= value


@st.composite
def packing_problems(draw: st.DrawFn) -> Problem:
    """Up to 8 bundles over 3 limits of a few units, some with costlier supply, and XOR rows
    pairing bundles of one bid."""
    size = draw(st.integers(1, 8))
    bids = [draw(st.integers(0, size - 1)) for _ in range(size)]
    columns = [Column(bids[j], j, draw(st.integers(0, 30))) for j in range(size)]
    rows = []
    for r in range(3):
        terms = {j: units for j in range(size) if (units := draw(st.integers(0, 3)))}
        steps = tuple(Step(draw(st.integers(1, 9)), draw(st.integers(1, 2)))
                      for _ in range(draw(st.integers(0, 2))))
        if terms:
            rows.append(Row(f"capacity:{r}", terms, draw(st.integers(0, 4)),
                            tuple(sorted(steps, key=lambda step: step.premium))))
    for bid in set(bids):
        members = [j for j in range(size) if bids[j] == bid]
        if len(members) > 1:
            rows.append(Row(f"xor:{bid}", dict.fromkeys(members, 1), 1, is_xor=True))
    return Problem(columns, rows or [Row("capacity:none", {0: 1}, 1)])


def brute_force(problem: Problem) -> int:
    return max(objective(problem, list(subset))
               for size in range(len(problem.columns) + 1)
               for subset in itertools.combinations(range(len(problem.columns)), size)
               if breach(problem, list(subset)) is None)


@settings(max_examples=25, deadline=None)
@given(problem=packing_problems())
def test_portfolio_allocations_fit_every_row_and_are_optimal(problem: Problem) -> None:
    params = SolveParams(time_limit=5.0, workers=2, seed=0, portfolio=True)
    said: list[str] = []
    with pytest.MonkeyPatch.context() as patch:  # race even the smallest component
        patch.setattr(portfolio, "PORTFOLIO_MIN_COLUMNS", 0)
        outcome = portfolio.solve(problem, params, 5.0, said.append)
    chosen = indices(problem, outcome.columns)
    assert breach(problem, chosen) is None
    assert [line for line in said if "discarded" in line] == []  # every member's is whole
    assert objective(problem, chosen) == outcome.bound == brute_force(problem)
    assert outcome.status is Status.OPTIMAL


def test_clear_with_the_portfolio_gives_every_losing_bid_its_reason() -> None:
    market = generate_market(400, 2, 2, 1)  # components of 185, 195 and 259 bundles
    said: list[str] = []
    result = clear(market, NOW, SolveParams(time_limit=8.0, workers=2, seed=0, portfolio=True),
                   progress=said.append)
    assert any("portfolio: CP-SAT beside HiGHS" in line for line in said)
    index = {bid.id: number for number, bid in enumerate(market.bids)}
    assert result.welfare == welfare_of(market, {index[fill.bid]: fill.bundle
                                                 for fill in result.allocation})
    assert Counter([fill.bid for fill in result.allocation]
                   + [loss.bid for loss in result.losing]) == Counter(b.id for b in market.bids)


@pytest.mark.parametrize(("in_reach", "far", "workers", "recalled", "searched"), [
    (True, False, 2, True, False),  # CP-SAT's own proof: both cores to CP-SAT
    (False, False, 1, False, False),  # HiGHS beside CP-SAT's tree search
    (False, True, 1, True, True),  # nobody proves it: the local search in HiGHS's place
])
def test_race_gives_the_rivals_core_by_how_far_the_proof_is(
        in_reach: bool, far: bool, workers: int, recalled: bool, searched: bool) -> None:
    problem = Problem([Column(0, 0, 5), Column(1, 0, 3)], [Row("capacity:a", {0: 1, 1: 1}, 1)])
    stopped: list[str] = []
    race = Race(problem, lambda _message: None)
    race.enter(lambda: stopped.append("HiGHS"), rival=True)
    assert race.cp_sat_workers(2, proof_in_reach=in_reach, far=far) == workers
    assert (stopped == ["HiGHS"], race.rival_done, race.wait_far()) == (recalled, recalled,
                                                                         searched)
    race.close()
    assert not race.wait_far()  # over: nothing more starts


def test_local_search_process_offers_ever_better_packings_that_fit_until_its_deadline(
        ) -> None:
    problem = conflict_problem(seed=3, bids=400, goods=60)
    offered: list[list[int]] = []
    stops: list[Callable[[], object]] = []
    code = search_beside(problem, 0, 1.0, [], offered.append, stops.append)
    values = [objective(problem, columns) for columns in offered]
    assert (code, len(stops)) == (0, 1)
    assert offered and [breach(problem, columns) for columns in offered] == [None] * len(offered)
    assert values == sorted(set(values))


def test_local_search_process_is_killed_once_the_race_is_over() -> None:
    problem = conflict_problem(seed=3, bids=400, goods=60)
    race = Race(problem, lambda _message: None)
    race.close()  # over: the search is stopped as it enters, long before its 60 s
    code = search_beside(problem, 0, 60.0, [], lambda columns: race.offer("search", columns),
                         race.enter)
    assert code == -signal.SIGKILL


def test_portfolio_runs_the_local_search_only_where_no_solver_will_prove_it() -> None:
    far = far_problem(seed=3, bids=400, goods=100)
    near = conflict_problem(seed=5, bids=250, goods=80)
    params = SolveParams(time_limit=4.0, workers=2, seed=0)
    said: dict[str, list[str]] = {"far": [], "near": []}
    outcome = portfolio.solve(far, params, 4.0, said["far"].append)
    portfolio.solve(near, params, 4.0, said["near"].append)
    assert any(line.startswith("local search: from ") for line in said["far"])
    assert breach(far, indices(far, outcome.columns)) is None
    assert not any(line.startswith("local search") for line in said["near"])


@pytest.mark.parametrize("problem", [far_problem(seed=3, bids=400, goods=100),
                                     conflict_problem(seed=5, bids=250, goods=80)])
def test_beyond_the_proof_size_the_local_search_takes_plain_cp_sat_s_core_whatever_the_gap(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (wdp, portfolio):  # as if its bundles were too many for rcm's proof
        monkeypatch.setattr(module, "PROOF_MAX_COLUMNS", 100)
    said: list[str] = []
    outcome = portfolio.solve(problem, SolveParams(time_limit=4.0, workers=2, seed=0), 4.0,
                              said.append)
    assert said[0] == "portfolio: CP-SAT beside plain CP-SAT"
    assert "rival recalled: no proof is in reach, the local search runs" in said
    assert any(line.startswith("local search: from ") for line in said)
    assert breach(problem, indices(problem, outcome.columns)) is None


def test_beyond_the_search_bound_size_a_gap_out_of_the_proof_s_reach_gets_the_local_search(
        monkeypatch: pytest.MonkeyPatch) -> None:
    problem = conflict_problem(seed=3, bids=300, goods=100)  # hint 8 % below the LP bound
    params = SolveParams(time_limit=4.0, workers=2, seed=0)
    said: dict[str, list[str]] = {"within": [], "beyond": []}
    portfolio.solve(problem, params, 4.0, said["within"].append)
    monkeypatch.setattr(wdp, "SEARCH_BOUND_MAX_COLUMNS", 100)  # as if its bundles were many
    outcome = portfolio.solve(problem, params, 4.0, said["beyond"].append)
    for lines in said.values():  # neither provable nor far by the gap
        assert "CP-SAT, 1 worker: lb_tree_search for" in "\n".join(lines)
    assert not any(line.startswith("local search") for line in said["within"])
    assert "rival recalled: no proof is in reach, the local search runs" in said["beyond"]
    assert breach(problem, indices(problem, outcome.columns)) is None
