"""The packing problem as a HiGHS MIP: the model the portfolio's HiGHS member solves and the
benchmark's HiGHS peer is given, built in one place so both are the same model.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Sequence

import highspy
import numpy as np

from market.presolve import Problem

_BANNER_LOCK = threading.Lock()
_banner_shown = False


def new_highs(seconds: float, seed: int) -> highspy.Highs:
    """A silent single-threaded HiGHS with the time limit and random seed, and a relative gap
    of 0: its default, 1e-4, stops the search 0.01 % short of a proof, where CP-SAT and SCIP
    prove the optimum exactly."""
    highs = _constructed()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", max(seconds, 0.01))
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("random_seed", seed)
    return highs


def _constructed() -> highspy.Highs:
    """HiGHS prints its banner on standard output at the first construction in a process,
    before any option can silence it; `rcm auction clear` prints its JSON there, and on
    standard error it would be a stray line beside the command's own. It goes nowhere."""
    global _banner_shown
    with _BANNER_LOCK:
        if _banner_shown:
            return highspy.Highs()
        sys.stdout.flush()
        saved = os.dup(1)
        nowhere = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(nowhere, 1)
            return highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(nowhere)
            _banner_shown = True


def highs_model(problem: Problem) -> highspy.HighsLp:
    """x[j] binary, bundle j is filled; y[r, s] continuous in [0, units], units bought from the
    costlier supply step s of row r (premiums rise step by step, so the LP buys the cheapest
    first and y is whole at every whole x). Rows: each limit, raised by the steps bought.
    Objective: net value of the filled bundles minus the premiums."""
    steps = [(r, step) for r, row in enumerate(problem.rows) for step in row.steps]
    width = len(problem.columns) + len(steps)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = width, len(problem.rows)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.array([column.net for column in problem.columns]
                            + [-step.premium for _, step in steps], dtype=float)
    lp.col_lower_ = np.zeros(width)
    lp.col_upper_ = np.array([1.0] * len(problem.columns) + [step.units for _, step in steps],
                             dtype=float)
    lp.row_lower_ = np.full(len(problem.rows), -highspy.kHighsInf)
    lp.row_upper_ = np.array([row.limit for row in problem.rows], dtype=float)
    step_columns: list[list[int]] = [[] for _ in problem.rows]
    for position, (r, _) in enumerate(steps):
        step_columns[r].append(len(problem.columns) + position)
    index: list[int] = []
    value: list[float] = []
    start = [0]
    for r, row in enumerate(problem.rows):
        index.extend(row.terms)
        value.extend(row.terms.values())
        index.extend(step_columns[r])
        value.extend([-1.0] * len(step_columns[r]))
        start.append(len(index))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(start, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value, dtype=float)
    lp.integrality_ = ([highspy.HighsVarType.kInteger] * len(problem.columns)
                       + [highspy.HighsVarType.kContinuous] * len(steps))
    return lp


def chosen(problem: Problem, values: Sequence[float] | np.ndarray) -> list[int]:
    """The bundles a HiGHS solution fills (its x values within integrality tolerance of 1)."""
    return [j for j in range(len(problem.columns)) if values[j] > 0.5]


def whole_bound(bound: float) -> int | None:
    """Objective values are integers, so a float bound is worth its floor (with a hair of
    tolerance for the solver's own rounding); None before HiGHS has one."""
    return math.floor(bound + 1e-6) if math.isfinite(bound) else None


def solution_values(problem: Problem, columns: list[int]) -> np.ndarray:
    """A whole solution of `highs_model` for an allocation: its bundles, and the costlier
    supply they need bought cheapest first."""
    values = np.zeros(len(problem.columns) + sum(len(row.steps) for row in problem.rows))
    chosen_columns = set(columns)
    values[list(chosen_columns)] = 1.0
    position = len(problem.columns)
    for row in problem.rows:
        excess = sum(units for j, units in row.terms.items() if j in chosen_columns) - row.limit
        for step in row.steps:
            bought = min(max(excess, 0), step.units)
            values[position] = bought
            excess -= bought
            position += 1
    return values
