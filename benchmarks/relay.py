"""Loopback load on the order relay: signed orders taken per second with every check, and the
latency of a book of 10,000 open orders, as one JSON line.

On the embedded chain, a closed round of the settlement tests' market
(`tests/contracts/settlement_fixtures.py`) issues one future to each of ten makers, every one
delivering one unit of item 0; each maker claims it and approves the exchange for its futures
and its USD. Each maker signs 900 sell orders of its future and 100 criteria bids for item 0
(1,000 each: the relay's cap per maker), at distinct prices, before the clock starts. The relay
(indexer store on disk, uvicorn on 127.0.0.1) runs in this process's thread; the load comes
from a child process with its own interpreter, `--concurrency` kept-alive connections sending
raw HTTP/1.1, so the two never share a GIL.

- `relay_post_orders_per_s`: the 10,000 `POST /orders`, each answered 201 after every check
  (signature recovered, terms, status, counter, holding and approval or USD and allowance,
  the cap), divided by the wall time from the first request to the last answer;
- `book_p99_ms` (and `book_p50_ms`): the 99th percentile of 500 `GET /book?item=0&round=R`
  one after another, over a book of all 10,000 orders. As under `rcm market serve`, each read
  first waits for a sync of the index with the chain (`Poller.caught_up`). The relay judges a
  book's orders once per indexed block (`service/books.py`) and adds each order it takes
  since; the chain is still during the run, so these are answers from the judged book, and
  `book_first_ms` is the first answer, which judges all 10,000 orders from SQLite: what the
  first read after each new block costs.

Each figure is the median of `--runs` runs, each on a fresh store. Run:
`python benchmarks/relay.py --json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from eth_account import Account

MAKERS = 10
SELLS_PER_MAKER = 900
BIDS_PER_MAKER = 100
BOOK_REQUESTS = 500
START_TIMESTAMP = 1_900_000_000

# The market it loads is the tests' (tests/ is not an installed package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from chain.system import System


def signed_bodies() -> tuple[System, list[bytes], int]:
    """The system, the order files' JSON (maker by maker), and the round."""
    from chain.bid import Bundle
    from chain.connection import connect
    from chain.deploy import deploy_system
    from chain.exchange import CriteriaOrder, Side, exchange_domain, sign_order
    from tests.contracts.exchange_fixtures import FUTURE_VALUE, Exchange
    from tests.contracts.settlement_fixtures import USD, build_market
    from tokens.trade import OrderFile

    chain = connect()
    if chain.latest_timestamp() < START_TIMESTAMP:
        chain.advance_time(START_TIMESTAMP - chain.latest_timestamp())
    governance, auctioneer, provider, owner = (chain.dev_account(i) for i in range(4))
    makers = [Account.from_key(bytes([0x60 + i]) * 32) for i in range(MAKERS)]
    for maker in makers:
        chain.transfer_eth(governance, maker.address, 10**18)
    system = deploy_system(chain, governance)
    nodes = sorted((Account.from_key(bytes([0x40 + i]) * 32) for i in range(3)),
                   key=lambda node: int(node.address, 16))
    market = build_market(system, governance, auctioneer, provider, owner, makers, nodes)
    round_id = market.open_round()
    bids = [(maker, market.bid(maker, round_id, Bundle((0,), (1,), FUTURE_VALUE), nonce=0))
            for maker in makers]
    market.commit_and_reveal(round_id, *((bid, maker) for maker, bid in bids))
    market.post(round_id, *((bid, 0) for _, bid in bids))
    market.settle(round_id)
    exchange = Exchange(market)
    for maker, bid in bids:
        chain.send(system.clearing_house.functions.claim([market.digest(bid)]), maker)
    exchange.approve(*makers)
    domain = exchange_domain(chain.chain_id, system.exchange.address)
    expiry = chain.latest_timestamp() + 30 * 86_400
    bodies = []
    for index, (maker, bid) in enumerate(bids):
        future = int.from_bytes(market.digest(bid), "big")
        orders: list[object] = [
            exchange.order(maker, Side.SELL, future, 2 * USD + index * 10_000 + n, salt=n,
                           expiry=expiry) for n in range(SELLS_PER_MAKER)]
        orders += [CriteriaOrder(maker.address, round_id, 0, 1, USD - index * 10_000 - n,
                                 expiry, n) for n in range(BIDS_PER_MAKER)]
        for order in orders:
            file = OrderFile.of(order, sign_order(maker, domain, order))  # type: ignore[arg-type]
            bodies.append(file.model_dump_json(exclude_none=True).encode())
    return system, bodies, round_id


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def one_run(system: System, bodies: list[bytes], round_id: int, concurrency: int
            ) -> dict[str, float]:
    from service.background import opened, polling, serving

    with tempfile.TemporaryDirectory() as directory:
        requests = Path(directory) / "requests.json"
        requests.write_text(json.dumps({
            "posts": [http_request("POST", "/orders", b).decode() for b in bodies],
            "book": http_request("GET", f"/book?item=0&round={round_id}").decode()}))
        # As `rcm market serve` runs it: every book read waits for a sync of the chain.
        with opened(system, Path(directory) / "market.sqlite") as service, \
                polling(service.indexer) as poller, \
                serving(service.relay, caught_up=poller.caught_up) as url:
            port = url.rsplit(":", 1)[1]
            answer = subprocess.run(
                [sys.executable, __file__, "--load", str(requests), port,
                 str(concurrency)], check=True, capture_output=True, text=True)
    return dict(json.loads(answer.stdout))


# ---- the load generator, in its own process ----


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    """One request on a kept-alive connection; its status. A raw client: on two cores an
    httpx request would cost the generator about what the relay spends on it."""
    writer.write(request)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) != b"\r\n":
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _load(path: Path, port: int, concurrency: int) -> dict[str, float]:
    loaded = json.loads(path.read_text())
    posts = iter(request.encode() for request in loaded["posts"])
    statuses: dict[int, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in posts:
            status = await _exchange(reader, writer, request)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    post_seconds = time.perf_counter() - started
    if set(statuses) != {201}:
        raise SystemExit(f"not every order was taken: {statuses}")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    book = loaded["book"].encode()
    latencies = []
    for _ in range(BOOK_REQUESTS):
        asked = time.perf_counter()
        if await _exchange(reader, writer, book) != 200:
            raise SystemExit("GET /book failed")
        latencies.append(time.perf_counter() - asked)
    writer.close()
    return {"relay_post_orders_per_s": statuses[201] / post_seconds,
            "book_p99_ms": statistics.quantiles(latencies, n=100, method="inclusive")[98] * 1e3,
            "book_p50_ms": statistics.median(latencies) * 1e3,
            "book_first_ms": latencies[0] * 1e3}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        path, port, concurrency = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        print(json.dumps(asyncio.run(_load(path, port, concurrency))))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    system, bodies, round_id = signed_bodies()
    runs = [one_run(system, bodies, round_id, args.concurrency) for _ in range(args.runs)]
    row = {key: round(statistics.median(run[key] for run in runs), 1) for key in runs[0]}
    row |= {"orders": len(bodies), "runs": args.runs}
    print(json.dumps(row) if args.json else row)


if __name__ == "__main__":
    main()
