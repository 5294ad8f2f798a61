"""Turns the JSON lines of run.py into the Markdown table of benchmarks/RESULTS.md.

    python benchmarks/wdp/report.py runs.jsonl

Where a peer proves optimality the runs are compared on time: the shifted geometric mean
(shift 10 s) of rcm's times over that of the fastest peer, a run that does not prove
optimality counting as the time limit. Where no peer does, they are compared on what each has
at the time limit: rcm's allocation against the best peer's, rcm's bound against the best
(lowest) peer bound.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

SHIFT = 10.0
PEERS = ("highs", "scip")
Run = dict[str, Any]


def shifted_geometric_mean(times: list[float]) -> float:
    return math.exp(sum(math.log(t + SHIFT) for t in times) / len(times)) - SHIFT


def proof_time(run: Run) -> float:
    return run["seconds"] if run["status"] == "optimal" else run["time_limit"]


def units(value: int | None) -> str:
    """Micro-units as the CATS file's price units."""
    return "—" if value is None else f"{value / 1e6:,.2f}"


def cell(run: Run) -> str:
    return (f"{run['status']} {run['seconds']:.1f}s | {units(run['objective'])} | "
            f"{units(run['bound'])}")


def verdict(runs: dict[str, Run]) -> str:
    peers = [runs[p] for p in PEERS if p in runs]
    ours = runs["rcm"]
    if any(p["status"] == "optimal" for p in peers):
        fastest = min(proof_time(p) for p in peers)
        ratio = (proof_time(ours) + SHIFT) / (fastest + SHIFT)
        return f"time ×{ratio:.2f}" + ("" if ours["status"] == "optimal" else " (not proven)")
    best_solution = max((p["objective"] or 0) for p in peers)
    best_bound = min(p["bound"] for p in peers)
    solution = "≥" if (ours["objective"] or 0) >= best_solution else "<"
    bound = "≤" if ours["bound"] <= best_bound else ">"
    return f"solution {solution} best peer, bound {bound} best peer"


def table(runs: list[Run]) -> str:
    by_instance: dict[tuple[str, int, int], dict[str, Run]] = defaultdict(dict)
    for run in runs:
        if "market" not in run:
            by_instance[run["distribution"], run["goods"], run["bids"]][run["solver"]] = run
    lines = ["| instance (goods×bids) | rcm: status time | objective | bound "
             "| HiGHS: status time | objective | bound | SCIP: status time | objective | bound "
             "| rcm vs peers |",
             "|---|" + "---|" * 10]
    closed: dict[str, list[float]] = defaultdict(list)
    for (distribution, goods, bids), solvers in sorted(by_instance.items(),
                                                       key=lambda kv: (kv[0][1], kv[0][2],
                                                                       kv[0][0])):
        lines.append(f"| {distribution} {goods}×{bids} | {cell(solvers['rcm'])} | "
                     + " | ".join(cell(solvers[p]) for p in PEERS) + f" | {verdict(solvers)} |")
        if any(solvers[p]["status"] == "optimal" for p in PEERS):
            for solver, run in solvers.items():
                closed[solver].append(proof_time(run))
    if closed:
        means = {solver: shifted_geometric_mean(times) for solver, times in closed.items()}
        fastest = min(PEERS, key=lambda p: means[p])
        ratio = means["rcm"] / means[fastest]
        lines.append("")
        lines.append(f"Instances a peer closes: {len(closed['rcm'])}. Shifted geometric mean "
                     f"of proof times (shift {SHIFT:g} s, unproven = time limit): "
                     + ", ".join(f"{s} {m:.1f} s" for s, m in means.items())
                     + f"; rcm / fastest peer ({fastest}) = {ratio:.2f}.")
    for run in runs:
        if "market" in run:
            spec = run["market"]
            lines.append("")
            lines.append(f"`rcm auction generate --bids {spec['bids']} --regions "
                         f"{spec['regions']} --slots {spec['slots']}`: {run['status']} in "
                         f"{run['seconds']:.1f} s, welfare {units(run['objective'])} USD, "
                         f"bound {units(run['bound'])} USD.")
    loads = [run["load"] for run in runs if "load" in run]
    if loads:
        lines.append("")
        lines.append(f"1-minute load average after each run: {min(loads):.1f} to "
                     f"{max(loads):.1f} on 2 cores.")
    return "\n".join(lines)


def main() -> None:
    runs = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line]
    print(table(runs))


if __name__ == "__main__":
    main()
