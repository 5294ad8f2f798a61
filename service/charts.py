"""The dashboard's Vega-Lite charts, as specs with their data inline: the browser draws them
with vega-embed and asks the server nothing more."""

from __future__ import annotations

from collections import Counter
from typing import Any

from service.dashboard_models import PricesPublic, SafetyPublic

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
MICROS_PER_USD = 1_000_000
WEI_PER_CST = 10**18
# The stake's life on the safety page's chart: locked by bids and redemptions, released, burned.
STAKE_MOVES = ("stake_locked", "stake_released", "stake_burned")
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
                         "cst": so_far[move.kind] / WEI_PER_CST})
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": 260,
        "data": {"values": rows},
        "mark": {"type": "line", "point": True, "interpolate": "step-after"},
        "encoding": {
            "x": TIME_AXIS,
            "y": {"field": "cst", "type": "quantitative", "title": "CST so far"},
            "color": {"field": "kind", "type": "nominal", "title": None,
                      "scale": {"domain": list(STAKE_MOVES)}, "legend": {"orient": "bottom"}},
            "tooltip": [{"field": "kind"}, {"field": "cst", "title": "CST so far"},
                        {"field": "time", "type": "temporal", "format": "%Y-%m-%d %H:%M:%S"}],
        },
    }
