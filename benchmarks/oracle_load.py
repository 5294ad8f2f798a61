"""Loopback load on one oracle node: verified attestations per second, latency, ε memo use.

Sets up a software enclave and a one-node oracle set in a temporary directory, starts
`rcm oracle serve` as its own process, signs every attestation (and so every nonce) before
the clock starts, then keeps `--concurrency` requests in flight for `--duration` seconds:

- cached phase: jobs drawn round-robin from `--configs` DP-SGD configurations, so after the
  first request of each the node's ε comes from its memo (`rps`, `p50_ms`, `p99_ms`,
  `cache_hit_rate`);
- uncached phase: every job a configuration the node has never seen, so every request runs
  dp-accounting's RDP accountant (`uncached_rps`).

Only answers with status 201 (a signed verdict) count. Run: `python benchmarks/oracle_load.py
--json`; the load stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from oracle.attester import attest, make_evidence, new_enclave, read_enclave, write_enclave
from oracle.config import init_oracle_dir

PASSWORD = "oracle-load-benchmark"
DATASET = "0x" + "d1" * 32


@dataclass
class Phase:
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies_s) / self.seconds

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies_s, n=100, method="inclusive")[q - 1] * 1000


def dp_configs(count: int) -> list[tuple[float, float, int]]:
    """(σ, q, T) of typical DP-SGD runs, all within the example policies' ε ≤ 3."""
    sigmas, rates, steps = (1.0, 1.1, 1.3, 1.5), (0.004, 0.01), (500, 1000, 2000)
    grid = [(s, q, t) for s in sigmas for q in rates for t in steps]
    return grid[:count]


def sign_requests(
    directory: Path,
    port: int,
    count: int,
    configs: list[tuple[float, float, int]],
    claimed: float | None,
) -> list[bytes]:
    """`count` HTTP requests, each a fresh job and nonce, signed before any is sent."""
    enclave, now = read_enclave(directory), int(time.time())
    requests = []
    for index in range(count):
        sigma, rate, steps = configs[index % len(configs)]
        evidence = make_evidence(
            "0x" + secrets.token_hex(32),
            [DATASET],
            noise_multiplier=sigma,
            sampling_rate=rate,
            steps=steps,
            delta=1e-5,
            claimed_epsilon=claimed,
            issued_at=now,
        )
        body = attest(enclave, evidence).model_dump_json().encode()
        requests.append(http_post(port, "/attestations", body))
    return requests


async def post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One request on a kept-alive HTTP/1.1 connection; the status code.

    A raw client, because on two cores the load generator shares the CPU with the node: an
    httpx request costs the generator about as much CPU as the node spends judging it.
    """
    writer.write(request)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) != b"\r\n":
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def http_post(port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def run_phase(port: int, requests: list[bytes], concurrency: int, seconds: float) -> Phase:
    phase, queue = Phase(), iter(requests)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in queue:
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            status = await post(reader, writer, request)
            if status == 201:
                phase.latencies_s.append(time.perf_counter() - started)
            else:
                phase.failures[status] = phase.failures.get(status, 0) + 1
        writer.close()
        await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - started
    return phase


def epsilon_cache(url: str) -> tuple[float, float]:
    text = httpx.get(f"{url}/metrics").text
    hits = re.search(r"^rcm_oracle_epsilon_cache_hits_total (\S+)$", text, re.M)
    misses = re.search(r"^rcm_oracle_epsilon_cache_misses_total (\S+)$", text, re.M)
    assert hits and misses, "the node exports its ε memo counters"
    return float(hits.group(1)), float(misses.group(1))


def start_node(config: Path, port: int) -> subprocess.Popen[bytes]:
    command = ["oracle", "serve", "--config", str(config), "--port", str(port)]
    node = subprocess.Popen(
        [sys.executable, "-m", "rcm", *command],
        env={**os.environ, "RCM_PASSWORD": PASSWORD},
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return node
        except httpx.TransportError:
            time.sleep(0.2)
    node.kill()
    raise SystemExit("the node did not come up within 60 s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="cached phase, seconds")
    parser.add_argument("--uncached-duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--configs", type=int, default=20, help="DP configurations in the mix")
    parser.add_argument(
        "--pool", type=int, help="attestations signed in advance; default 1000 per second"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    pool = args.pool or int(args.duration * 1000)

    with tempfile.TemporaryDirectory(prefix="oracle-load-") as tmp:
        directory = Path(tmp)
        write_enclave(directory / "enclave", new_enclave())
        (config,) = init_oracle_dir(
            directory / "oracle",
            nodes=1,
            threshold=1,
            trust_roots=[directory / "enclave" / "root.pem"],
            password=lambda: PASSWORD,
        )
        port = free_port()
        enclave = directory / "enclave"
        cached = sign_requests(enclave, port, pool, dp_configs(args.configs), None)
        # A claim above any recomputed ε is truthful, so the node must still run the accountant.
        unseen = [(1.0 + i / 10_000, 0.01, 1000) for i in range(max(1, pool // 20))]
        uncached = sign_requests(enclave, port, len(unseen), unseen, claimed=50.0)

        url = f"http://127.0.0.1:{port}"
        node = start_node(directory / "oracle" / f"{config.name}.toml", port)
        try:
            before = epsilon_cache(url)
            load = asyncio.run(run_phase(port, cached, args.concurrency, args.duration))
            after = epsilon_cache(url)
            cold = asyncio.run(run_phase(port, uncached, args.concurrency, args.uncached_duration))
        finally:
            node.send_signal(signal.SIGTERM)
            node.wait(timeout=30)

    hits, misses = after[0] - before[0], after[1] - before[1]
    result = {
        "rps": round(load.rps, 1),
        "p50_ms": round(load.percentile_ms(50), 2),
        "p99_ms": round(load.percentile_ms(99), 2),
        "cache_hit_rate": round(hits / (hits + misses), 4),
        "uncached_rps": round(cold.rps, 1),
        "uncached_p50_ms": round(cold.percentile_ms(50), 2),
        "requests": len(load.latencies_s),
        "failures": load.failures | cold.failures,
        "seconds": round(load.seconds, 1),
        "concurrency": args.concurrency,
        "dp_configs": args.configs,
        "pool_exhausted": len(load.latencies_s) + sum(load.failures.values()) >= len(cached),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")


if __name__ == "__main__":
    main()
