"""The simulator's speed: seconds per round of one market by bids per round, and the speed-up a
sweep gets from a second Dask worker.

    python benchmarks/simulate.py --json [--repeat 3] [--rounds 3] [--quick]

(a) One market (sim.run.simulate, in this process, one CP-SAT worker, a tenth of the bids from
speculators, two market makers, a fifth of the users late, `lottery_seeds = 0`) of `--rounds`
rounds at 100, 500, 1,000 and 2,000 bids per round; the median over `--repeat` seeds of the
seconds of a round, its clearing and secondary trading included (`seconds_per_round`: the goal's
figure), the part of it in winner determination (the rounds' logged `seconds`), the extra solves
apart (`extra_seconds_per_round`: the fundamental's unhurried solve), and the whole run's wall
seconds per round. `seconds_per_round_500_bids` is the 500-bid figure.
(b) The same sweep (2 cells × 4 seeds of 10-round, 300-bid markets) on a local cluster of one
worker process and of two, each into a new directory: wall seconds of the whole `sweep` call,
the cluster's start included, and the speed-up. One JSON object per measurement
with --json, else one dict per line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.config import RunConfig, SweepConfig
from sim.run import simulate
from sim.sweep import sweep

BIDS_PER_ROUND = [100, 500, 1_000, 2_000]
QUICK_BIDS_PER_ROUND = [100, 500]
EXTRA = "extra_seconds_per_round"
TRADED = {"speculator_share": 0.1, "market_makers": 2, "late_user_share": 0.2,
          "lottery_seeds": 0}
SWEEP = {"base": {"rounds": 10, "bids_per_round": 300, **TRADED},
         "grid": {"time_limit": [0.5], "speculator_share": [0.0, 0.3]}, "seeds": 4}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--repeat", type=int, default=3, help="seeds per size; the median")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per market")
    parser.add_argument("--quick", action="store_true", help="100 and 500 bids only")
    args = parser.parse_args()
    rows = [round_time(bids, args.rounds, args.repeat)
            for bids in (QUICK_BIDS_PER_ROUND if args.quick else BIDS_PER_ROUND)]
    at_500 = next(row for row in rows if row["bids_per_round"] == 500)
    rows.append({"measure": "seconds_per_round_500_bids",
                 "seconds_per_round_500_bids": at_500["seconds_per_round"]})
    rows.append(speed_up())
    for row in rows:
        print(json.dumps(row) if args.json else row, flush=True)


def round_time(bids: int, rounds: int, repeat: int) -> dict[str, Any]:
    """Median wall seconds per round of a market with `bids` bids per round."""
    config = RunConfig.model_validate({"rounds": rounds, "bids_per_round": bids, **TRADED})
    totals, rounds_alone, clearing, extra = [], [], [], []
    for seed in range(1, repeat + 1):
        started = time.perf_counter()
        result = simulate(config, seed)
        totals.append((time.perf_counter() - started) / rounds)
        rounds_alone.append(result.metrics["seconds_per_round"])
        clearing.append(sum(log.seconds for log in result.rounds) / rounds)
        extra.append(result.metrics[EXTRA])
    return {"measure": "round", "bids_per_round": bids, "rounds": rounds, "runs": repeat,
            "seconds_per_round": round(statistics.median(rounds_alone), 4),
            "wdp_seconds_per_round": round(statistics.median(clearing), 4),
            EXTRA: round(statistics.median(extra), 4),
            "wall_seconds_per_round": round(statistics.median(totals), 4)}


def speed_up() -> dict[str, Any]:
    """The same sweep on one local worker process and on two."""
    config = SweepConfig.model_validate(SWEEP)
    seconds = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix="rcm-sim-bench-") as directory:
            started = time.perf_counter()
            sweep(config, Path(directory) / "sweep", workers=workers)
            seconds[workers] = time.perf_counter() - started
    return {"measure": "sweep", "runs": config.seeds * len(config.cells()),
            "bids_per_round": config.base.bids_per_round, "rounds": config.base.rounds,
            "one_worker_seconds": round(seconds[1], 2), "two_workers_seconds": round(seconds[2], 2),
            "speed_up": round(seconds[1] / seconds[2], 2)}


if __name__ == "__main__":
    main()
