"""A portfolio for one component: rcm's own CP-SAT search (wdp.solve) raced against a rival
on one core, to the first proof; the better allocation wins.

The rival is HiGHS where the component is small enough for rcm's LP and proof search
(wdp.PROOF_MAX_COLUMNS), and plain CP-SAT (no cuts, dominance pairs, fixing or hint) beyond
that, where the issue's CATS regions 1000×20000 saw plain CP-SAT 8.2 % ahead of rcm at 60 s.
Both release the GIL while they solve, so one process and two threads give two cores. The
rival starts at once, while rcm computes its LP and hint; once rcm's gap test puts its own
proof in reach the rival is recalled and CP-SAT gets every worker, else CP-SAT gets all but
one and, on one worker, pushes the bound down while the rival searches. Where the gap test
says no solver will prove it in time (wdp._FAR_GAP), beyond wdp.SEARCH_BOUND_MAX_COLUMNS
wherever the proof is not in reach, and beyond the proof's size whatever the gap, the rival is
recalled too and the iterated local search takes its core, in a process of its own
(local_search_process.py), for allocations: plain CP-SAT then runs only until the hint is
ready, and is kept for what it finds by then.

The members share a `Race`: every allocation any finds (rcm's hint first), checked against
the component's rows, and every bound. HiGHS takes the best allocation found elsewhere as a
user solution while it searches; CP-SAT only takes a hint before it starts: the race's best
then, where a rival found better while rcm's hint was computed.
Once the best allocation reaches the lowest bound (which can be one member's allocation
against the other's bound) every member is stopped.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import highspy
from highspy.highs import HighsCallbackEvent
from ortools.sat.python import cp_model

from chain.amounts import grouped
from market.highs_model import chosen, highs_model, new_highs, solution_values, whole_bound
from market.local_search_process import search_beside
from market.presolve import Problem, Row
from market.result import Status
from market.wdp import (
    LP_MIN_COLUMNS,
    PROOF_MAX_COLUMNS,
    Outcome,
    Progress,
    Reporter,
    SolveParams,
    build,
    cp_solver,
    objective,
)
from market.wdp import (
    solve as solve_alone,
)

# Below wdp's LP threshold CP-SAT starts at once and proves the component in a fraction of a
# second (the small CATS shapes, the test markets): a rival only costs its start. Not tuned
# above it: where rcm proves in 2-4 s (CATS regions 100×500 and 100×1000, tuning half, 20 s,
# load 4) the rival cost 0.5-1.7 s, running beside rcm's LP and hint until it was recalled.
PORTFOLIO_MIN_COLUMNS = LP_MIN_COLUMNS
# A stop can land before CP-SAT's search has begun, where stop_search does nothing: the rival
# repeats it this often until rcm's member has returned.
_RESTOP_SECONDS = 0.05


class Race:
    """What the members share: the best allocation any has found, checked against every row
    of the component; the lowest bound any has proven; and how to stop each. An allocation
    that breaks a row is discarded and named in the progress lines, never returned."""

    def __init__(self, problem: Problem, say: Progress) -> None:
        self._problem = problem
        self._say = say
        self._lock = threading.Lock()
        self._stops: list[Callable[[], object]] = []
        self._rival_stops: list[Callable[[], object]] = []
        self._over = threading.Event()
        self._recalled = threading.Event()
        self._decided = threading.Event()  # how far CP-SAT's own proof is, or over
        self.far = False
        self.best: list[int] = []  # the empty allocation fits every row
        self.value = 0
        self.leader = "nobody"
        self.bound = sum(column.net for column in problem.columns)  # nets are never negative

    @property
    def over(self) -> bool:
        return self._over.is_set()

    @property
    def rival_done(self) -> bool:
        """The race is over, or the rival has been recalled: it should stop."""
        return self.over or self._recalled.is_set()

    def enter(self, stop: Callable[[], object], rival: bool = False) -> None:
        """A member's way to be stopped; called at once if it should stop already."""
        with self._lock:
            self._stops.append(stop)
            if rival:
                self._rival_stops.append(stop)
        if self.rival_done if rival else self.over:
            stop()

    def cp_sat_workers(self, workers: int, proof_in_reach: bool, far: bool) -> int:
        """The workers rcm's CP-SAT search gets in the race. Where its gap test puts a proof
        in reach (wdp._PROVABLE_GAP), all of them, and the rival is recalled: on CATS regions
        200×1000 seed 12 (30 s, load 4 on 2 cores) two workers alone proved it in 8.9 s and
        21.9 s, while with one beside HiGHS, even the hint (whose LP-support search then had
        one worker) was out of reach and HiGHS's proof came at 29.9 s. Elsewhere all but the
        rival's core; where no solver will prove it (`far`, wdp._FAR_GAP), the rival is
        recalled too, and the local search takes its core."""
        self.far = far and not proof_in_reach
        if proof_in_reach or self.far:
            self._recalled.set()
            self._say("rival recalled: " + ("CP-SAT's own proof is in reach" if proof_in_reach
                                            else "no proof is in reach, the local search runs"))
            with self._lock:
                stops = list(self._rival_stops)
            for stop in stops:
                stop()
        self._decided.set()
        return workers if proof_in_reach else max(workers - 1, 1)

    def wait_far(self) -> bool:
        """Blocks until rcm's member has judged how far its proof is or the race is over;
        whether it is far and the race still on."""
        self._decided.wait()
        return self.far and not self.over

    def lead(self) -> tuple[list[int], int, str]:
        """The best allocation so far, its value and who found it."""
        with self._lock:
            return self.best, self.value, self.leader

    def offer(self, member: str, columns: list[int]) -> None:
        if (row := breach(self._problem, columns)) is not None:
            self._say(f"{member}: allocation breaks limit {row.name}, discarded")
            return
        value = objective(self._problem, columns)
        with self._lock:
            if value <= self.value:
                return
            self.best, self.value, self.leader = sorted(set(columns)), value, member
        self._settle()

    def tighten(self, bound: int) -> None:
        with self._lock:
            self.bound = min(self.bound, bound)
        self._settle()

    def stop(self) -> None:
        with self._lock:
            stops = list(self._stops)
        for stop in stops:
            stop()

    def close(self) -> None:
        """Over without a proof: rcm's member has returned (out of time, or Ctrl-C)."""
        self._end()

    def outcome(self) -> Outcome:
        proven = self.value >= self.bound
        # HiGHS's bound is a float floored: a hair under an optimum it did not find itself
        return Outcome([self._problem.columns[j] for j in self.best], max(self.bound, self.value),
                       Status.OPTIMAL if proven else Status.FEASIBLE)

    def _settle(self) -> None:
        if self.value >= self.bound and not self.over:
            self._end()

    def _end(self) -> None:
        self._over.set()
        self._decided.set()  # nothing more starts
        self.stop()


