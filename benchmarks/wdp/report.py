"""Scores the JSON lines of run.py: per shape (distribution and goods×bids), per distribution
and overall, every rcm variant against the fastest peer on each instance.

    python benchmarks/wdp/report.py --half held-out held-out.jsonl [--markdown]

Each (instance, solver) is the median of its runs. A run's proof time is its whole-process
seconds if it proved optimality with a feasible solution within the time limit, else the
limit. Time is scored
by the shifted geometric mean (shift 1 s) over the instances that some solver closes (the rest
would add the time limit for everyone); against "best peer", the fastest of HiGHS and SCIP on
each instance. Instances no peer closes are scored on what each solver has at the time limit:
the median solution against the best peer's, the median bound against the best (lowest)
peer's. Prints JSON; --markdown prints the tables of benchmarks/RESULTS.md instead.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

SHIFT = 1.0
PEERS = ("highs", "scip")
BEST_PEER = "best peer"
Run = dict[str, Any]
Median = dict[str, Any]


def shifted_geometric_mean(times: list[float]) -> float:
    return math.exp(sum(math.log(t + SHIFT) for t in times) / len(times)) - SHIFT


def proof_time(run: Run) -> float:
    """Whole-process seconds to a proof; the time limit if there was none within it (the
    limit a solver is given is for its search: start-up can take a proof past it)."""
    proven = run["status"] == "optimal" and run["feasible"]
    return min(run["seconds"], run["time_limit"]) if proven else run["time_limit"]


def median_of(runs: list[Run]) -> Median:
    limit = runs[0]["time_limit"]
    seconds = statistics.median(proof_time(run) for run in runs)
    return {"proof_seconds": seconds, "proven": seconds < limit, "time_limit": limit,
            "runs": len(runs), "infeasible_runs": sum(not run["feasible"] for run in runs),
            "objective": statistics.median(run["objective"] or 0 if run["feasible"] else 0
                                           for run in runs),
            "bound": statistics.median(run["bound"] for run in runs)}


def by_instance(runs: list[Run]) -> dict[str, dict[str, Median]]:
    grouped: dict[str, dict[str, list[Run]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        grouped[run["instance"]][run["solver"]].append(run)
    medians = {name: {solver: median_of(solver_runs) for solver, solver_runs in solvers.items()}
               for name, solvers in grouped.items()}
    for solvers in medians.values():
        peers = [solvers[p] for p in PEERS if p in solvers]
        if peers:
            solvers[BEST_PEER] = {
                "proof_seconds": min(p["proof_seconds"] for p in peers),
                "proven": any(p["proven"] for p in peers),
                "objective": max(p["objective"] for p in peers),
                "bound": min(p["bound"] for p in peers)}
    return medians


def score(names: list[str], medians: dict[str, dict[str, Median]]) -> dict[str, Any]:
    """How each solver does on a group of instances."""
    solvers = sorted({s for name in names for s in medians[name]})
    contestants = [s for s in solvers if s not in (*PEERS, BEST_PEER)]
    closed = [n for n in names if any(m["proven"] for m in medians[n].values())]
    open_ = [n for n in names if not medians[n][BEST_PEER]["proven"]]
    scored: dict[str, Any] = {
        "instances": len(names), "closed": len(closed),
        "proven": {s: sum(medians[n][s]["proven"] for n in names) for s in solvers},
        "sgm_seconds": {s: round(shifted_geometric_mean(
            [medians[n][s]["proof_seconds"] for n in closed]), 2) for s in solvers}
        if closed else {}}
    for solver in contestants:
        mine = [medians[n][solver] for n in names]
        scored[solver] = {
            "sgm_ratio_to_best_peer": round(scored["sgm_seconds"][solver]
                                            / scored["sgm_seconds"][BEST_PEER], 3)
            if closed and scored["sgm_seconds"][BEST_PEER] > 0 else None,
            "missed_proofs": [n for n, m in zip(names, mine, strict=True)
                              if medians[n][BEST_PEER]["proven"] and not m["proven"]],
            "infeasible_runs": sum(m["infeasible_runs"] for m in mine),
            "open_instances": len(open_),
            "solution_at_least_best_peer": sum(
                medians[n][solver]["objective"] >= medians[n][BEST_PEER]["objective"]
                for n in open_),
            "bound_at_most_best_peer": sum(
                medians[n][solver]["bound"] <= medians[n][BEST_PEER]["bound"] for n in open_)}
    return scored


def report(runs: list[Run]) -> dict[str, Any]:
    instance_runs = [run for run in runs if "instance" in run]
    medians = by_instance(instance_runs)
    everyone = {*PEERS, *(s for solvers in medians.values() for s in solvers)}
    for name, solvers in medians.items():
        if missing := sorted(everyone - set(solvers) - {BEST_PEER}):
            raise SystemExit(f"{name}: no run of {', '.join(missing)}; every instance is scored "
                             "on the same solvers, HiGHS and SCIP among them")
    described = {run["instance"]: run for run in instance_runs}
    shapes: dict[str, list[str]] = defaultdict(list)
    distributions: dict[str, list[str]] = defaultdict(list)
    smallest_first = sorted(described.items(), key=lambda kv: (kv[1]["goods"], kv[1]["bids"],
                                                               kv[0]))
    for name, run in smallest_first:
        shapes[f"{run['distribution']} {run['goods']}×{run['bids']}"].append(name)
        distributions[run["distribution"]].append(name)
    return {
        "halves": sorted({run["half"] for run in instance_runs}),
        "time_limit": sorted({run["time_limit"] for run in runs}),
        "load": [min(run["load"] for run in runs), max(run["load"] for run in runs)]
        if runs else [],
        "overall": score(list(described), medians),
        "by_distribution": {d: score(names, medians) for d, names in distributions.items()},
        "by_shape": {shape: score(names, medians) for shape, names in shapes.items()},
        "instances": {name: medians[name] for name, _ in smallest_first},
        "market": [{key: run[key] for key in ("solver", "seed", "status", "seconds",
                                              "solver_seconds", "objective", "bound")}
                   for run in runs if "market" in run]}


def markdown(summary: dict[str, Any]) -> str:
    groups = {"all": summary["overall"], **summary["by_distribution"], **summary["by_shape"]}
    solvers = sorted({s for group in groups.values() for s in group["proven"]})
    contestants = [s for s in solvers if s not in (*PEERS, BEST_PEER)]
    lines = ["| instances | n | closed | proven: " + ", ".join(solvers) + " | SGM s: "
             + ", ".join(solvers) + " | "
             + " | ".join(f"{s}: ratio, solution ≥, bound ≤ best peer" for s in contestants)
             + " |", "|---|---|---|---|---|" + "---|" * len(contestants)]
    for name, group in groups.items():
        proven = ", ".join(str(group["proven"].get(s, "—")) for s in solvers)
        sgm = ", ".join(f"{group['sgm_seconds'][s]:.1f}" if s in group["sgm_seconds"] else "—"
                        for s in solvers)
        verdicts = [f"×{group[s]['sgm_ratio_to_best_peer']}, "
                    f"{group[s]['solution_at_least_best_peer']}/{group[s]['open_instances']}, "
                    f"{group[s]['bound_at_most_best_peer']}/{group[s]['open_instances']}"
                    for s in contestants]
        lines.append(f"| {name} | {group['instances']} | {group['closed']} | {proven} | {sgm} | "
                     + " | ".join(verdicts) + " |")
    return "\n".join([*lines, "", *instance_table(summary["instances"], solvers)])


def instance_table(medians: dict[str, dict[str, Median]], solvers: list[str]) -> list[str]:
    """Each instance's median per solver, smallest shape first: its proof time, or its
    solution and bound at the time limit, in the file's units."""
    def cell(median: Median) -> str:
        if median["proven"]:
            return f"optimal {median['proof_seconds']:.1f} s"
        return f"{median['objective'] / 1e6:,.2f} ≤ {median['bound'] / 1e6:,.2f}"

    shown = [s for s in solvers if s != BEST_PEER]
    return ["| instance | " + " | ".join(shown) + " |", "|---|" + "---|" * len(shown),
            *(f"| {name} | " + " | ".join(cell(medians[name][s]) for s in shown) + " |"
              for name in medians)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="JSON lines from run.py")
    parser.add_argument("--half", choices=("tune", "held-out"), required=True)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    runs = [run for path in args.runs for line in path.read_text().splitlines() if line
            for run in [json.loads(line)] if run.get("half", args.half) == args.half]
    summary = report(runs)
    print(markdown(summary) if args.markdown else json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
