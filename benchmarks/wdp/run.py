"""Winner determination benchmark: `rcm auction clear` against HiGHS and SCIP on seeded
CATS-style instances, one solver run at a time, each in its own process.

    python benchmarks/wdp/run.py [--quick] [--time-limit 60] > runs.jsonl
    python benchmarks/wdp/report.py runs.jsonl

Prints one JSON line per (instance, solver): status, objective and bound in micro-units, and
seconds from the parsed file to the answer (model building included), then one line for
`rcm auction clear` on a 2,000-bid `rcm auction generate` market. Instances are generated once
into --instances (default: a directory under the system temp dir) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SIZES = [(100, 500), (200, 1000), (300, 1500), (1000, 5000), (1000, 20000)]
QUICK_SIZES = [(100, 500)]
DISTRIBUTIONS = ["arbitrary", "regions"]
SOLVERS = ["rcm", "highs", "scip"]
SEED = 1
MARKET = {"bids": 2000, "regions": 4, "slots": 4}  # the compute market the goal is stated for
QUICK_MARKET = {"bids": 200, "regions": 2, "slots": 2}
NOW = 1_800_000_000  # clearing time for the generated market (its stale bids expired before)


def instance(directory: Path, distribution: str, goods: int, bids: int) -> Path:
    path = directory / f"{distribution}-{goods}x{bids}-seed{SEED}.txt"
    if not path.exists():
        from cats_generator import generate

        with path.open("w") as out:
            generate(distribution, goods, bids, SEED).write(out)  # type: ignore[arg-type]
    return path


def market(directory: Path, spec: dict[str, int]) -> Path:
    path = directory / f"market-{spec['bids']}x{spec['regions']}x{spec['slots']}-seed{SEED}.json"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "rcm", "auction", "generate",
                        *(f"--{key}={value}" for key, value in spec.items()),
                        f"--seed={SEED}", f"--out={path}"], cwd=REPO, check=True)
    return path


def run_rcm(path: Path, time_limit: float, workers: int) -> dict[str, object]:
    process = subprocess.run(
        [sys.executable, "-m", "rcm", "auction", "clear", str(path), "--time-limit",
         str(time_limit), "--workers", str(workers), "--seed", "0", "--now", str(NOW)],
        cwd=REPO, capture_output=True, text=True, timeout=time_limit * 3 + 60, check=True)
    result = json.loads(process.stdout)
    return {"status": result["status"], "objective": result["welfare_micro_usd"],
            "bound": result["bound_micro_usd"], "seconds": result["seconds"]}


def run_peer(solver: str, path: Path, time_limit: float) -> dict[str, object]:
    """In a child process, so that each peer starts with a clean heap like `rcm` does."""
    code = ("import dataclasses, json, sys; from pathlib import Path; "
            f"sys.path.insert(0, {str(HERE)!r}); from peers import PEERS, set_packing; "
            f"r = PEERS[{solver!r}](set_packing(Path({str(path)!r})), {time_limit}); "
            "print(json.dumps(dataclasses.asdict(r)))")
    process = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, timeout=time_limit * 3 + 60, check=True)
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: the smallest size, 10 s per solver")
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers for rcm")
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--only", default="", help="run instances whose name contains this")
    parser.add_argument("--instances", type=Path,
                        default=Path(tempfile.gettempdir()) / "rcm-wdp-instances")
    args = parser.parse_args()
    time_limit = args.time_limit or (10.0 if args.quick else 60.0)
    args.instances.mkdir(parents=True, exist_ok=True)
    for goods, bids in QUICK_SIZES if args.quick else SIZES:
        for distribution in DISTRIBUTIONS:
            path = instance(args.instances, distribution, goods, bids)
            if args.only not in path.name:
                continue
            for solver in args.solvers.split(","):
                outcome = (run_rcm(path, time_limit, args.workers) if solver == "rcm"
                           else run_peer(solver, path, time_limit))
                print(json.dumps({"distribution": distribution, "goods": goods, "bids": bids,
                                  "solver": solver, "time_limit": time_limit, **outcome,
                                  "load": os.getloadavg()[0]}), flush=True)
    spec = QUICK_MARKET if args.quick else MARKET
    if args.only in ("", "market") and "rcm" in args.solvers:
        outcome = run_rcm(market(args.instances, spec), time_limit, args.workers)
        print(json.dumps({"market": spec, "solver": "rcm", "time_limit": time_limit, **outcome,
                          "load": os.getloadavg()[0]}), flush=True)


if __name__ == "__main__":
    main()
