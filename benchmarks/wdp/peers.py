"""The peers: the same set-packing model handed to HiGHS (highspy) and SCIP (pyscipopt).

One binary variable per CATS bid line, one `sum <= 1` row per good named by two or more lines
(dummy goods included: they are the XOR groups), objective the bid prices in micro-units,
exactly the integers `rcm auction clear` maximises. Both run single-threaded, as they do by
default, with three non-default settings: the time limit, the random seed (each instance is
run with several), and for HiGHS a relative gap of 0 (its default, 1e-4, stops the search
0.01 % short of a proof, where `rcm` and SCIP prove the optimum exactly). A result counts as
optimal only when its objective reaches its bound. HiGHS is given the model rcm's portfolio
builds for its own HiGHS member (market/highs_model.py), so the two are the same model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from market.highs_model import whole_bound
from market.presolve import Column, Problem, Row
from market.readers import read_cats


@dataclass(frozen=True)
class SetPacking:
    values: list[int]  # per bid line, micro-units
    rows: list[list[int]]  # per shared good, the lines naming it


@dataclass(frozen=True)
class PeerResult:
    status: str  # optimal | feasible | time_limit
    objective: int | None
    bound: int | None  # None: the solver stopped before it had one
    seconds: float  # the solve alone; the benchmark times the whole process
    winners: list[int]  # bid lines of the solution, for the feasibility check


def set_packing(path: Path) -> SetPacking:
    auction = read_cats(path.read_text())
    values = [0] * len(auction.lines)
    holders: dict[str, list[int]] = {}
    for bid in auction.market.bids:
        lines = [auction.lines[bid.id, number] for number in range(len(bid.bundles))]
        if len(lines) > 1:
            holders[f"xor:{bid.id}"] = lines
        for line, bundle in zip(lines, bid.bundles, strict=True):
            values[line] = bundle.value
            for item_id in bundle.items:
                holders.setdefault(item_id, []).append(line)
    return SetPacking(values, [lines for lines in holders.values() if len(lines) > 1])


def solve_highs(model: SetPacking, time_limit: float, seed: int) -> PeerResult:
    import highspy

    from market.highs_model import chosen, highs_model, new_highs

    problem = packing(model)
    highs = new_highs(time_limit, seed)
    started = time.monotonic()
    highs.passModel(highs_model(problem))
    highs.run()
    seconds = time.monotonic() - started
    info = highs.getInfo()
    found = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    winners = chosen(problem, highs.getSolution().col_value) if found else []
    return _result(round(info.objective_function_value) if found else None,
                   whole_bound(info.mip_dual_bound), seconds, winners)


def packing(model: SetPacking) -> Problem:
    """The set-packing model as rcm's packing problem, one column per bid line."""
    return Problem([Column(bid=line, bundle=0, net=value)
                    for line, value in enumerate(model.values)],
                   [Row(f"good:{number}", dict.fromkeys(lines, 1), 1)
                    for number, lines in enumerate(model.rows)])


def solve_scip(model: SetPacking, time_limit: float, seed: int) -> PeerResult:
    from pyscipopt import Model, quicksum

    scip = Model()
    scip.hideOutput()
    scip.setParam("limits/time", time_limit)
    scip.setParam("randomization/randomseedshift", seed)
    x = [scip.addVar(vtype="B", obj=value) for value in model.values]
    for row in model.rows:
        scip.addCons(quicksum(x[j] for j in row) <= 1)
    scip.setMaximize()
    started = time.monotonic()
    scip.optimize()
    seconds = time.monotonic() - started
    found = scip.getNSols() > 0
    best = scip.getBestSol() if found else None
    winners = ([j for j, var in enumerate(x) if scip.getSolVal(best, var) > 0.5]
               if best is not None else [])
    return _result(round(scip.getObjVal()) if found else None, whole_bound(scip.getDualbound()),
                   seconds, winners)


def _result(objective: int | None, bound: int | None, seconds: float, winners: list[int]
            ) -> PeerResult:
    """Optimal only when the objective reaches the bound: the same test `rcm` passes."""
    status = ("time_limit" if objective is None
              else "optimal" if bound is not None and objective >= bound else "feasible")
    return PeerResult(status, objective, bound, seconds, winners)


PEERS = {"highs": solve_highs, "scip": solve_scip}
