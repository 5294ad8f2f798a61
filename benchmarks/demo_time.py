"""Wall time of `rcm demo` on the embedded chain, contracts already compiled.

Runs the installed `rcm demo --json` `--runs` times, one after the other, each with a fresh
RCM_HOME (the compiler cache is shared, so only the first run of a new checkout compiles), and
prints the times with the 1-minute load average after each run: the machine may be shared.
Run: `python benchmarks/demo_time.py --json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chain.compiler import artifact

RCM = str(Path(sys.executable).with_name("rcm"))


def run_once() -> tuple[float, dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="rcm-demo-bench-") as home:
        started = time.monotonic()
        done = subprocess.run([RCM, "demo", "--json"], env={**os.environ, "RCM_HOME": home},
                              capture_output=True, text=True, check=True)
        return time.monotonic() - started, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    artifact("ClearingHouse")  # compiles every contract once, into the shared cache
    seconds, loads = [], []
    for _ in range(args.runs):
        elapsed, summary = run_once()
        assert summary["jobs"], "the demo ran no jobs"  # type: ignore[index]
        seconds.append(round(elapsed, 1))
        loads.append(round(os.getloadavg()[0], 2))
    result = {"runs": seconds, "median_seconds": statistics.median(seconds),
              "load_average_1m": loads, "goal_seconds": 60}
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