def breach(problem: Problem, columns: list[int]) -> Row | None:
    """The first row the allocation takes more of than its limit and all its costlier supply,
    if any. A bundle named twice or outside the component is a breach of the first row."""
    chosen_columns = set(columns)
    if (len(chosen_columns) != len(columns)
            or not chosen_columns <= set(range(len(problem.columns)))):
        return problem.rows[0]
    for row in problem.rows:
        if sum(units for j, units in row.terms.items() if j in chosen_columns) > row.capacity:
            return row
    return None


def solve(problem: Problem, params: SolveParams, seconds: float, say: Progress) -> Outcome:
    """The component solved by rcm's CP-SAT search and a rival at once, as wdp.solve alone
    where the component is small or there is one worker."""
    if params.workers < 2 or len(problem.columns) < PORTFOLIO_MIN_COLUMNS:
        return solve_alone(problem, params, seconds, say)
    race = Race(problem, say)
    rival, name = ((_highs, "HiGHS") if len(problem.columns) <= PROOF_MAX_COLUMNS
                   else (_plain_cp_sat, "plain CP-SAT"))
    say(f"portfolio: CP-SAT beside {name}")
    returned = threading.Event()
    threads = [threading.Thread(target=_run_rival, name=name,
                                args=(rival, name, problem, params, seconds, race, say,
                                      returned)),
               threading.Thread(target=_local_search, name="local search",
                                args=(problem, params, seconds, race, say))]
    for thread in threads:
        thread.start()
    try:
        own = solve_alone(problem, params, seconds, say, race)
    finally:
        returned.set()
        race.close()
        for thread in threads:
            thread.join()
    index = {(column.bid, column.bundle): j for j, column in enumerate(problem.columns)}
    race.offer("CP-SAT", [index[column.bid, column.bundle] for column in own.columns])
    race.tighten(own.bound)
    say(f"portfolio: allocation {grouped(race.value, 'usd')} USD from {race.leader}, "
        f"bound {grouped(race.bound, 'usd')} USD")
    return race.outcome()


Rival = Callable[[Problem, SolveParams, float, Race, Progress], None]


def _run_rival(rival: Rival, name: str, problem: Problem, params: SolveParams, seconds: float,
               race: Race, say: Progress, returned: threading.Event) -> None:
    about: Progress = lambda message: say(f"{name}: {message}")  # noqa: E731
    try:
        rival(problem, params, seconds, race, about)
    except Exception as error:  # the rival only ever adds: rcm's own member still answers
        about(f"failed, left out: {error!r}")
    while race.over and not returned.wait(_RESTOP_SECONDS):
        race.stop()


