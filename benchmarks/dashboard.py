"""Dashboard pages at scale: the 95th percentile time of each page, as one JSON line.

A store is seeded through its own tables (`service.store.SCHEMA`), as the indexer would have
filled them, with generated rows: `--rounds` closed and priced rounds of 10 items each, 200
bids per round (20,000 at 100 rounds) all revealed, a quarter of them winning (a future each,
redeemed and judged: 5,000 verdicts, a tenth of them violations whose failed clause an
oracle node gave), the rest lost for a reason; four trades per future
(20,000), and a stake lock per bid plus a release or burn per future in the safety vault. The
app is `rcm market serve`'s (`service.app.create_app`), asked in this process through
FastAPI's TestClient, without a poller (the index does not move):

- `page_p95_ms`: per page (`/rounds`, `/rounds/{id}` of a 200-bid round, `/prices`,
  `/futures`, `/futures?round=` of one round, `/verdicts`, `/safety`, each as HTML), the 95th
  percentile of `--requests` requests one after another, after a first request;
- `page_first_ms`: that first request: the pages that read a whole history (`/prices`, with
  the index over every trade; `/safety`, every vault move) work it out once per indexed block,
  so this is what the first reader after each new block waits.

Each figure is the median of `--runs` runs, each on a freshly seeded store. Run:
`python benchmarks/dashboard.py --json`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script from the repository: its packages are not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ITEMS_PER_ROUND = 10
BIDS_PER_ROUND = 200
WINNERS_PER_ROUND = 50
TRADES_PER_FUTURE = 4
ACCOUNTS = 500
START_TIMESTAMP = 1_900_000_000
ROUND_SECONDS = 3_600
USD = 10**6
CST = 10**18
EXCHANGE = "0x" + "e1" * 20
REGIONS = ("eu-west", "us-east", "ap-south")
RESOURCES = ("gpu-h100", "gpu-a100", "tpu-v5")
REASONS = ("outbid", "below_reserve", "risk_cap", "unselected", "ineligible_tier")


def _address(n: int) -> str:
    from chain.addresses import checksummed

    return checksummed("0x" + n.to_bytes(20, "big").hex())


def _id(*parts: int) -> bytes:
    return b"".join(part.to_bytes(8, "big") for part in parts).rjust(32, b"\0")


def seed(path: Path, rounds: int) -> None:
    """Fills a store at `path` with generated rows (the same every run: a fixed seed)."""
    from service.store import Deployment, connect, open_for, set_meta

    draw = random.Random(21)
    accounts = [_address(0x1000 + n) for n in range(ACCOUNTS)]
    db = connect(path)
    open_for(db, Deployment(31337, 1, bytes(32), EXCHANGE))
    rows: dict[str, list[tuple[object, ...]]] = {table: [] for table in (
        "rounds", "asks", "commitments", "revealed", "awards", "item_prices", "losses",
        "futures", "future_items", "verdicts", "verdict_clauses", "vault_moves", "trades")}
    block = 0
    for round_id in range(1, rounds + 1):
        opened = START_TIMESTAMP + round_id * ROUND_SECONDS
        welfare = draw.randrange(10**9, 10**11)
        rows["rounds"].append((round_id, 1, opened + 600, opened + 1_200, opened + 1_800,
                               opened + 2_400, opened + 2_400, 3_600, opened, 1, welfare, 1,
                               welfare + welfare // 100, 1, 1))
        for item in range(ITEMS_PER_ROUND):
            resource, region = RESOURCES[item % 3], REGIONS[item // 3 % 3]
            rows["asks"].append((round_id, item, 100, opened + 86_400,
                                 accounts[item], f"{resource}/{region}#{item}", resource, region,
                                 draw.randrange(USD, 5 * USD)))
            rows["item_prices"].append((round_id, item, draw.randrange(2 * USD, 20 * USD),
                                        opened + 3_000, block, 0))
        for bid in range(BIDS_PER_ROUND):
            digest, bidder = _id(round_id, bid), accounts[draw.randrange(ACCOUNTS)]
            item = draw.randrange(ITEMS_PER_ROUND)
            units = draw.randrange(1, 5)
            value = draw.randrange(10 * USD, 1_000 * USD)
            block += 1
            rows["commitments"].append((digest, round_id, bidder, value, opened + bid))
            rows["revealed"].append((digest, json.dumps([[[item], [units]]])))
            rows["vault_moves"].append((block, 0, opened + bid, bidder, "stake_locked",
                                        str(draw.randrange(CST, 10 * CST)), None))
            if bid >= WINNERS_PER_ROUND:
                reason = REASONS[bid % len(REASONS)]
                rows["losses"].append((digest, round_id, reason, 0, f"item {item}",
                                       f"{reason}: needs {units} units of item {item}"))
                continue
            payment = draw.randrange(5 * USD, value)
            rows["awards"].append((round_id, 1, 0, bid, digest, 0, value, payment // 2))
            voided = bid % 10 == 0
            rows["futures"].append((digest, round_id, bidder, opened + 86_400,
                                    "voided" if voided else "settled", 1, None, payment,
                                    bidder))
            rows["future_items"].append((digest, round_id, item, units))
            burned = draw.randrange(CST, 5 * CST) if voided else 0
            rows["verdicts"].append((digest, "violation" if voided else "compliant",
                                     1 if voided else 0, _id(round_id, bid, 7),
                                     json.dumps(accounts[:2]), bidder if voided else
                                     accounts[0], payment, str(burned), "0", opened + 7_200))
            if voided:  # as an oracle node gave them (`service.clauses`)
                rows["verdict_clauses"].append((digest, _id(round_id, bid, 7), json.dumps(
                    [{"id": "regulator.epsilon_claim",
                      "reason": "claimed ε 0.5 < recomputed ε 1.71177"}]),
                    "http://127.0.0.1:8701"))
            block += 1
            rows["vault_moves"].append((block, 0, opened + 7_200, bidder,
                                        "stake_burned" if voided else "stake_released",
                                        str(burned or CST), None))
            for trade in range(TRADES_PER_FUTURE):
                block += 1
                rows["trades"].append((block, 0, _id(round_id, bid, trade), digest,
                                       accounts[draw.randrange(ACCOUNTS)],
                                       accounts[draw.randrange(ACCOUNTS)],
                                       draw.randrange(USD, 50 * USD), 0, _id(block),
                                       opened + 3_600 + trade * 60))
    db.execute("BEGIN")
    for table, values in rows.items():
        marks = ",".join("?" * len(values[0]))
        db.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
    set_meta(db, "last_block", block)
    set_meta(db, "head_timestamp", START_TIMESTAMP + (rounds + 2) * ROUND_SECONDS)
    db.execute("COMMIT")
    db.close()


def one_run(rounds: int, requests: int) -> dict[str, dict[str, float]]:
    from fastapi.testclient import TestClient

    from chain.exchange import exchange_domain
    from service.app import create_app
    from service.relay import Relay
    from service.store import connect

    pages = ["/rounds", f"/rounds/{rounds // 2}", "/prices", "/futures",
             f"/futures?round={rounds // 2}", "/verdicts", "/safety"]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "market.sqlite"
        seed(path, rounds)
        db = connect(path)
        try:
            relay = Relay(db, exchange_domain(31337, EXCHANGE), lambda account, price: None)
            p95: dict[str, float] = {}
            first: dict[str, float] = {}
            with TestClient(create_app(relay)) as client:
                for page in pages:
                    asked = time.perf_counter()
                    if client.get(page).status_code != 200:
                        raise SystemExit(f"GET {page} failed")
                    first[page] = (time.perf_counter() - asked) * 1e3
                    seconds = []
                    for _ in range(requests):
                        asked = time.perf_counter()
                        client.get(page)
                        seconds.append(time.perf_counter() - asked)
                    p95[page] = statistics.quantiles(seconds, n=20, method="inclusive")[18] * 1e3
        finally:
            db.close()
    return {"page_p95_ms": p95, "page_first_ms": first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    runs = [one_run(args.rounds, args.requests) for _ in range(args.runs)]
    row = {**{figure: {page: round(statistics.median(run[figure][page] for run in runs), 1)
                        for page in runs[0][figure]}
              for figure in ("page_p95_ms", "page_first_ms")},
           "rounds": args.rounds, "bids": args.rounds * BIDS_PER_ROUND,
           "verdicts": args.rounds * WINNERS_PER_ROUND,
           "trades": args.rounds * WINNERS_PER_ROUND * TRADES_PER_FUTURE,
           "requests": args.requests, "runs": args.runs,
           "load_1min": round(os.getloadavg()[0], 2)}
    print(json.dumps(row) if args.json else row)


if __name__ == "__main__":
    main()
