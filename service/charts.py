"""The dashboard's Vega-Lite charts, as specs with their data inline: the browser draws them
with vega-embed and asks the server nothing more."""

from __future__ import annotations

from collections import Counter
from typing import Any

from service.dashboard_models import BudgetsPublic, PricesPublic, SafetyPublic

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
MICROS_PER_USD = 1_000_000
WEI_PER_CST = 10**18
MICROS_PER_EPSILON = 10**6
# The stake's life on the safety page's chart: locked by bids and redemptions, released, burned.
STAKE_MOVES = ("stake_locked", "stake_released", "stake_burned")
BUDGET_KINDS = ("held", "reserved", "consumed")
TIME_AXIS = {"field": "time", "type": "temporal", "title": "time (UTC)", "scale": {"type": "utc"},
             "axis": {"format": "%Y-%m-%d %H:%M"}}


def prices_chart(prices: PricesPublic) -> dict[str, Any]:
    """USD per unit over time: a colour per item and per index, a dash per source (clearing,
    trade, index); the legend picks one out."""
    rows = [{"time": p.timestamp * 1_000, "usd": p.price_per_unit_micro_usd / MICROS_PER_USD,
             "series": p.item, "source": p.source} for p in prices.prices]
    rows += [{"time": i.timestamp * 1_000, "usd": i.index_micro_usd / MICROS_PER_USD,
              "series": f"index {i.resource} {i.region}", "source": "index"}
             for i in prices.index]
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": 320,
        "data": {"values": rows},
        "mark": {"type": "line", "point": True},
        # A click on a legend entry picks out that item or index; the rest fade.
        "params": [{"name": "picked", "select": {"type": "point", "fields": ["series"]},
                    "bind": "legend"}],
        "encoding": {
            "x": TIME_AXIS,
            "y": {"field": "usd", "type": "quantitative", "title": "USD per unit"},
            "color": {"field": "series", "type": "nominal", "title": None,
                      "legend": {"labelLimit": 360, "orient": "bottom", "columns": 2}},
            "strokeDash": {"field": "source", "type": "nominal", "title": None},
            "opacity": {"condition": {"param": "picked", "value": 1}, "value": 0.15},
            "tooltip": [{"field": "series"}, {"field": "source"},
                        {"field": "usd", "title": "USD per unit"},
                        {"field": "time", "type": "temporal", "format": "%Y-%m-%d %H:%M:%S"}],
        },
    }


def safety_chart(safety: SafetyPublic) -> dict[str, Any]:
    """CST locked, released and burned so far, over time, one line per kind of move."""
    so_far: Counter[str] = Counter()
    rows = []
    for move in safety.moves:
        if move.kind in STAKE_MOVES:
            so_far[move.kind] += move.amount_wei
            rows.append({"time": move.timestamp * 1_000, "kind": move.kind,
                         "amount": so_far[move.kind] / WEI_PER_CST})
    return _step_chart(rows, "CST so far", STAKE_MOVES)


def budgets_chart(budgets: BudgetsPublic) -> dict[str, Any]:
    """Each dataset's ε held, reserved and consumed over time, a dash per dataset."""
    rows = [{"time": p.timestamp * 1_000, "kind": kind, "dataset": p.dataset[:10] + "…",
             "amount": getattr(p, f"{kind}_micro_epsilon") / MICROS_PER_EPSILON}
            for p in budgets.history for kind in BUDGET_KINDS]
    return _step_chart(rows, "ε", BUDGET_KINDS, {"strokeDash": {
        "field": "dataset", "type": "nominal", "title": None}})


def _step_chart(rows: list[dict[str, Any]], title: str, kinds: tuple[str, ...],
                encoding: dict[str, Any] | None = None) -> dict[str, Any]:
    """An amount that changes at events, a line per kind; the step holds it between them."""
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": 260,
        "data": {"values": rows},
        "mark": {"type": "line", "point": True, "interpolate": "step-after"},
        "encoding": {
            "x": TIME_AXIS,
            "y": {"field": "amount", "type": "quantitative", "title": title},
            "color": {"field": "kind", "type": "nominal", "title": None,
                      "scale": {"domain": list(kinds)}, "legend": {"orient": "bottom"}},
            "tooltip": [{"field": "kind"}, {"field": "amount", "title": title},
                        {"field": "time", "type": "temporal", "format": "%Y-%m-%d %H:%M:%S"}],
            **(encoding or {}),
        },
    }
