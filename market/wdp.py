"""Winner determination: which bundles to fill so that accepted value minus reserve cost is
as large as possible, proven with CP-SAT.

`clear` screens bids (eligibility.py), turns the eligible bundles into a packing problem and
presolves it (presolve.py), then solves each independent component: LP relaxation with clique
cuts where the component is big enough for it to pay (relaxation.py), a hint (greedy rounding
of the LP, improved by local search if asked for (local_search.py), or the best packing of the
LP's support), dominance pairs and reduced-cost fixing against the hint, and CP-SAT with
explicit parameters. Bundles that still fit afterwards are added, and every losing bid gets its
reason.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.amounts import counted, grouped
from market.interrupt import deferred, stoppable

# Ctrl-C while the solver stack's native modules initialise would fail their import for good
# (pybind11's "ImportError: initialization failed"): it waits until they are loaded.
with deferred():
    import numpy as np
    from ortools.sat.python import cp_model

    from market.eligibility import Screening, Usage, explain_losses, screen
    from market.local_search import iterated_local_search
    from market.model import Market
    from market.presolve import Column, Problem, dominance, packing_problem, presolve
    from market.relaxation import Relaxation, relax
    from market.result import Clearing, Fill, Status

if TYPE_CHECKING:
    from market.portfolio import Race

Progress = Callable[[str], None]

LP_MIN_COLUMNS = 200  # below this CP-SAT's own root LP is all a component needs
# Up to this many bundles CP-SAT's search lowers the bound faster than more rounds of cliques
# (CATS arbitrary 100×1000 to 300×1500, tuning half, 60 s: with 15 % of the time for the LP
# the bound ended 0.1-0.35 % higher than with 5 %); beyond it the search barely moves the
# bound in a minute and the LP's cliques give it (arbitrary 1000×3000: 0.03-0.08 % above
# SCIP's bound with the GLOP LP's two rounds of cliques and CP-SAT's search, below it with
# this LP's dozens of rounds in the same 9 s), and no peer proved a component whose hint was
# not within the provable gap.
SEARCH_BOUND_MAX_COLUMNS = 2_000
_LP_SHARES = (0.05, 0.15, 0.4)  # of a component's time, at most, for the LP and its cuts: up
# to SEARCH_BOUND_MAX_COLUMNS, to PROOF_MAX_COLUMNS, and beyond, where CP-SAT only searches


@dataclass(frozen=True)
class SolveParams:
    time_limit: float = 60.0  # seconds for the whole clearing
    workers: int = os.cpu_count() or 1
    seed: int = 0
    local_search: bool = False  # improve the hint by local search where no proof is in reach
    relative_gap: float = 0.0  # stop once proven within this share of the optimum
    greedy: bool = False  # the greedy heuristic alone, no CP-SAT: a market without a solver
    # CP-SAT's deterministic time units instead of wall seconds, split among components by
    # size, so the same seed gives the same allocation on a busy machine too (with workers=1)
    deterministic: bool = False
    portfolio: bool = True  # a second solver beside CP-SAT on big components (portfolio.py)


@dataclass(frozen=True)
class Outcome:
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
    parts = presolved.components
    say(f"presolve: {counted(len(parts), 'component')} to solve apart, "
        f"{counted(len(presolved.free), 'bundle')} no limit binds, "
        f"{presolved.dominated:,} dominated, {counted(presolved.merged_rows, 'limit')} merged "
        f"into a parallel one, {presolved.redundant_rows:,} that cannot bind")
    outcomes = [Outcome(presolved.free, sum(c.net for c in presolved.free), Status.OPTIMAL)]
    solve_part: Callable[[Problem, SolveParams, float, Progress], Outcome] = solve
    if params.portfolio:
        from market import portfolio  # it builds on this module's solve

        solve_part = portfolio.solve
    remaining = sum(len(part.columns) for part in parts)
    for number, part in enumerate(parts, start=1):
        left = params.time_limit if params.deterministic else deadline - time.monotonic()
        seconds = left * len(part.columns) / remaining
        # Every line names its component: the amounts are that component's alone.
        about = _about(say, f"component {number}/{len(parts)}")
        about(f"{counted(len(part.columns), 'bundle')}, {counted(len(part.rows), 'limit')}, "
              f"{seconds:.1f} s")
        outcomes.append(solve_part(part, params, seconds, about))
        remaining -= len(part.columns)
    filled = _repaired(market, screening, {column.bid: column.bundle
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


# How to drive CP-SAT depends on how far the LP bound is from the hint. A small gap can be
# closed: one worker dives on the LP with every cut (max_lp) while the other branches on LP
# reduced costs; on an idle 2-core machine this proved CATS regions 200×1000 in 11-15 s where
# a lone worker at linearization level 2 took 23.5 s (which is what one worker gets). A
# large gap will not close in a minute: one worker pushes the bound down by best-first search
# on the LP bound (lb_tree_search) while the others improve the allocation by large
# neighbourhood search. Full subsolvers by name; none: CP-SAT's own portfolio.
_PROOF = ("max_lp", "reduced_costs")
_BOUND_AND_SEARCH = ("lb_tree_search",)
_SEARCH: tuple[str, ...] = ()
_PROVABLE_GAP = 0.05  # relative gap between the LP bound and the hint
# ...beyond which no solver proves it in a minute, and only allocations count: on the
# tuning half at 60 s, HiGHS or SCIP proved components with gaps up to 0.19 (CATS arbitrary
# 100×500; 0.17 against the bound of today's clique search), none with 0.2 or more, and from
# 0.25 (arbitrary 200×1000 and up) the local search alone found more than both on five of six
_FAR_GAP = 0.22
PROOF_MAX_COLUMNS = 4_000  # beyond this CP-SAT's LP is too slow to help: search only
_RENS_SHARE = 0.1  # of a component's time, for the best packing of the LP's support
_RENS_SUPPORT = 1e-6  # LP value below which a bundle is outside the support
_ILS_SHARE = 0.1  # of a component's time, for the local search (when asked for)
# perturbations per column: a small component stops early (CATS arbitrary 30×100: optimal
# within 100 of them, 0.3 ms each), a large one at its share of time (1,000 columns: 5 ms each)
_ILS_ITERATIONS_PER_COLUMN = 3


def solve(problem: Problem, params: SolveParams, seconds: float, say: Progress,
          race: Race | None = None) -> Outcome:
    """One component: relax, hint, build, solve, extract. In a `race` (portfolio.py) the
    hint and every allocation CP-SAT finds are offered to the other members, and the race
    can stop CP-SAT."""
    deadline = time.monotonic() + seconds
    relaxation = None
    provable_size = len(problem.columns) <= PROOF_MAX_COLUMNS
    if len(problem.columns) >= LP_MIN_COLUMNS:
        relaxation = relax(problem, seconds * _lp_share(len(problem.columns)))
        say(f"LP bound {_usd(relaxation.bound)}, {counted(len(relaxation.cliques), 'clique cut')}")
    # dominance pairs pay where a proof is attempted; beyond that they take seconds to find
    pairs = dominance(problem) if provable_size else []
    hint = _hint(problem, relaxation, pairs, params, seconds, say)
    incumbent = objective(problem, hint)
    found_by = ""
    if race is not None and relaxation is not None and _between(problem, relaxation, incumbent):
        best, value, leader = race.lead()
        if value > incumbent:
            # a rival's, found meanwhile: CP-SAT fixes out, prunes and judges the gap by it
            hint, incumbent, found_by = best, value, f" from {leader}"
    fixed = relaxation.fixed_out(incumbent).tolist() if relaxation else []
    everything = sum(column.net for column in problem.columns)  # nets are never negative
    bound = int(min(relaxation.bound, everything)) if relaxation else everything
    if params.greedy:
        return Outcome([problem.columns[j] for j in hint], bound,
                       Status.OPTIMAL if incumbent >= bound else Status.FEASIBLE)
    say(f"hint: allocation {_usd(incumbent)}{found_by}; {counted(len(pairs), 'dominance pair')}, "
        f"{counted(len(fixed), 'bundle')} fixed out by their LP reduced cost")
    model, x, y = build(problem, relaxation, pairs, fixed)
    _add_hint(model, problem, x, y, hint)
    if race is not None:
        race.offer("hint", hint)
        race.tighten(bound)

    solver = cp_solver(params, deadline - time.monotonic())
    subsolvers = _subsolvers(problem, relaxation, incumbent)
    workers = params.workers
    if race is not None:
        # beyond the proof's size only allocations count, whatever the gap (on the tuning
        # half's arbitrary 1000×20000 the gap was 0.2, and plain CP-SAT found nothing in 52 s)
        far = not provable_size or (subsolvers == _BOUND_AND_SEARCH and relaxation is not None
                                    and not _between(problem, relaxation, incumbent))
        workers = race.cp_sat_workers(workers, proof_in_reach=subsolvers == _PROOF, far=far)
    if workers == 1 and race is not None and subsolvers == _BOUND_AND_SEARCH:
        # the rival searches for allocations (HiGHS found CATS arbitrary 100×500 seed 13's
        # best in 30 s): CP-SAT's one worker pushes the bound down
        solver.parameters.num_workers = 1
        solver.parameters.optimize_with_lb_tree_search = True
        solver.parameters.subsolvers.extend(subsolvers)  # named in the progress line
    elif workers == 1:
        solver.parameters.num_workers = 1
        solver.parameters.linearization_level = 2
    else:
        solver.parameters.num_workers = workers
        solver.parameters.num_full_subsolvers = len(subsolvers)
        solver.parameters.subsolvers.extend(subsolvers)
    workers = solver.parameters.num_workers
    say(f"CP-SAT, {counted(workers, 'worker')}: "
        f"{', '.join(solver.parameters.subsolvers) or 'its own search'} for "
        f"{_limit(solver, params)}")
    if race is not None:
        race.enter(solver.stop_search)
    with stoppable(solver.stop_search):
        status = solver.solve(model, Reporter(say, x, race))

    match status:
        case cp_model.OPTIMAL | cp_model.FEASIBLE:
            chosen = [c for j, c in enumerate(problem.columns) if solver.boolean_value(x[j])]
            # the objective is an integer, but CP-SAT reports it as a float that its presolve
            # can leave an ulp short (58 as 57.99999999999999): truncating it broke the proof
            value = round(solver.objective_value)
            if incumbent > value:
                # CP-SAT ends below its hint when a float error in the LP's duals fixed out one
                # of the hint's own bundles (the model then holds only allocations better than
                # the hint, and there were none) or it stopped before taking the hint: the hint
                # stands, and CP-SAT's bound, which holds only for the bundles left in, is
                # not used.
                chosen, value = [problem.columns[j] for j in hint], incumbent
                bound = max(bound, incumbent)
            else:
                bound = min(bound, round(solver.best_objective_bound))
            # with a gap limit CP-SAT calls an allocation within the gap optimal: it is not
            proven = ((status == cp_model.OPTIMAL and not params.relative_gap)
                      or value >= bound)
            return Outcome(chosen, bound, Status.OPTIMAL if proven else Status.FEASIBLE)
        case cp_model.INFEASIBLE:
            return Outcome([], 0, Status.INFEASIBLE)
        case cp_model.UNKNOWN:  # out of time before CP-SAT even took the hint
            return Outcome([problem.columns[j] for j in hint], bound,
                           Status.FEASIBLE if hint else Status.TIME_LIMIT)
        case cp_model.MODEL_INVALID:
            raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")
        case _:
            raise RuntimeError(f"unexpected CP-SAT status {solver.status_name(status)}")


def _hint(problem: Problem, relaxation: Relaxation | None, pairs: list[tuple[int, int]],
          params: SolveParams, seconds: float, say: Progress) -> list[int]:
    """Greedy rounding of the LP; where that leaves too wide a gap to tell whether a proof is
    in reach, improved by local search if asked for, then the best packing of the LP's support
    if it is better. `seconds` is the component's time."""
    greedy = swap_dominated(problem, greedy_packing(problem, relaxation), pairs)
    if params.greedy:
        return greedy
    # on the benchmark's tuning half (one worker, 20 s) the search paid out of a proof's reach,
    # up to 15 % more welfare on CATS arbitrary, and cost time where CP-SAT proves the optimum
    # in a second or two: components too small for an LP, or whose gap is already small
    if (params.local_search and relaxation is not None
            and not _provable(relaxation, objective(problem, greedy))):
        searched = iterated_local_search(
            problem, params.seed, _ILS_ITERATIONS_PER_COLUMN * len(problem.columns),
            seconds * _ILS_SHARE, start=greedy)
        say(f"local search: allocation {_usd(searched.welfare)}, greedy "
            f"{_usd(objective(problem, greedy))}")
        greedy = swap_dominated(problem, searched.columns, pairs)
    if (relaxation is None or len(problem.columns) > PROOF_MAX_COLUMNS
            or _provable(relaxation, objective(problem, greedy))):
        return greedy
    found = lp_support_packing(problem, relaxation, pairs, greedy, params,
                               seconds * _RENS_SHARE)
    return found if objective(problem, found) > objective(problem, greedy) else greedy


