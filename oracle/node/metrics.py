"""Prometheus metrics of one node, in a registry of its own (several nodes can share a process)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from oracle.accountant import cache_stats


class _EpsilonCache(Collector):
    def collect(self) -> Iterator[Metric]:
        stats = cache_stats()
        yield CounterMetricFamily(
            "rcm_oracle_epsilon_cache_hits",
            "ε recomputations answered from the memo",
            value=stats.epsilon_hits,
        )
        yield CounterMetricFamily(
            "rcm_oracle_epsilon_cache_misses",
            "ε recomputations from a one-step RDP curve, kept or new",
            value=stats.epsilon_misses,
        )
        yield CounterMetricFamily(
            "rcm_oracle_rdp_curve_cache_hits",
            "ε recomputations for a (σ, q) whose one-step RDP curve was kept",
            value=stats.curve_hits,
        )
        yield CounterMetricFamily(
            "rcm_oracle_rdp_curve_cache_misses",
            "One-step RDP curves computed by the RDP accountant",
            value=stats.curve_misses,
        )


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.verdicts = Counter(
            "rcm_oracle_verdicts",
            "Verdicts signed, by outcome",
            ["verdict"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "rcm_oracle_rejections",
            "Attestations refused, by failed check",
            ["check"],
            registry=self.registry,
        )
        self.judge_seconds = Histogram(
            "rcm_oracle_judge_seconds",
            "Verify, evaluate, sign and store one attestation",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.registry.register(_EpsilonCache())

    def render(self) -> bytes:
        return generate_latest(self.registry)
