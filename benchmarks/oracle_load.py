"""Loopback load on one oracle node: verified attestations per second, latency, ε memo use.

Sets up a software enclave and a one-node oracle set in a temporary directory, starts
`rcm oracle serve` as its own process, signs every attestation (and so every nonce) before
the clock starts, then keeps `--concurrency` requests in flight through three phases:

- cached phase (`--duration`): jobs drawn round-robin from `--configs` DP-SGD configurations,
  so after the first request of each the node's ε comes from its memo (`rps`, `p50_ms`,
  `p99_ms`, `cache_hit_rate`);
- new-steps phase (`--steps-duration`): every job a (σ, q) of the mix with a step count T
  outside it, each (σ, q, T) once, so the node misses its ε memo but reuses the one-step RDP
  curve it keeps per (σ, q) (`uncached_steps_rps`, `uncached_steps_p50_ms`,
  `uncached_steps_p99_ms`, `curve_hit_rate`);
- uncached phase (`--uncached-duration`): every job a (σ, q) the node has never seen, so
  every request runs dp-accounting's RDP accountant for one step's curve (`uncached_rps`).

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
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from oracle.attester import attest, make_evidence, new_enclave, read_enclave, write_enclave
from oracle.config import init_oracle_dir
from oracle.node.spawn import free_port, spawn_node

PASSWORD = "oracle-load-benchmark"
DATASET = "0x" + "d1" * 32


@dataclass
class Phase:
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return len(self.latencies_s) + sum(self.failures.values())

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


def cache_counters(url: str) -> dict[str, float]:
    """The node's hits and misses of its ε memo and of its RDP curve cache, by metric name."""
    text = httpx.get(f"{url}/metrics").text
    counters = dict(re.findall(r"^rcm_oracle_(\w+_cache_\w+)_total (\S+)$", text, re.M))
    assert len(counters) == 4, "the node exports its ε memo and RDP curve counters"
    return {name: float(value) for name, value in counters.items()}


def hit_rate(before: dict[str, float], after: dict[str, float], cache: str) -> float:
    hits = after[f"{cache}_cache_hits"] - before[f"{cache}_cache_hits"]
    misses = after[f"{cache}_cache_misses"] - before[f"{cache}_cache_misses"]
    return round(hits / (hits + misses), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="cached phase, seconds")
    parser.add_argument("--steps-duration", type=float, default=10.0, help="new T, seconds")
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
        configs = dp_configs(args.configs)
        cached = sign_requests(enclave, port, pool, configs, None)
        seen = sorted({(sigma, rate) for sigma, rate, _ in configs})
        mix_steps = {steps for *_, steps in configs}
        # Below the mix's largest T, ε stays under the policies' caps: verdicts stay compliant
        # and cost what the cached phase's do, so only the ε computation differs.
        new_steps = [
            (sigma, rate, steps)
            for steps in range(1, max(mix_steps))
            if steps not in mix_steps
            for sigma, rate in seen
        ][: int(args.steps_duration * 1000)]
        steps_requests = sign_requests(enclave, port, len(new_steps), new_steps, None)
        # A claim above any recomputed ε is truthful, so the node must still run the accountant.
        unseen = [(1.0 + i / 10_000, 0.01, 1000) for i in range(max(1, pool // 20))]
        uncached = sign_requests(enclave, port, len(unseen), unseen, claimed=50.0)

        url = f"http://127.0.0.1:{port}"
        node = spawn_node(directory / "oracle" / f"{config.name}.toml", port, PASSWORD)
        try:
            before = cache_counters(url)
            load = asyncio.run(run_phase(port, cached, args.concurrency, args.duration))
            after = cache_counters(url)
            warm = asyncio.run(
                run_phase(port, steps_requests, args.concurrency, args.steps_duration)
            )
            after_steps = cache_counters(url)
            cold = asyncio.run(run_phase(port, uncached, args.concurrency, args.uncached_duration))
        finally:
            node.send_signal(signal.SIGTERM)
            node.wait(timeout=30)

    result = {
        "rps": round(load.rps, 1),
        "p50_ms": round(load.percentile_ms(50), 2),
        "p99_ms": round(load.percentile_ms(99), 2),
        "cache_hit_rate": hit_rate(before, after, "epsilon"),
        "uncached_steps_rps": round(warm.rps, 1),
        "uncached_steps_p50_ms": round(warm.percentile_ms(50), 2),
        "uncached_steps_p99_ms": round(warm.percentile_ms(99), 2),
        "curve_hit_rate": hit_rate(after, after_steps, "rdp_curve"),
        "uncached_rps": round(cold.rps, 1),
        "uncached_p50_ms": round(cold.percentile_ms(50), 2),
        "requests": len(load.latencies_s),
        "failures": load.failures | warm.failures | cold.failures,
        "seconds": round(load.seconds, 1),
        "concurrency": args.concurrency,
        "dp_configs": args.configs,
        "pool_exhausted": load.answered >= len(cached) or warm.answered >= len(steps_requests),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")


if __name__ == "__main__":
    main()
