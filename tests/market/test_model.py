from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from market.errors import MarketError
from market.model import (
    MAX_BUDGET_MICRO_EPSILON,
    MAX_MICRO_EPSILON,
    MAX_MICRO_USD,
    MAX_RISK_CAP,
    MAX_RISK_WEIGHT,
    MAX_TIMESTAMP,
    MAX_UNITS,
    MAX_WELFARE_MICRO_USD,
    Market,
    Policy,
    RiskRating,
)
from market.readers import read_market_json


def instance(**changes: Any) -> dict[str, Any]:
    """A two-item market in the JSON format, with top-level keys replaced by `changes`."""
    document: dict[str, Any] = {
        "items": [{"id": "gpu-use1-s1", "kind": "gpu", "region": "use1", "slot": "s1",
                   "tier": "standard", "unit": "gpu-week"},
                  {"id": "power-use1-s1", "kind": "power", "region": "use1", "slot": "s1",
                   "tier": "standard", "unit": "kW-week"}],
        "asks": [{"provider": "p", "item": "gpu-use1-s1", "capacity": 8, "reserve_price": 10},
                 {"provider": "q", "item": "gpu-use1-s1", "capacity": 4, "reserve_price": 30},
                 {"provider": "p", "item": "power-use1-s1", "capacity": 10,
                  "reserve_price": 2}],
        "bids": [{"id": "b1", "buyer": "lab",
                  "bundles": [{"items": {"gpu-use1-s1": 4, "power-use1-s1": 4},
                               "value": 500}]}],
    }
    document.update(changes)
    return document


def rejection(document: dict[str, Any]) -> str:
    with pytest.raises(MarketError) as caught:
        read_market_json(json.dumps(document))
    return str(caught.value)


def test_market_reads_with_defaults_for_optional_bid_fields() -> None:
    market = read_market_json(json.dumps(instance()))
    bid = market.bids[0]
    assert (bid.epsilon_micros, market.rating(bid), bid.expiry) == (0, RiskRating.LOW, None)
    assert market.capacity == {"gpu-use1-s1": 12, "power-use1-s1": 10}


def test_supply_curve_orders_asks_cheapest_first() -> None:
    market = read_market_json(json.dumps(instance()))
    assert market.supply_curve["gpu-use1-s1"] == [(10, 8), (30, 4)]


@pytest.mark.parametrize(("taken", "units", "cost"), [
    (0, 4, 40), (0, 8, 80), (6, 4, 2 * 10 + 2 * 30), (8, 4, 120), (0, 12, 80 + 120)])
def test_supply_cost_walks_the_curve_from_what_is_taken(taken: int, units: int,
                                                        cost: int) -> None:
    market = read_market_json(json.dumps(instance()))
    assert market.supply_cost("gpu-use1-s1", taken, units) == cost


def test_unknown_item_in_a_bundle_names_the_field_path() -> None:
    bids = [{"id": "b1", "buyer": "x", "bundles": [{"items": {"gpu-euw1-s1": 1}, "value": 1}]}]
    assert rejection(instance(bids=bids)) == "bids[0].bundles[0].items.gpu-euw1-s1: unknown item"


def test_negative_quantity_names_the_field_path() -> None:
    bids = [{"id": "b1", "buyer": "x", "bundles": [{"items": {"gpu-use1-s1": -2}, "value": 1}]}]
    assert rejection(instance(bids=bids)).startswith(
        "bids[0].bundles[0].items.gpu-use1-s1: Input should be greater than 0")


def test_duplicate_bid_id_is_rejected() -> None:
    bid = {"id": "b1", "buyer": "x", "bundles": [{"items": {"gpu-use1-s1": 1}, "value": 1}]}
    assert rejection(instance(bids=[bid, bid])) == "bids[1].id: duplicate bid id 'b1'"


def test_duplicate_item_id_is_rejected() -> None:
    items = instance()["items"]
    assert rejection(instance(items=[*items, items[0]])) == (
        "items[2].id: duplicate item id 'gpu-use1-s1'")


def test_bundle_larger_than_total_capacity_is_rejected() -> None:
    bids = [{"id": "b1", "buyer": "x", "bundles": [{"items": {"gpu-use1-s1": 13}, "value": 1}]}]
    assert rejection(instance(bids=bids)) == (
        "bids[0].bundles[0].items.gpu-use1-s1: quantity 13 exceeds the item's total "
        "capacity 12")


def test_ask_for_an_unknown_item_is_rejected() -> None:
    asks = [{"provider": "p", "item": "tpu", "capacity": 1, "reserve_price": 1}]
    assert rejection(instance(asks=asks)) == "asks[0].item: unknown item 'tpu'"


def test_money_must_be_an_integer_not_a_string_or_fraction() -> None:
    for value in ["500", 500.5]:
        bids = [{"id": "b1", "buyer": "x",
                 "bundles": [{"items": {"gpu-use1-s1": 1}, "value": value}]}]
        assert rejection(instance(bids=bids)).startswith("bids[0].bundles[0].value: ")


