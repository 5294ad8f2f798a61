from __future__ import annotations

import json
from typing import Any

import pytest

from market.errors import MarketError
from market.model import Market, Policy, RiskRating
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
    assert (bid.epsilon_micros, bid.risk_rating, bid.expiry) == (0, RiskRating.LOW, None)
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


def test_policy_needs_a_risk_weight_for_every_rating() -> None:
    with pytest.raises(ValueError, match="no value for high"):
        Policy(risk_weights={RiskRating.LOW: 1, RiskRating.MEDIUM: 2})


def test_market_round_trips_through_json() -> None:
    market = read_market_json(json.dumps(instance()))
    assert Market.model_validate_json(market.model_dump_json()) == market
