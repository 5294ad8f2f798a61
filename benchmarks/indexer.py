"""Indexing speed from a Hardhat node: events a fresh index stores per second, as one JSON line.

A Hardhat node (`chain.testnet`, on a free loopback port, as `rcm testnet start` runs it) gets
the system deployed, then `--blocks` blocks of `--per-block` transactions, all sent by the
deployer (the node's unlocked first account, so nothing is signed here): half of each block
transfers the payment token to one of two makers the relay follows (each transfer makes the
indexer read that maker's balance and allowance again at that block), half increments the
deployer's exchange counter (a `counters` row written); `--unfollowed` leaves the makers
unfollowed, to show what the reads of their USD cost. The clock covers one
`Indexer.sync()` on a fresh store from the deploy block to the head, the deployment's own
events included:

- `indexer_events_per_s`: the events that sync stored divided by its wall time;
- `seconds`: that wall time.

Each figure is the median of `--runs` syncs, each into a fresh store. Run:
`python benchmarks/indexer.py --json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

# Run as a script from the repository: its packages are not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from chain.system import System

USD = 10**6
TRANSFER_GAS = 80_000
COUNTER_GAS = 80_000


def generate(system: System, makers: list[str], blocks: int, per_block: int) -> None:
    """Mines `blocks` blocks of `per_block` transactions each from the deployer."""
    chain = system.chain
    sender = chain.dev_account(0).address
    chain.send(system.usd.functions.mint(sender, blocks * per_block * USD), chain.dev_account(0))
    counter = "0x" + system.exchange.functions.incrementCounter().data.hex()
    chain.client.request("evm_setAutomine", [False])
    try:
        for block in range(blocks):
            sends = []
            for n in range(per_block):
                if n % 2:
                    to, data, gas = system.exchange.address, counter, COUNTER_GAS
                else:
                    transfer = system.usd.functions.transfer(makers[(block + n) % 2], USD)
                    to, data, gas = system.usd.address, "0x" + transfer.data.hex(), TRANSFER_GAS
                sends.append(("eth_sendTransaction",
                              [{"from": sender, "to": to, "data": data, "gas": hex(gas)}]))
            chain.client.batch(sends)
            chain.client.request("evm_mine", [])
    finally:
        chain.client.request("evm_setAutomine", [True])


def one_sync(system: System, makers: list[str], followed: bool) -> dict[str, float]:
    from service.background import opened

    with tempfile.TemporaryDirectory() as directory, \
            opened(system, Path(directory) / "market.sqlite") as service:
        indexer = service.indexer
        # The makers' first buy orders made the relay follow their USD, as of before the
        # deployment: every transfer to them is read again at its block.
        indexer.db.executemany("INSERT INTO funds VALUES (?, '0', '0', ?)",
                               [(maker, indexer.last_block) for maker in makers if followed])
        started = time.perf_counter()
        progress = indexer.sync()
        seconds = time.perf_counter() - started
        if progress.last_block != system.chain.block_number():
            raise SystemExit("the sync stopped short of the head")
    return {"indexer_events_per_s": progress.events / seconds, "seconds": seconds,
            "events": progress.events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=200)
    parser.add_argument("--per-block", type=int, default=20)
    parser.add_argument("--unfollowed", action="store_true",
                        help="the relay follows neither maker: no USD is read per block")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["RCM_HOME"] = home
        from chain import testnet
        from chain.connection import connect
        from chain.deploy import deploy_system
        from oracle.node.spawn import free_port

        url = testnet.start(port=free_port())
        try:
            chain = connect(url)
            system = deploy_system(chain, chain.dev_account(0))
            makers: list[str] = [chain.dev_account(i).address for i in (1, 2)]
            generate(system, makers, args.blocks, args.per_block)
            runs = [one_sync(system, makers, not args.unfollowed) for _ in range(args.runs)]
        finally:
            testnet.stop()
    row: dict[str, float] = {key: round(statistics.median(run[key] for run in runs), 3)
                             for key in ("indexer_events_per_s", "seconds")}
    row |= {"events": runs[0]["events"], "blocks": args.blocks, "per_block": args.per_block,
            "followed": 0 if args.unfollowed else len(makers), "runs": args.runs,
            "load_1min": round(os.getloadavg()[0], 2)}
    print(json.dumps(row) if args.json else row)


if __name__ == "__main__":
    main()
