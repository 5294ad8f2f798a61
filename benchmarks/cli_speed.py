"""Wall-clock time of `rcm` commands against a Hardhat node, beside Foundry's `cast` on the
same node: issue 17's goals are read-only commands ≤ 0.5 s and signing commands ≤ 1.5 s with
the wallet unlocked.

A fresh `RCM_HOME`, `rcm testnet start` on a free port, a funded and staked wallet and an open
round with one ask; then each command run `--repeat` times in a new process (as a user types
it), reporting the median and the fastest, in seconds. The signing commands run twice: with
RCM_PASSWORD (the keystore is decrypted, ~1 s of scrypt) and, when `rcm wallet unlock` exists,
with the wallet unlocked in its agent and no password in the environment. `cast` is the npm
package `@foundry-rs/cast`, a devDependency (`npm ci` puts it in node_modules/.bin).

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
RCM = [sys.executable, "-m", "rcm"]
PASSWORD = "cli-speed"
ASKS = {"asks": [{"kind": "gpu", "region": "euw1", "slot": "2027-06-07",
                  "slot_seconds": 604_800, "tier": "certified", "unit": "gpu-week",
                  "capacity": 8, "reserve_price": 100_000_000}]}
# One unit of the ask at its reserve: each run commits a new bid, locking 100 USD of deposit
# and 10 CST of stake (the launch rubric scores this inference job on public data 1,000 bps:
# 10 % of its value).
DECLARATION = {"task": "inference", "model_parameters": 10**9, "job_flop": 10**18,
               "model_flop": 10**21, "data_categories": ["public"],
               "mainly_biological_sequences": False, "capabilities": [], "practices": [],
               "purpose": "general", "release": "internal"}
BIDS = {"bids": [{"bundles": [{"items": {"0": 1}, "value": 100_000_000}],
                  "declaration": DECLARATION}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object per command")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="rcm-cli-speed-"))
    port = free_port()
    rpc = f"http://127.0.0.1:{port}"
    env = {**os.environ, "RCM_HOME": str(home), "RCM_PASSWORD": PASSWORD}
    no_password = {k: v for k, v in env.items() if k != "RCM_PASSWORD"}

    def rcm(*command: str) -> str:
        done = subprocess.run([*RCM, *command], env=env, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise SystemExit(f"rcm {' '.join(command)}: {done.stderr.strip()}")
        return done.stdout

    def timed(name: str, command: list[str], command_env: dict[str, str]) -> None:
        seconds = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(command, env=command_env, capture_output=True, check=True)
            seconds.append(time.perf_counter() - start)
        row = {"command": name, "median_s": round(statistics.median(seconds), 3),
               "min_s": round(min(seconds), 3), "runs": args.repeat}
        print(json.dumps(row) if args.json else row, flush=True)

    rcm("testnet", "start", "--port", str(port))
    try:
        rcm("wallet", "new", "alice")
        rcm("wallet", "new", "acme")
        rcm("testnet", "fund", "alice", "--cst", "500", "--usd", "5000", "--rpc", rpc)
        rcm("testnet", "fund", "acme", "--cst", "100", "--rpc", rpc)
        rcm("wallet", "stake", "alice", "200", "--rpc", rpc)  # what the bids lock
        rcm("wallet", "bond", "acme", "80", "--rpc", rpc)  # 10 CST per unit offered
        opened = json.loads(rcm("round", "open", "--json", "--rpc", rpc))
        round_id = str(opened["round"])
        asks, bids = home / "asks.json", home / "bids.json"
        asks.write_text(json.dumps(ASKS))
        bids.write_text(json.dumps(BIDS))
        rcm("wallet", "ask", "acme", str(asks), "--round", round_id, "--rpc", rpc)
        address = json.loads(rcm("wallet", "balance", "alice", "--json", "--rpc", rpc))["address"]
        reads = {
            "rcm wallet balance": [*RCM, "wallet", "balance", "alice", "--rpc", rpc],
            "rcm round status": [*RCM, "round", "status", round_id, "--rpc", rpc],
        }
        signs = {
            "rcm wallet stake": [*RCM, "wallet", "stake", "alice", "1", "--rpc", rpc],
            "rcm wallet bid": [*RCM, "wallet", "bid", "alice", str(bids), "--round", round_id,
                               "--rpc", rpc],
        }
        if CAST.exists():
            timed("cast balance (reference)",
                  [str(CAST), "balance", address, "--rpc-url", rpc], env)
        else:
            print(json.dumps({"command": "cast balance (reference)",
                              "skipped": "cast is not installed: npm ci"}))
        for name, command in reads.items():
            timed(name, command, env)
        for name, command in signs.items():
            timed(f"{name} (keystore, RCM_PASSWORD)", command, env)
        unlocked = subprocess.run([*RCM, "wallet", "unlock", "alice", "--for", "15m"],
                                  env=env, capture_output=True, text=True, check=False)
        if unlocked.returncode == 0:
            for name, command in signs.items():
                timed(f"{name} (unlocked in the agent)", command, no_password)
        else:
            print(json.dumps({"command": "unlocked signing",
                              "skipped": unlocked.stderr.strip()[-200:]}))
        timed("rcm --help (imports only)", [*RCM, "--help"], env)
    finally:
        for stop in (["wallet", "lock", "alice"], ["testnet", "stop"]):
            subprocess.run([*RCM, *stop], env=env, capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
