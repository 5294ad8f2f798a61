"""Winner determination: which bundles to fill so that accepted value minus reserve cost is
as large as possible, proven with CP-SAT.

`clear` screens bids (eligibility.py), turns the eligible bundles into a packing problem and
presolves it (presolve.py), then solves each independent component: LP relaxation with clique
cuts where the component is big enough for it to pay (relaxation.py), a greedy hint, and
CP-SAT with explicit parameters. Bundles that still fit afterwards are added, and every losing
bid gets its reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from market.eligibility import Screening, Usage, explain_losses, screen
from market.model import Market
from market.presolve import Column, Problem, packing_problem, presolve
from market.relaxation import Relaxation, relax
from market.result import Clearing, Fill, Status

Progress = Callable[[str], None]

_LP_MIN_COLUMNS = 200  # below this CP-SAT's own root LP is all a component needs
_LP_SHARE = 0.15  # at most this share of a component's time goes to the LP and its cuts...
_LP_SHARE_SEARCH_ONLY = 0.4  # ...unless CP-SAT will only search, and the LP's is the bound


@dataclass(frozen=True)
class SolveParams:
    time_limit: float = 60.0  # seconds for the whole clearing
    workers: int = os.cpu_count() or 1
    seed: int = 0


@dataclass(frozen=True)
class _Outcome:
    """What solving one component gave: the bundles to fill and how good they are proven."""

    columns: list[Column]
    bound: int
    status: Status


def clear(market: Market, now: int, params: SolveParams = SolveParams(),
          progress: Progress | None = None) -> Clearing:
    """The welfare-maximising allocation of `market` at unix time `now`, with a reason for every
    bid left out."""
    started = time.monotonic()
    deadline = started + params.time_limit
    say = progress or (lambda _message: None)
    screening = screen(market, now)
    presolved = presolve(packing_problem(market, screening))
    say(f"presolve: {len(presolved.components)} components, {len(presolved.free)} bundles "
        f"unconstrained, {presolved.dominated} dominated, {presolved.redundant_rows} limits "
        "that cannot bind")
    outcomes = [_Outcome(presolved.free, sum(c.net for c in presolved.free), Status.OPTIMAL)]
    remaining = sum(len(part.columns) for part in presolved.components)
    for part in presolved.components:
        seconds = (deadline - time.monotonic()) * len(part.columns) / remaining
        outcomes.append(solve(part, params, seconds, say))
        remaining -= len(part.columns)
    filled = _complete(market, screening, {column.bid: column.bundle
                                           for outcome in outcomes for column in outcome.columns})
    welfare = welfare_of(market, filled)
    bound = sum(outcome.bound for outcome in outcomes)
    return Clearing(
        allocation=[Fill(bid=market.bids[index].id, bundle=number,
                         items=dict(market.bids[index].bundles[number].items))
                    for index, number in sorted(filled.items())],
        losing=explain_losses(market, screening, filled),
        welfare=welfare, bound=bound, gap=(bound - welfare) / max(welfare, 1),
        status=_overall_status([outcome.status for outcome in outcomes]),
        seconds=round(time.monotonic() - started, 3))


def welfare_of(market: Market, filled: dict[int, int]) -> int:
    """Accepted value minus the reserve cost of the units used, cheapest asks first."""
    usage = Usage(market)
    value = 0
    for index, number in filled.items():
        bid = market.bids[index]
        value += bid.bundles[number].value
        usage.add(bid, bid.bundles[number])
    return value - sum(market.supply_cost(item_id, 0, units)
                       for item_id, units in usage.units.items())


@dataclass(frozen=True)
class _Phase:
    share: float  # of the component's time left when the phase starts
    full_subsolvers: tuple[str, ...]  # empty: CP-SAT's own portfolio for the worker count


# With two or more workers, how to drive CP-SAT depends on how far the LP bound is from the
# greedy allocation. A small gap can be closed: max_lp (AMO rows and cuts in its LP) proves,
# default_lp dives for allocations beside it. A large gap will not close in a minute: CP-SAT's
# portfolio with its LNS workers first finds good allocations, then best-first search on the
# LP bound (lb_tree_search) pushes the bound down while default_lp keeps searching.
_PROVE = (_Phase(1.0, ("max_lp", "default_lp")),)
_SEARCH_THEN_BOUND = (_Phase(0.35, ()), _Phase(1.0, ("lb_tree_search", "default_lp")))
_SEARCH = (_Phase(1.0, ()),)
_PROVABLE_GAP = 0.05  # relative gap between the LP bound and the greedy allocation
_PROOF_MAX_COLUMNS = 4_000  # beyond this CP-SAT's LP is too slow to help: search only


def solve(problem: Problem, params: SolveParams, seconds: float, say: Progress) -> _Outcome:
    """One component: relax, hint, build, then solve in phases, each starting from the best
    allocation so far."""
    deadline = time.monotonic() + seconds
    relaxation = None
    if len(problem.columns) >= _LP_MIN_COLUMNS:
        share = _LP_SHARE if len(problem.columns) <= _PROOF_MAX_COLUMNS else _LP_SHARE_SEARCH_ONLY
        relaxation = relax(problem, seconds * share)
        say(f"LP relaxation: bound {relaxation.bound}, {len(relaxation.cliques)} clique cuts")
    best = greedy_packing(problem, relaxation)
    everything = sum(column.net for column in problem.columns)  # nets are never negative
    bound = int(min(relaxation.bound, everything)) if relaxation else everything
    model, x, y = build(problem, relaxation)
    for phase in _phases(problem, params, relaxation, objective(problem, best)):
        model.clear_hints()
        _add_hint(model, problem, x, y, best)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(
            (deadline - time.monotonic()) * phase.share, 0.01)
        solver.parameters.num_workers = params.workers
        solver.parameters.random_seed = params.seed
        if params.workers == 1:
            # AMO rows enter the LP only at level 2 (max_lp's level): bundle markets are
            # mostly AMO rows, and a lone worker is not in a portfolio that has max_lp
            solver.parameters.linearization_level = 2
        if phase.full_subsolvers:
            solver.parameters.num_full_subsolvers = len(phase.full_subsolvers)
            solver.parameters.subsolvers.extend(phase.full_subsolvers)
        say(f"CP-SAT {', '.join(phase.full_subsolvers) or 'portfolio'} for "
            f"{solver.parameters.max_time_in_seconds:.1f}s")
        status = solver.solve(model, _Reporter(say))
        match status:
            case cp_model.OPTIMAL | cp_model.FEASIBLE:
                found = [j for j in range(len(x)) if solver.boolean_value(x[j])]
                if objective(problem, found) >= objective(problem, best):
                    best = found
                bound = min(bound, int(solver.best_objective_bound))
                if status == cp_model.OPTIMAL:
                    break
            case cp_model.INFEASIBLE:
                return _Outcome([], 0, Status.INFEASIBLE)
            case cp_model.UNKNOWN:
                pass  # the time ran out before CP-SAT improved on the best allocation so far
            case cp_model.MODEL_INVALID:
                raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")
            case _:
                raise RuntimeError(f"unexpected CP-SAT status {solver.status_name(status)}")
    value = objective(problem, best)
    if not best and bound > 0:
        return _Outcome([], bound, Status.TIME_LIMIT)
    return _Outcome([problem.columns[j] for j in best], bound,
                    Status.OPTIMAL if value >= bound else Status.FEASIBLE)


def _phases(problem: Problem, params: SolveParams, relaxation: Relaxation | None,
            greedy: int) -> tuple[_Phase, ...]:
    if params.workers < 2 or relaxation is None or len(problem.columns) > _PROOF_MAX_COLUMNS:
        return _SEARCH
    if relaxation.bound - greedy <= _PROVABLE_GAP * max(greedy, 1):
        return _PROVE
    return _SEARCH_THEN_BOUND


def objective(problem: Problem, columns: list[int]) -> int:
    """Net value of the columns minus the premiums of the costlier supply they need."""
    chosen = set(columns)
    return (sum(problem.columns[j].net for j in chosen)
            - sum(row.premium(0, sum(units for j, units in row.terms.items() if j in chosen))
                  for row in problem.rows if row.steps))


Steps = dict[tuple[int, int], cp_model.IntVar]  # (row, step) -> units bought from the step


def build(problem: Problem, relaxation: Relaxation | None
          ) -> tuple[cp_model.CpModel, list[cp_model.IntVar], Steps]:
    model = cp_model.CpModel()

    # x[j]: bundle j is filled.
    x = [model.new_bool_var(f"x{j}") for j in range(len(problem.columns))]
    # y[r, s]: units bought from the costlier supply step s of row r.
    y = {(r, s): model.new_int_var(0, step.units, f"y{r}_{s}")
         for r, row in enumerate(problem.rows) for s, step in enumerate(row.steps)}

    # Limits: capacity, unreserved capacity, risk caps, one bundle per bid.
    for r, row in enumerate(problem.rows):
        if row.is_at_most_one:
            model.add_at_most_one(x[j] for j in row.terms)
        else:
            model.add(sum(units * x[j] for j, units in row.terms.items())
                      <= row.limit + sum(y[r, s] for s in range(len(row.steps))))

    # Clique cuts from the LP: valid for every packing, they tighten CP-SAT's own LP.
    for clique in relaxation.cliques if relaxation else []:
        model.add_at_most_one(x[j] for j in clique)

    # Welfare: net value of the filled bundles minus premiums paid above the cheapest asks.
    model.maximize(
        sum(column.net * x[j] for j, column in enumerate(problem.columns))
        - sum(step.premium * y[r, s] for r, row in enumerate(problem.rows)
              for s, step in enumerate(row.steps)))
    return model, x, y


def greedy_packing(problem: Problem, relaxation: Relaxation | None) -> list[int]:
    """Columns taken greedily while they fit and pay for any costlier supply they need: in LP
    order when there is an LP (a rounding of it), by net value per share of capacity else."""
    rows_of: list[list[tuple[int, int]]] = [[] for _ in problem.columns]
    share = np.zeros(len(problem.columns))
    for r, row in enumerate(problem.rows):
        capacity = max(row.capacity, 1)
        for j, units in row.terms.items():
            rows_of[j].append((r, units))
            share[j] += units / capacity
    net = np.array([column.net for column in problem.columns], dtype=float)
    keys = [net / np.maximum(share, 1e-9)]
    if relaxation is not None:
        keys.append(relaxation.values)
    room = [row.capacity for row in problem.rows]
    used = [0] * len(problem.rows)
    taken = []
    for j in np.lexsort(keys)[::-1].tolist():
        if any(units > room[r] for r, units in rows_of[j]):
            continue
        premium = sum(problem.rows[r].premium(used[r], units) for r, units in rows_of[j]
                      if problem.rows[r].steps)
        if premium <= problem.columns[j].net:
            for r, units in rows_of[j]:
                room[r] -= units
                used[r] += units
            taken.append(j)
    return taken


def _add_hint(model: cp_model.CpModel, problem: Problem, x: list[cp_model.IntVar], y: Steps,
              hint: list[int]) -> None:
    """A complete hint (steps bought cheapest first) so CP-SAT starts from a solution."""
    chosen = set(hint)
    for j, var in enumerate(x):
        model.add_hint(var, j in chosen)
    for r, row in enumerate(problem.rows):
        excess = sum(units for j, units in row.terms.items() if j in chosen) - row.limit
        for s, step in enumerate(row.steps):
            bought = min(max(excess, 0), step.units)
            model.add_hint(y[r, s], bought)
            excess -= bought


class _Reporter(cp_model.CpSolverSolutionCallback):
    """Reports each improving allocation of the component with the bound it is measured
    against."""

    def __init__(self, say: Progress) -> None:
        super().__init__()
        self.say = say

    def on_solution_callback(self) -> None:
        self.say(f"allocation worth {int(self.objective_value)}, "
                 f"bound {int(self.best_objective_bound)}")


def _complete(market: Market, screening: Screening, filled: dict[int, int]) -> dict[int, int]:
    """Adds any eligible bundle that still fits and is worth its marginal reserve cost, highest
    value first: what a time-limited search or a dominated duplicate left on the table."""
    usage = Usage(market)
    for index, number in filled.items():
        usage.add(market.bids[index], market.bids[index].bundles[number])
    candidates = [(market.bids[index].bundles[number].value, index, number)
                  for index, numbers in screening.eligible.items() if index not in filled
                  for number in numbers]
    completed = dict(filled)
    for _, index, number in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        bid = market.bids[index]
        if index not in completed and usage.loss(bid, number) is None:
            usage.add(bid, bid.bundles[number])
            completed[index] = number
    return completed


def _overall_status(statuses: list[Status]) -> Status:
    for status in (Status.INFEASIBLE, Status.TIME_LIMIT, Status.FEASIBLE):
        if status in statuses:
            return status
    return Status.OPTIMAL
