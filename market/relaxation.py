"""The LP relaxation of a packing problem, tightened with clique inequalities.

Bundle bids overlap heavily: two bundles conflict when they share an item that cannot hold
both, and three bundles can conflict pairwise through three different items. The plain LP then
fills every item with fractions of bundles and overestimates welfare by a fifth on CATS
instances; clique inequalities over the conflict graph cut those points off. The cliques found
here go into the CP-SAT model as extra at-most-one constraints, the LP optimum orders the
hint, and the LP duals give a proven bound before any search has run, and for each bundle a
bound on any allocation that fills it (reduced-cost fixing).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import highspy
import numpy as np
from highspy.highs import HighsCallbackEvent

from market.highs_model import highs_model, new_highs
from market.interrupt import stoppable
from market.presolve import Problem, incidence

_SUPPORT = 1e-2  # columns below this LP value rarely make a clique violated; skip them
_VIOLATION = 1e-3  # how far a clique must exceed 1 to be worth another round
_CLIQUES_PER_ROUND = 200
_MAX_ROUNDS = 30
# branch-and-bound nodes of the heaviest-clique search from each column: on CATS arbitrary
# 1000×3000 (tuning half) the searches took the LP bound 0.05 % lower than greedy cliques
# did, below SCIP's bound after 60 s, in 0.5 s a round
_NODES_PER_START = 2_000


@dataclass(frozen=True)
class Relaxation:
    bound: float  # proven upper bound on the optimum: an integer, or inf if no LP solved
    values: np.ndarray  # LP value of each column
    cliques: list[list[int]]  # clique inequalities found, each a list of columns
    filled_bounds: np.ndarray  # proven upper bound on any allocation that fills the column

    def fixed_out(self, incumbent: int) -> np.ndarray:
        """Columns no allocation worth at least `incumbent` can fill (reduced-cost fixing)."""
        return np.flatnonzero(self.filled_bounds < incumbent)


def relax(problem: Problem, seconds: float) -> Relaxation:
    """Solves the LP, then adds violated cliques and re-solves while they are found and time
    lasts."""
    deadline = time.monotonic() + seconds
    lp = _LinearProgram(problem)
    graph = _ConflictGraph(problem)
    values, bound = lp.solve(seconds)
    for _ in range(_MAX_ROUNDS):
        left = deadline - time.monotonic()
        found = graph.violated_cliques(values, deadline) if left > 0 else []
        if not found:
            break
        lp.add_cliques(found)
        values, bound = lp.solve(deadline - time.monotonic())
    return Relaxation(bound, values, lp.cliques, lp.filled_bounds)


class _LinearProgram:
    """max net·x - premium·y  s.t.  rows: A x - y <= limit,  cliques: sum x <= 1, in HiGHS
    (one thread). The first solve is by interior point with crossover, 1 s where the simplex
    method took 4-5 s (CATS arbitrary 1000×3000); after each round of cliques the dual simplex
    restarts from the last basis, 0.2-0.5 s a round."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.cliques: list[list[int]] = []
        self.bound = math.inf
        self.values = np.zeros(len(problem.columns))
        self.filled_bounds = np.full(len(problem.columns), math.inf)
        self.net = np.array([column.net for column in problem.columns], dtype=float)
        self.limits = np.array([row.limit for row in problem.rows], dtype=float)
        self.matrix = incidence(problem.rows, len(problem.columns), with_units=True).tocsc()
        self.highs = new_highs(math.inf, 0)
        relaxed = highs_model(problem)
        relaxed.integrality_ = []
        self.highs.passModel(relaxed)
        self.highs.setOptionValue("solver", "ipm")
        self.stopped = threading.Event()

        def interrupt(event: HighsCallbackEvent) -> None:
            if self.stopped.is_set():
                event.interrupt()

        self.highs.cbSimplexInterrupt.subscribe(interrupt)
        self.highs.cbIpmInterrupt.subscribe(interrupt)

    def add_cliques(self, cliques: list[list[int]]) -> None:
        starts = np.cumsum([0] + [len(clique) for clique in cliques[:-1]], dtype=np.int32)
        columns = np.array([j for clique in cliques for j in clique], dtype=np.int32)
        self.highs.addRows(len(cliques), np.full(len(cliques), -highspy.kHighsInf),
                           np.ones(len(cliques)), len(columns), starts, columns,
                           np.ones(len(columns)))
        self.cliques.extend(cliques)
        self.highs.setOptionValue("solver", "simplex")  # from the last basis

    def solve(self, seconds: float) -> tuple[np.ndarray, float]:
        """LP values of the columns, and the best bound proven by this or an earlier round;
        out of time, the last round's values."""
        self.highs.setOptionValue("time_limit", max(seconds, 0.05))
        with stoppable(self.stopped.set):
            self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return self.values, self.bound
        solution = self.highs.getSolution()
        duals = np.maximum(solution.row_dual, 0.0)
        bound, filled_bounds = self._dual_bound(duals)
        if bound <= self.bound:
            self.bound, self.filled_bounds = bound, filled_bounds
        self.values = np.clip(np.asarray(solution.col_value[:len(self.net)]), 0.0, 1.0)
        return self.values, self.bound

    def _dual_bound(self, duals: np.ndarray) -> tuple[int, np.ndarray]:
        """Weak duality holds for any non-negative multipliers π, so even inexact duals
        prove: net·x - premium·y <= π·limit + Σ ub·max(0, reduced cost). With x_j = 1 the
        column's term is its reduced cost itself, which gives the bound of each column
        filled."""
        row_duals, clique_duals = duals[:len(self.limits)], duals[len(self.limits):]
        pressure = self.matrix.T @ row_duals
        for clique, dual in zip(self.cliques, clique_duals, strict=True):
            pressure[clique] += dual
        reduced = self.net - pressure
        value = row_duals @ self.limits + clique_duals.sum() + np.maximum(reduced, 0.0).sum()
        for r, row in enumerate(self.problem.rows):
            value += sum(step.units * max(row_duals[r] - step.premium, 0.0) for step in row.steps)
        return (int(_round_down(np.asarray(value))),
                _round_down(value + np.minimum(reduced, 0.0)))


