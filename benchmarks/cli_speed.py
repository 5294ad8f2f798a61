"""Wall-clock time of `rcm` commands against a Hardhat node, beside Foundry's `cast` on the
same node: the baseline for issue 17's goals (read-only commands ≤ 0.5 s, signing commands
≤ 1.5 s with the wallet unlocked).

A fresh `RCM_HOME`, `rcm testnet start` on a free port, a wallet funded with CST and an open
round with one ask; then each command run `--repeat` times in a new process (as a user types
it), reporting the median and the fastest, in seconds. `cast` is the npm package
`@foundry-rs/cast` (`npm install` puts it in node_modules/.bin).

    python benchmarks/cli_speed.py --json [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from oracle.node.spawn import free_port

ROOT = Path(__file__).resolve().parent.parent
CAST = ROOT / "node_modules" / ".bin" / "cast"
PASSWORD = "cli-speed"
ASKS = {"asks": [{"kind": "gpu", "region": "euw1", "slot": "2027-06-07",
                  "slot_seconds": 604_800, "tier": "certified", "unit": "gpu-week",
                  "capacity": 8, "reserve_price": 100_000_000}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object per command")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="rcm-cli-speed-"))
    port = free_port()
    rpc = f"http://127.0.0.1:{port}"
    env = {**os.environ, "RCM_HOME": str(home), "RCM_PASSWORD": PASSWORD}

    def rcm(*command: str) -> str:
        done = subprocess.run([sys.executable, "-m", "rcm", *command], env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"rcm {' '.join(command)}: {done.stderr.strip()}")
        return done.stdout

    rcm("testnet", "start", "--port", str(port))
    try:
        rcm("wallet", "new", "alice")
        rcm("wallet", "new", "acme")
        rcm("testnet", "fund", "alice", "--cst", "100", "--rpc", rpc)
        rcm("testnet", "fund", "acme", "--cst", "100", "--rpc", rpc)
        rcm("wallet", "bond", "acme", "80", "--rpc", rpc)  # 10 CST per unit offered
        opened = json.loads(rcm("round", "open", "--json", "--rpc", rpc))
        round_id = str(opened["round"])
        asks = home / "asks.json"
        asks.write_text(json.dumps(ASKS))
        rcm("wallet", "ask", "acme", str(asks), "--round", round_id, "--rpc", rpc)
        address = json.loads(rcm("wallet", "balance", "alice", "--json", "--rpc", rpc))["address"]
        commands = {
            "cast balance (reference)": [str(CAST), "balance", address, "--rpc-url", rpc],
            "rcm wallet balance": [sys.executable, "-m", "rcm", "wallet", "balance", "alice",
                                   "--rpc", rpc],
            "rcm round status": [sys.executable, "-m", "rcm", "round", "status", round_id,
                                 "--rpc", rpc],
            "rcm wallet stake (signs)": [sys.executable, "-m", "rcm", "wallet", "stake", "alice",
                                         "1", "--rpc", rpc],
            "rcm --help (imports only)": [sys.executable, "-m", "rcm", "--help"],
        }
        for name, command in commands.items():
            if command[0] == str(CAST) and not CAST.exists():
                print(json.dumps({"command": name, "skipped": "cast is not installed"}))
                continue
            seconds = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                subprocess.run(command, env=env, capture_output=True, check=True)
                seconds.append(time.perf_counter() - start)
            row = {"command": name, "median_s": round(statistics.median(seconds), 3),
                   "min_s": round(min(seconds), 3), "runs": args.repeat}
            print(json.dumps(row) if args.json else row)
    finally:
        subprocess.run([sys.executable, "-m", "rcm", "testnet", "stop"], env=env,
                       capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