def lp_support_packing(problem: Problem, relaxation: Relaxation, pairs: list[tuple[int, int]],
                       start: list[int], params: SolveParams, seconds: float) -> list[int]:
    """The best packing of the bundles the LP uses (RENS, Berthold 2014), found within
    `seconds` from `start`: a problem a fraction of the size, which CP-SAT often solves
    outright, and whose optimum is close to the whole problem's where greedy rounding is
    several percent off (CATS regions 200×1000: 0.01 % against 6 %)."""
    unused = np.flatnonzero(relaxation.values < _RENS_SUPPORT).tolist()
    model, x, y = build(problem, relaxation, pairs, unused)
    outside = set(unused)
    _add_hint(model, problem, x, y, [j for j in start if j not in outside])
    solver = cp_solver(params, seconds)
    solver.parameters.num_workers = params.workers
    with stoppable(solver.stop_search):
        status = solver.solve(model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return [j for j in range(len(x)) if solver.boolean_value(x[j])]
    return []


def cp_solver(params: SolveParams, seconds: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    if params.deterministic:
        solver.parameters.max_deterministic_time = max(seconds, 0.01)
    else:
        solver.parameters.max_time_in_seconds = max(seconds, 0.01)
    solver.parameters.random_seed = params.seed
    solver.parameters.relative_gap_limit = params.relative_gap
    # CP-SAT's own SIGINT handler ends the search as if out of time, so the clear would go on
    # with a half-searched allocation; and on the way out it resets SIGINT to the default,
    # which kills the process without a word. Ctrl-C is ours (market/interrupt.py).
    solver.parameters.catch_sigint_signal = False
    return solver


def _subsolvers(problem: Problem, relaxation: Relaxation | None, incumbent: int
                ) -> tuple[str, ...]:
    """CP-SAT's full subsolvers for the component."""
    if relaxation is None or len(problem.columns) > PROOF_MAX_COLUMNS:
        return _SEARCH
    return _PROOF if _provable(relaxation, incumbent) else _BOUND_AND_SEARCH


def _limit(solver: cp_model.CpSolver, params: SolveParams) -> str:
    if params.deterministic:
        return f"{solver.parameters.max_deterministic_time:.1f} deterministic units"
    return f"{solver.parameters.max_time_in_seconds:.1f} s"


def _lp_share(columns: int) -> float:
    return _LP_SHARES[(columns > SEARCH_BOUND_MAX_COLUMNS) + (columns > PROOF_MAX_COLUMNS)]


def _between(problem: Problem, relaxation: Relaxation, value: int) -> bool:
    """Whether the gap test puts the component between a proof in reach and none: in a race,
    HiGHS beside CP-SAT's best-first search on the bound."""
    return (len(problem.columns) <= SEARCH_BOUND_MAX_COLUMNS
            and not _provable(relaxation, value) and not _far(relaxation, value))


def _provable(relaxation: Relaxation, value: int) -> bool:
    return relaxation.bound - value <= _PROVABLE_GAP * max(value, 1)


def _far(relaxation: Relaxation, value: int) -> bool:
    return relaxation.bound - value >= _FAR_GAP * max(value, 1)


def objective(problem: Problem, columns: list[int]) -> int:
    """Net value of the columns minus the premiums of the costlier supply they need."""
    chosen = set(columns)
    return (sum(problem.columns[j].net for j in chosen)
            - sum(row.premium(0, sum(units for j, units in row.terms.items() if j in chosen))
                  for row in problem.rows if row.steps))


Steps = dict[tuple[int, int], cp_model.IntVar]  # (row, step) -> units bought from the step


def build(problem: Problem, relaxation: Relaxation | None, pairs: list[tuple[int, int]],
          fixed: list[int]) -> tuple[cp_model.CpModel, list[cp_model.IntVar], Steps]:
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

    # Dominance: j only if k's bid is filled (presolve.dominance keeps an optimum).
    bundles_of = _bundles_of_bids(problem)
    for j, k in pairs:
        model.add_bool_or([~x[j], *(x[b] for b in bundles_of[problem.columns[k].bid])])

    # Fixed out: bundles no allocation worth keeping fills, or outside a subproblem.
    for j in fixed:
        model.add(x[j] == 0)

    # Welfare: net value of the filled bundles minus premiums paid above the cheapest asks.
    model.maximize(
        sum(column.net * x[j] for j, column in enumerate(problem.columns))
        - sum(step.premium * y[r, s] for r, row in enumerate(problem.rows)
              for s, step in enumerate(row.steps)))
    return model, x, y


def greedy_packing(problem: Problem, relaxation: Relaxation | None) -> list[int]:
    """Columns taken greedily while they fit and pay for any costlier supply they need: by LP
    value times net value when there is an LP (a rounding of it), by net value per share of
    capacity else."""
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
        keys.append(relaxation.values * net)  # what the LP takes of each bundle, in value
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


def _bundles_of_bids(problem: Problem) -> dict[int, list[int]]:
    bundles: dict[int, list[int]] = {}
    for j, column in enumerate(problem.columns):
        bundles.setdefault(column.bid, []).append(j)
    return bundles


def swap_dominated(problem: Problem, chosen: list[int], pairs: list[tuple[int, int]]
                    ) -> list[int]:
    """The allocation with every bundle that breaks a dominance pair given way to its
    dominator: still feasible, worth no less, and a hint CP-SAT can take as it is."""
    taken = set(chosen)
    filled = {problem.columns[j].bid for j in taken}
    swapped = True
    while swapped:
        swapped = False
        for j, k in pairs:
            if j in taken and problem.columns[k].bid not in filled:
                taken.remove(j)
                filled.remove(problem.columns[j].bid)
                taken.add(k)
                filled.add(problem.columns[k].bid)
                swapped = True
    return sorted(taken)


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


class Reporter(cp_model.CpSolverSolutionCallback):
    """Reports each improving allocation of the component with the bound it is measured
    against, and offers it to the race if there is one."""

    def __init__(self, say: Progress, x: list[cp_model.IntVar], race: Race | None = None,
                 member: str = "CP-SAT") -> None:
        super().__init__()
        self.say = say
        self.x = x
        self.race = race
        self.member = member

    def on_solution_callback(self) -> None:
        self.say(f"allocation {_usd(self.objective_value)}, "
                 f"bound {_usd(self.best_objective_bound)}")
        if self.race is not None:
            self.race.offer(self.member,
                            [j for j, var in enumerate(self.x) if self.boolean_value(var)])


def _about(say: Progress, subject: str) -> Progress:
    return lambda message: say(f"{subject}: {message}")


def _usd(micros: float) -> str:
    """An amount in a progress line: USD to the cent (bounds are rounded anyway)."""
    return f"{grouped(round(micros), 'usd')} USD"


def _repaired(market: Market, screening: Screening, filled: dict[int, int]) -> dict[int, int]:
    """`filled` completed, less any bundle that does not pay for the supply it takes, until
    neither changes it. Each drop raises welfare, so this ends; and every bundle left is worth
    at least the reserve cost its units add on top of the others', which is at least their
    share at the items' average reserve: the floor the Ethical Pricing Function charges."""
    while True:
        completed = _complete(market, screening, filled)
        worst = _unprofitable(market, completed)
        if worst is None:
            return completed
        filled = {index: number for index, number in completed.items() if index != worst}


def _unprofitable(market: Market, filled: dict[int, int]) -> int | None:
    """The filled bid whose bundle falls furthest short of the reserve cost its units add on
    top of everyone else's, if one does. A time-limited search leaves such a bundle when it
    took a cheap supply step and later bundles pushed the item onto dearer ones."""
    units: Counter[str] = Counter()
    for index, number in filled.items():
        units.update(market.bids[index].bundles[number].items)
    shortfalls = []
    for index, number in filled.items():
        bundle = market.bids[index].bundles[number]
        cost = sum(market.supply_cost(item_id, units[item_id] - quantity, quantity)
                   for item_id, quantity in bundle.items.items())
        if bundle.value < cost:
            shortfalls.append((bundle.value - cost, index))
    return min(shortfalls)[1] if shortfalls else None


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