class _ConflictGraph:
    """Columns conflict when an at-most-one row holds both."""

    def __init__(self, problem: Problem) -> None:
        self.incidence = incidence([row for row in problem.rows if row.is_at_most_one],
                                   len(problem.columns), with_units=False).tocsc()
        self.by_row = self.incidence.tocsr()
        self.net = np.array([column.net for column in problem.columns], dtype=float)

    def adjacency(self, columns: np.ndarray) -> np.ndarray:
        """conflicts[a, b]: columns[a] and columns[b] share an at-most-one row."""
        sub = self.incidence[:, columns]
        conflicts = (sub.T @ sub).toarray() > 0
        np.fill_diagonal(conflicts, False)
        return conflicts

    def violated_cliques(self, values: np.ndarray, deadline: float) -> list[list[int]]:
        """From each column of the LP support, heaviest first, the heaviest clique among the
        lighter columns it conflicts with (a search of at most _NODES_PER_START nodes), where
        that clique is violated; each lifted to a maximal clique with columns at zero so that
        CP-SAT gets the strongest form. Greedy cliques found a third as many on CATS
        arbitrary, and none once the LP had taken the first few dozen."""
        support = np.flatnonzero(values > _SUPPORT)
        support = support[np.argsort(-values[support], kind="stable")]
        graph = _BitsetGraph(self.adjacency(support), values[support])
        found: dict[frozenset[int], list[int]] = {}
        for start in range(len(support)):
            if time.monotonic() > deadline:
                break
            members = _HeaviestClique(graph, start).members
            key = frozenset(members)
            if len(members) > 1 and key not in found:
                found[key] = members
                if len(found) == _CLIQUES_PER_ROUND:
                    break
        return self._lift([support[members] for members in found.values()])

    def _lift(self, cliques: list[np.ndarray]) -> list[list[int]]:
        """Extends each clique with the columns that conflict with all of it, most valuable
        first."""
        lifted = []
        for clique in cliques:
            common = np.ones(len(self.net), dtype=bool)
            for member in clique:
                common &= self._neighbourhood(int(member))
            common[clique] = False
            candidates = np.flatnonzero(common)
            candidates = candidates[np.argsort(-self.net[candidates], kind="stable")]
            adjacent = self.adjacency(candidates)
            open_ = np.ones(len(candidates), dtype=bool)
            extended = [int(m) for m in clique]
            for place, column in enumerate(candidates):
                if open_[place]:
                    extended.append(int(column))
                    open_ &= adjacent[place]
            lifted.append(extended)
        return lifted

    def _neighbourhood(self, column: int) -> np.ndarray:
        """Mask of the columns sharing an at-most-one row with `column` (itself included)."""
        mask = np.zeros(len(self.net), dtype=bool)
        for row in self.incidence.indices[self.incidence.indptr[column]:
                                          self.incidence.indptr[column + 1]]:
            mask[self.by_row.indices[self.by_row.indptr[row]:self.by_row.indptr[row + 1]]] = True
        return mask


class _BitsetGraph:
    """A conflict graph whose columns are ordered heaviest first, as bitsets (Python ints,
    bit k: column k)."""

    def __init__(self, adjacent: np.ndarray, weights: np.ndarray) -> None:
        packed = np.packbits(adjacent, axis=1, bitorder="little")
        self.neighbours = [int.from_bytes(row.tobytes(), "little") for row in packed]
        self.weights = weights.tolist()


class _HeaviestClique:
    """Branch and bound of at most _NODES_PER_START nodes for the heaviest clique heavier than
    1 + _VIOLATION among `start` and the lighter columns it conflicts with (each clique is found
    from its heaviest member); `members` is that clique, or [start] if none."""

    def __init__(self, graph: _BitsetGraph, start: int) -> None:
        self.graph = graph
        self.members, self.to_beat = [start], 1.0 + _VIOLATION
        self.nodes = 0
        lighter = graph.neighbours[start] >> (start + 1) << (start + 1)
        self._grow([start], graph.weights[start], lighter)

    def _grow(self, members: list[int], weight: float, candidates: int) -> None:
        self.nodes += 1
        if weight > self.to_beat:
            self.members, self.to_beat = list(members), weight
        weights, neighbours = self.graph.weights, self.graph.neighbours
        order = _members(candidates)  # heaviest first: the columns are in that order
        left = sum(weights[k] for k in order)
        for k in order:
            if self.nodes >= _NODES_PER_START or weight + left <= self.to_beat:
                return
            members.append(k)
            self._grow(members, weight + weights[k], candidates & neighbours[k])
            members.pop()
            candidates &= ~(1 << k)
            left -= weights[k]


def _members(bits: int) -> list[int]:
    """The positions of a bitset's ones, lowest first."""
    found = []
    while bits:
        low = bits & -bits
        found.append(low.bit_length() - 1)
        bits ^= low
    return found


def _round_down(bound: np.ndarray) -> np.ndarray:
    """The integer a float bound (or array of them) proves: float64 sums of a few million
    terms err by far less than a billionth of the total."""
    return np.floor(bound + 1e-9 * np.abs(bound) + 1e-6)
