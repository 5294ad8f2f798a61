"""Winner determination benchmark: `rcm auction clear` against HiGHS and SCIP on one half of a
seeded set of CATS-style instances (instances.py), each solver run several times with
different random seeds, one run at a time, each in its own process.

    python benchmarks/wdp/run.py --half tune [--sizes full] [--time-limit 60] > tune.jsonl
    python benchmarks/wdp/report.py tune.jsonl

Prints one JSON line per run: the instance and its half, the solver and its seed, the status,
objective and bound in micro-units, whether the solution is feasible (checked against the file
here, not trusted from the solver), and `seconds`, the whole process from start to exit:
interpreter start-up, imports and reading the file included, as a user of each solver waits.
Tune on `--half tune`; run `--half held-out` only to report.
`--solvers rcm-alone` is rcm with `--no-portfolio`: its CP-SAT search without the portfolio's
rival (market/portfolio.py), under its own name.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from instances import HALVES, SIZES, Instance, instances

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PEERS = ("highs", "scip")
# rcm under other names, each with its options for `rcm auction clear`
RCM_VARIANTS = {"rcm": [], "rcm-alone": ["--no-portfolio"]}
MARKET = {"bids": 2000, "regions": 4, "slots": 4}  # the compute market the goal is stated for
MARKET_SEED = 1
NOW = 1_800_000_000  # clearing time for the generated market (its stale bids expired before)


def market(directory: Path) -> Path:
    path = directory / f"market-{MARKET['bids']}x{MARKET['regions']}x{MARKET['slots']}.json"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "rcm", "auction", "generate",
                        *(f"--{key}={value}" for key, value in MARKET.items()),
                        f"--seed={MARKET_SEED}", f"--out={path}"], cwd=REPO, check=True)
    return path


def timed(command: list[str], time_limit: float) -> tuple[str, float]:
    """The command's standard output and its wall-clock seconds."""
    started = time.monotonic()
    process = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                             timeout=time_limit * 3 + 60, check=True)
    return process.stdout, time.monotonic() - started


def run_rcm(path: Path, time_limit: float, workers: int, seed: int, extra: list[str]
            ) -> dict[str, Any]:
    output, seconds = timed(
        [sys.executable, "-m", "rcm", "auction", "clear", str(path), "--time-limit",
         str(time_limit), "--workers", str(workers), "--seed", str(seed), "--now", str(NOW),
         *extra], time_limit)
    result = json.loads(output)
    return {"status": result["status"], "objective": result["welfare_micro_usd"],
            "bound": result["bound_micro_usd"], "solver_seconds": result["seconds"],
            "seconds": seconds, "winners": result.get("winners")}


def run_peer(solver: str, path: Path, time_limit: float, seed: int) -> dict[str, Any]:
    code = ("import dataclasses, json, sys; from pathlib import Path; "
            f"sys.path.insert(0, {str(HERE)!r}); from peers import PEERS, set_packing; "
            f"r = PEERS[{solver!r}](set_packing(Path({str(path)!r})), {time_limit}, {seed}); "
            "print(json.dumps(dataclasses.asdict(r)))")
    output, seconds = timed([sys.executable, "-c", code], time_limit)
    result = json.loads(output.strip().splitlines()[-1])  # after anything the solver printed
    return {"status": result["status"], "objective": result["objective"],
            "bound": result["bound"], "solver_seconds": result["seconds"], "seconds": seconds,
            "winners": result["winners"]}


def feasible(path: Path, winners: list[int], objective: int | None) -> bool:
    """No good (dummy goods, the XOR groups, included) is in two winning lines, and the lines'
    prices in micro-units add up to the objective the solver reports."""
    lines = [tokens for tokens in (raw.split() for raw in path.read_text().splitlines())
             if tokens and tokens[-1] == "#"]
    goods: set[str] = set()
    total = 0
    for line in winners:
        tokens = lines[line]
        if goods.intersection(tokens[2:-1]):
            return False
        goods.update(tokens[2:-1])
        total += int((Decimal(tokens[1]) * 1_000_000).to_integral_value(ROUND_HALF_EVEN))
    return total == (objective or 0)


def stdout_json(fields: dict[str, Any]) -> None:
    print(json.dumps({**fields, "load": os.getloadavg()[0]}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=HALVES, required=True)
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3, help="random seeds per solver")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the first of the --runs seeds: more runs can be added to a file")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers for rcm")
    parser.add_argument("--solvers", default="rcm,highs,scip",
                        help=f"of {', '.join([*RCM_VARIANTS, *PEERS])}")
    parser.add_argument("--rcm-args", default="",
                        help="more options for `rcm auction clear`, e.g. '--local-search'")
    parser.add_argument("--label", default="rcm", help="the solver name rcm's runs get")
    parser.add_argument("--only", default="", help="run instances whose name contains this")
    parser.add_argument("--market", action="store_true",
                        help="also clear the 2,000-bid compute market (rcm only)")
    parser.add_argument("--instances", type=Path,
                        default=Path(tempfile.gettempdir()) / "rcm-wdp-instances")
    args = parser.parse_args()
    args.instances.mkdir(parents=True, exist_ok=True)
    solvers = args.solvers.split(",")
    extra = shlex.split(args.rcm_args)
    seeds = range(args.first_seed, args.first_seed + args.runs)
    for instance in instances(args.sizes, args.half):
        if args.only not in instance.name:
            continue
        path = instance.path(args.instances)
        for solver in solvers:
            for seed in seeds:
                outcome = (run_rcm(path, args.time_limit, args.workers, seed,
                                   [*RCM_VARIANTS[solver], *extra])
                           if solver in RCM_VARIANTS
                           else run_peer(solver, path, args.time_limit, seed))
                winners = outcome.pop("winners") or []
                stdout_json({**_described(instance, args.half),
                             "solver": args.label if solver == "rcm" else solver, "seed": seed,
                             "time_limit": args.time_limit, **outcome,
                             "feasible": feasible(path, winners, outcome["objective"])})
    for solver in [s for s in solvers if s in RCM_VARIANTS] if args.market else []:
        for seed in seeds:
            outcome = run_rcm(market(args.instances), args.time_limit, args.workers, seed,
                              [*RCM_VARIANTS[solver], *extra])
            outcome.pop("winners")
            stdout_json({"market": MARKET, "solver": args.label if solver == "rcm" else solver,
                         "seed": seed, "time_limit": args.time_limit, **outcome})


def _described(instance: Instance, half: str) -> dict[str, Any]:
    return {"instance": instance.name, "half": half, "distribution": instance.distribution,
            "goods": instance.goods, "bids": instance.bids}


if __name__ == "__main__":
    main()