def test_several_problems_are_counted_on_one_line() -> None:
    message = rejection(instance(bids=[{"id": "b1"}]))
    assert message == "bids[0].buyer: Field required (and 1 more problem)"


def test_a_mistyped_key_is_named_before_the_field_it_left_missing() -> None:
    bids = [{"id": "b1", "buyer": "x", "bundles": [{"items": {"gpu-use1-s1": 1}, "valu": 5}]}]
    assert rejection(instance(bids=bids)) == (
        "bids[0].bundles[0].valu: unknown field (and 1 more problem)")


@pytest.mark.parametrize(("risk_bps", "rating"), [
    (999, None), (1_000, RiskRating.LOW), (2_999, RiskRating.LOW), (3_000, RiskRating.MEDIUM),
    (5_999, RiskRating.MEDIUM), (6_000, RiskRating.HIGH), (10_000, RiskRating.HIGH)])
def test_a_bids_rating_is_the_highest_band_its_score_reaches(risk_bps: int,
                                                             rating: RiskRating | None) -> None:
    bid = {**instance()["bids"][0], "risk_bps": risk_bps}
    if rating is None:
        assert rejection(instance(bids=[bid])) == (
            "bids[0].risk_bps: 999 is below the policy's lowest risk band (1000)")
        return
    market = read_market_json(json.dumps(instance(bids=[bid])))
    assert market.rating(market.bids[0]) is rating


def test_policy_needs_a_risk_weight_for_every_rating() -> None:
    with pytest.raises(ValueError, match="no value for high"):
        Policy(risk_weights={RiskRating.LOW: 1, RiskRating.MEDIUM: 2})


def test_market_round_trips_through_json() -> None:
    market = read_market_json(json.dumps(instance()))
    assert Market.model_validate_json(market.model_dump_json()) == market


def _bundle(quantity: int = 4, value: int = 500, **terms: Any) -> dict[str, Any]:
    return {"bids": [{"id": "b1", "buyer": "lab", **terms, "bundles": [
        {"items": {"gpu-use1-s1": quantity, "power-use1-s1": 4}, "value": value}]}]}


def _ask(capacity: int = 8, reserve_price: int = 10, dearer: int = 30,
         dearer_capacity: int = 4) -> dict[str, Any]:
    """The GPU's asks: the cheap one, and the dearer one (its units cost a premium)."""
    asks = instance()["asks"]
    return {"asks": [{**asks[0], "capacity": capacity, "reserve_price": reserve_price},
                     {**asks[1], "capacity": dearer_capacity, "reserve_price": dearer},
                     asks[2]]}


def _policy(**fields: Any) -> dict[str, Any]:
    return {"policy": fields}


# Issue 18: a bundle worth 10^30 reached CP-SAT, which rejected the model with a traceback.
# Each bound is the largest value accepted; one more is refused naming the field.
@pytest.mark.parametrize(("field", "bound", "changes"), [
    ("asks[0].capacity", MAX_UNITS, lambda v: _ask(capacity=v)),
    ("asks[0].reserve_price", MAX_MICRO_USD, lambda v: _ask(reserve_price=v, dearer=v)),
    ("bids[0].bundles[0].items.gpu-use1-s1", MAX_UNITS,
     lambda v: {**_ask(capacity=MAX_UNITS), **_bundle(quantity=v)}),
    ("bids[0].bundles[0].value", MAX_MICRO_USD, lambda v: _bundle(value=v)),
    ("bids[0].epsilon_micros", MAX_MICRO_EPSILON, lambda v: _bundle(epsilon_micros=v)),
    ("bids[0].expiry", MAX_TIMESTAMP, lambda v: _bundle(expiry=v)),
    ("policy.risk_weights.low", MAX_RISK_WEIGHT,
     lambda v: _policy(risk_weights={"low": v, "medium": 4, "high": 16})),
    ("policy.tier_risk_caps.standard", MAX_RISK_CAP,
     lambda v: _policy(tier_risk_caps={"standard": v})),
    ("policy.aggregate_risk_cap", MAX_RISK_CAP, lambda v: _policy(aggregate_risk_cap=v)),
    ("policy.max_epsilon_micros.diagnostics", MAX_MICRO_EPSILON,
     lambda v: _policy(max_epsilon_micros={"diagnostics": v})),
    ("remaining_budget_micros.cohort", MAX_BUDGET_MICRO_EPSILON,
     lambda v: {"remaining_budget_micros": {"cohort": v}}),
    # Welfare: 2^31 units of the dearer ask at 2^31 - 1 above the cheapest, and the bundle.
    ("bids", MAX_WELFARE_MICRO_USD - (2**31 - 1) * 2**31,
     lambda v: {**_ask(dearer=10 + 2**31 - 1, dearer_capacity=2**31), **_bundle(value=v)}),
])
def test_every_number_is_bounded_at_the_schema(field: str, bound: int,
                                               changes: Callable[[int], dict[str, Any]]) -> None:
    read_market_json(json.dumps(instance(**changes(bound))))
    assert rejection(instance(**changes(bound + 1))).startswith(f"{field}: ")
