"""Prometheus metrics of one relay, in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class RelayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter("rcm_relay_orders_accepted", "Orders the relay took",
                                registry=self.registry)
        self.refused = Counter("rcm_relay_orders_refused", "Orders refused, by failed field",
                               ["field"], registry=self.registry)
        self.book_seconds = Histogram(
            "rcm_relay_book_seconds", "Judge and add up one book",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25), registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