def _highs(problem: Problem, params: SolveParams, seconds: float, race: Race,
           say: Progress) -> None:
    """HiGHS on one thread. Its callbacks run with the GIL, briefly: they offer each improving
    solution to the race, pass it the race's best as a user solution when that is better than
    any it has been given, and interrupt it once the race is over."""
    highs = new_highs(seconds, params.seed)
    highs.passModel(highs_model(problem))
    given = [0]  # value of the best allocation HiGHS has found or been given

    def interrupt(event: HighsCallbackEvent) -> None:
        if race.rival_done:
            event.interrupt()

    def improved(event: HighsCallbackEvent) -> None:
        value = round(event.data_out.objective_function_value)
        say(f"allocation {grouped(value, 'usd')} USD")
        race.offer("HiGHS", chosen(problem, event.data_out.mip_solution))
        given[0] = max(given[0], value)

    def user_solution(event: HighsCallbackEvent) -> None:
        best, value, _ = race.lead()
        if value > given[0] and event.data_in is not None:
            event.data_in.setSolution(solution_values(problem, best))
            given[0] = value

    highs.cbMipInterrupt.subscribe(interrupt)
    highs.cbMipImprovingSolution.subscribe(improved)
    highs.cbMipUserSolution.subscribe(user_solution)
    highs.run()
    status = highs.getModelStatus()
    match status:
        case (highspy.HighsModelStatus.kOptimal | highspy.HighsModelStatus.kTimeLimit
              | highspy.HighsModelStatus.kInterrupt):
            info = highs.getInfo()
            if info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
                race.offer("HiGHS", chosen(problem, highs.getSolution().col_value))
            if (bound := whole_bound(info.mip_dual_bound)) is not None:
                race.tighten(bound)
            say(f"{highs.modelStatusToString(status).lower()}, bound "
                f"{grouped(round(info.mip_dual_bound), 'usd')} USD")
        case _:  # a packing problem is never infeasible or unbounded: nothing to take
            say(f"ended {highs.modelStatusToString(status)}, left out")


def _local_search(problem: Problem, params: SolveParams, seconds: float, race: Race,
                  say: Progress) -> None:
    """Where rcm's gap test says no solver will prove the component, the iterated local search
    from the race's best, in a process of its own on the rival's core for the rest of the time:
    on the tuning half's arbitrary shapes of 200×1000 and up, alone for 55 s, it found more than
    HiGHS and SCIP found in 60 s on five of six. In plain CP-SAT's place beyond the proof's
    size too: on the tuning half's 1000×5000 and 1000×20000 (60 s) rcm then found 3.3-23.0 %
    more than the better of HiGHS and SCIP on all eight, where with plain CP-SAT it had been
    behind on four."""
    started = time.monotonic()
    if not race.wait_far():
        return
    about: Progress = lambda message: say(f"local search: {message}")  # noqa: E731
    left = seconds - (time.monotonic() - started)
    about(f"from {grouped(race.value, 'usd')} USD for {left:.1f} s")

    def offer(columns: list[int]) -> None:
        about(f"allocation {grouped(objective(problem, columns), 'usd')} USD")
        race.offer("local search", columns)

    try:
        code = search_beside(problem, params.seed, left, race.best, offer, race.enter)
    except Exception as error:  # the search only ever adds: the others still answer
        about(f"failed, left out: {error!r}")
        return
    if code not in (0, -signal.SIGKILL):
        about(f"ended with exit code {code}, left out")


def _plain_cp_sat(problem: Problem, params: SolveParams, seconds: float, race: Race,
                  say: Progress) -> None:
    """CP-SAT on one worker with none of rcm's additions: the model as it is, no hint."""
    model, x, _ = build(problem, None, [], [])
    solver = cp_solver(params, seconds)
    solver.parameters.num_workers = 1
    race.enter(solver.stop_search, rival=True)
    status = solver.solve(model, Reporter(say, x, race, "plain CP-SAT"))
    match status:
        case cp_model.OPTIMAL | cp_model.FEASIBLE:
            race.offer("plain CP-SAT", [j for j, var in enumerate(x) if solver.boolean_value(var)])
            race.tighten(round(solver.best_objective_bound))
        case cp_model.UNKNOWN:  # stopped before its first allocation
            say("stopped before it found an allocation")
        case cp_model.INFEASIBLE:  # the empty allocation fits: never
            raise RuntimeError("CP-SAT found a packing problem infeasible")
        case cp_model.MODEL_INVALID:
            raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")
        case _:
            raise RuntimeError(f"unexpected CP-SAT status {solver.status_name(status)}")
