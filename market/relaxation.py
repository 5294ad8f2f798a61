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
import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from market.interrupt import stoppable
from market.presolve import Problem, incidence

_SUPPORT = 1e-2  # columns below this LP value rarely make a clique violated; skip them
_VIOLATION = 1e-3  # how far a clique must exceed 1 to be worth another round
_CLIQUES_PER_ROUND = 200
_MAX_ROUNDS = 30
_FIRST_ORDER_COLUMNS = 4_000  # above this many columns PDLP beats simplex by an order
# PDLP's approximate duals still prove a bound (see _dual_bound); 1e-5 is ten times faster
# than the default and loses a hundred-thousandth of it
_PDLP_PARAMETERS = ("termination_criteria { simple_optimality_criteria { "
                    "eps_optimal_relative: 1e-5 eps_optimal_absolute: 1e-5 } }")


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
        found = graph.violated_cliques(values) if left > 0 else []
        if not found:
            break
        lp.add_cliques(found)
        values, bound = lp.solve(left)
    return Relaxation(bound, values, lp.cliques, lp.filled_bounds)


class _LinearProgram:
    """max net·x - premium·y  s.t.  rows: A x - y <= limit,  cliques: sum x <= 1. The solver
    persists across rounds: after each round of cliques GLOP restarts from its last basis."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.cliques: list[list[int]] = []
        self.bound = math.inf
        self.filled_bounds = np.full(len(problem.columns), math.inf)
        self.net = np.array([column.net for column in problem.columns], dtype=float)
        self.limits = np.array([row.limit for row in problem.rows], dtype=float)
        self.matrix = incidence(problem.rows, len(problem.columns), with_units=True).tocsc()
        if len(problem.columns) > _FIRST_ORDER_COLUMNS:
            self.solver = pywraplp.Solver.CreateSolver("PDLP")
            self.solver.SetSolverSpecificParametersAsString(_PDLP_PARAMETERS)
        else:  # rows are only ever added: the dual simplex restarts from the last basis
            self.solver = pywraplp.Solver.CreateSolver("GLOP")
            self.solver.SetSolverSpecificParametersAsString("use_dual_simplex: true")
        self.x = [self.solver.NumVar(0.0, 1.0, f"x{j}") for j in range(len(problem.columns))]
        objective = self.solver.Objective()
        for var, net in zip(self.x, self.net, strict=True):
            objective.SetCoefficient(var, float(net))
        self.constraints = []
        for r, row in enumerate(problem.rows):
            constraint = self.solver.Constraint(-math.inf, float(row.limit))
            for j, units in row.terms.items():
                constraint.SetCoefficient(self.x[j], float(units))
            for s, step in enumerate(row.steps):
                y = self.solver.NumVar(0.0, float(step.units), f"y{r}_{s}")
                constraint.SetCoefficient(y, -1.0)
                objective.SetCoefficient(y, -float(step.premium))
            self.constraints.append(constraint)
        objective.SetMaximization()

    def add_cliques(self, cliques: list[list[int]]) -> None:
        for clique in cliques:
            constraint = self.solver.Constraint(-math.inf, 1.0)
            for j in clique:
                constraint.SetCoefficient(self.x[j], 1.0)
            self.constraints.append(constraint)
        self.cliques.extend(cliques)

    def solve(self, seconds: float) -> tuple[np.ndarray, float]:
        """LP values of the columns, and the best bound proven by this or an earlier round."""
        self.solver.SetTimeLimit(max(int(seconds * 1000), 50))
        with stoppable(self.solver.InterruptSolve):
            status = self.solver.Solve()
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            return np.zeros(len(self.net)), self.bound
        duals = np.maximum([c.dual_value() for c in self.constraints], 0.0)
        bound, filled_bounds = self._dual_bound(duals)
        if bound <= self.bound:
            self.bound, self.filled_bounds = bound, filled_bounds
        return np.clip([var.solution_value() for var in self.x], 0.0, 1.0), self.bound

    def _dual_bound(self, duals: np.ndarray) -> tuple[int, np.ndarray]:
        """Weak duality holds for any non-negative multipliers π, so even PDLP's approximate
        duals prove: net·x - premium·y <= π·limit + Σ ub·max(0, reduced cost). With x_j = 1
        the column's term is its reduced cost itself, which gives the bound of each column
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

    def violated_cliques(self, values: np.ndarray) -> list[list[int]]:
        """Greedy cliques over the LP support, heaviest column first, each lifted to a maximal
        clique with columns at zero so that CP-SAT gets the strongest form."""
        support = np.flatnonzero(values > _SUPPORT)
        support = support[np.argsort(-values[support], kind="stable")]
        adjacent = self.adjacency(support)
        weights = values[support]
        found: dict[frozenset[int], list[int]] = {}
        for start in range(len(support)):
            members = [start]
            candidates = adjacent[start].copy()
            while candidates.any():
                k = int(np.argmax(np.where(candidates, weights, -1.0)))
                members.append(k)
                candidates &= adjacent[k]
            key = frozenset(members)
            if weights[members].sum() > 1.0 + _VIOLATION and key not in found:
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


def _round_down(bound: np.ndarray) -> np.ndarray:
    """The integer a float bound (or array of them) proves: float64 sums of a few million
    terms err by far less than a billionth of the total."""
    return np.floor(bound + 1e-9 * np.abs(bound) + 1e-6)
