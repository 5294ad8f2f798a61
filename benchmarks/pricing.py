"""Ethical Pricing Function against VCG and pay-as-bid on generated compute markets.

    python benchmarks/pricing.py [--quick] [--plot benchmarks/pricing.png] > pricing.jsonl

For each `rcm auction generate` market (2 regions, 2 slots, seed 1) the allocation is cleared
once and priced three ways: the EPF (market/pricing.py, default weights), VCG (each winner pays
the welfare the others lose by its presence; one re-clear per winner, so only up to 500 bids),
and pay-as-bid. Per rule it prints one JSON line: revenue and buyer surplus (micro-USD), the
core violation (micro-USD: how much more a blocking coalition of buyers and providers would
offer than the providers and the auctioneer get; 0 is in the core), and the price dispersion
between identical resources (unit-weighted mean over items of the coefficient of variation of
the per-unit price the item's buyers pay, each payment split over its items by their reserve
prices). `epf-competitive` is the EPF with zero privacy, safety and equity weights: its
supply-and-demand prices alone. One more line gives the EPF's seconds on a 2,000-bid market.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from market.generate import generate_market
from market.model import Market, PricingWeights, RiskRating
from market.pricing import price
from market.result import Clearing, PricedClearing
from market.wdp import SolveParams, clear

NOW = 1_800_000_000  # clearing time: the generated stale bids expired before it
SIZES = [100, 250, 500]
QUICK_SIZES = [100]
TIMING_BIDS = 2_000
CLEAR = SolveParams(time_limit=30.0, workers=2, seed=0)
RECLEAR = SolveParams(time_limit=3.0, workers=2, seed=0)  # per VCG re-clear and core check
ZERO_WEIGHTS = PricingWeights(privacy_bps=0, safety_bps=dict.fromkeys(RiskRating, 0),
                              equity_discount_bps=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 bids only, no timing run")
    parser.add_argument("--plot", type=Path, help="write the comparison as a PNG here")
    args = parser.parse_args()
    rows = []
    for bids in QUICK_SIZES if args.quick else SIZES:
        market = generate_market(bids, 2, 2, seed=1)
        clearing = clear(market, NOW, CLEAR)
        for rule, paid, extra in compare(market, clearing):
            row = {"bids": bids, "winners": len(clearing.allocation), "rule": rule,
                   **measure(market, clearing, paid), **extra}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if not args.quick:
        print(json.dumps(timing(generate_market(TIMING_BIDS, 4, 4, seed=1))), flush=True)
    if args.plot:
        plot(rows, args.plot)


def compare(market: Market, clearing: Clearing
            ) -> list[tuple[str, dict[str, int], dict[str, object]]]:
    values = bundle_values(market, clearing)
    priced = price(market, clearing, NOW)
    competitive = price(market.model_copy(update={"policy": market.policy.model_copy(
        update={"pricing": ZERO_WEIGHTS})}), clearing, NOW)
    vcg, proven = vcg_payments(market, clearing, values)
    return [("epf", totals(priced), {"competitive_violation": priced.competitive_violation}),
            ("epf-competitive", totals(competitive),
             {"competitive_violation": competitive.competitive_violation}),
            ("vcg", vcg, {"reclears_proven_optimal": proven}),
            ("pay-as-bid", values, {})]


def totals(priced: PricedClearing) -> dict[str, int]:
    return {payment.winner: payment.total for payment in priced.payments}


def bundle_values(market: Market, clearing: Clearing) -> dict[str, int]:
    bids = {bid.id: bid for bid in market.bids}
    return {fill.bid: bids[fill.bid].bundles[fill.bundle].value for fill in clearing.allocation}


def vcg_payments(market: Market, clearing: Clearing, values: dict[str, int]
                 ) -> tuple[dict[str, int], str]:
    """p_w = W(without w) - (W - v_w): the harm w's presence does to everyone else, providers'
    reserve costs included. A re-clear stopped by its time limit underestimates W(without w),
    so the count of proven re-clears goes with the figures."""
    payments, proven = {}, 0
    for winner, value in values.items():
        others = market.model_copy(update={"bids": [bid for bid in market.bids
                                                    if bid.id != winner]})
        without = clear(others, NOW, RECLEAR)
        proven += without.status == "optimal"
        payments[winner] = max(without.welfare - (clearing.welfare - value), 0)
    return payments, f"{proven}/{len(values)}"


def measure(market: Market, clearing: Clearing, paid: dict[str, int]) -> dict[str, object]:
    values = bundle_values(market, clearing)
    revenue = sum(paid.values())
    return {"revenue": revenue, "buyer_surplus": sum(values.values()) - revenue,
            "core_violation": core_violation(market, clearing, paid),
            "dispersion": dispersion(market, clearing, paid)}


def core_violation(market: Market, clearing: Clearing, paid: dict[str, int]) -> int:
    """max over coalitions C of W(C) - Σ_{w in C} (v_w - p_w) - (revenue - reserve cost): a
    winner in C brings its winning surplus with it, so the best coalition is the welfare-
    maximising allocation once each winner's bundles are worth its surplus less (Day & Raghavan
    2007)."""
    values = bundle_values(market, clearing)
    bids = [bid.model_copy(update={"bundles": [
        bundle.model_copy(update={"value": max(bundle.value - (values[bid.id] - paid[bid.id]),
                                               0)}) for bundle in bid.bundles]})
        if bid.id in values else bid for bid in market.bids]
    blocking = clear(market.model_copy(update={"bids": bids}), NOW, RECLEAR)
    reserve_cost = sum(values.values()) - clearing.welfare
    return max(blocking.welfare - (sum(paid.values()) - reserve_cost), 0)


def dispersion(market: Market, clearing: Clearing, paid: dict[str, int]) -> float:
    cheapest = {item_id: max(steps[0][0], 1) if steps else 1
                for item_id, steps in market.supply_curve.items()}
    unit_prices: dict[str, list[float]] = {}
    for fill in clearing.allocation:
        weight = sum(cheapest[item_id] * units for item_id, units in fill.items.items())
        for item_id, units in fill.items.items():
            unit_prices.setdefault(item_id, []).extend(
                [paid[fill.bid] * cheapest[item_id] / weight] * units)
    spread = [(len(prices), statistics.pstdev(prices) / statistics.fmean(prices))
              for prices in unit_prices.values() if statistics.fmean(prices) > 0]
    return round(sum(n * cv for n, cv in spread) / max(sum(n for n, _ in spread), 1), 4)


def timing(market: Market) -> dict[str, object]:
    clearing = clear(market, NOW, CLEAR)
    started = time.perf_counter()
    priced = price(market, clearing, NOW)
    return {"bids": len(market.bids), "winners": len(clearing.allocation), "rule": "epf",
            "pricing_seconds": round(time.perf_counter() - started, 2),
            "competitive_violation": priced.competitive_violation}


def plot(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({int(str(row["bids"])) for row in rows})
    rules = ["pay-as-bid", "epf", "epf-competitive", "vcg"]
    panels = [("revenue", "revenue, M USD"), ("buyer_surplus", "buyer surplus, M USD"),
              ("core_violation", "core violation, M USD")]
    figure, axes = plt.subplots(1, len(panels), figsize=(12, 3.6))
    width = 0.8 / len(rules)
    for axis, (key, title) in zip(axes, panels, strict=True):
        for n, rule in enumerate(rules):
            heights = [next(float(str(row[key])) for row in rows
                            if row["bids"] == size and row["rule"] == rule) / 1e12
                       for size in sizes]
            axis.bar([s + (n - 1.5) * width for s in range(len(sizes))], heights, width,
                     label=rule)
        axis.set_xticks(range(len(sizes)), [f"{size} bids" for size in sizes])
        axis.set_title(title)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
