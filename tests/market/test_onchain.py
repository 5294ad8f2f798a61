"""The files providers and buyers sign up with: every number in them is bounded by the contract
field it travels in, so a file that validates fits on chain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from chain.validation import first_problem
from market.model import MAX_MICRO_EPSILON, MAX_MICRO_USD, MAX_TIMESTAMP, MAX_UNITS
from market.onchain import UINT16, UINT32, AskEntry, BidEntry
from tests.support import declaration

ASK = {"kind": "gpu", "region": "euw1", "slot": "2027-06-07", "slot_seconds": 604_800,
       "tier": "certified", "unit": "gpu-week", "capacity": 8, "reserve_price": 100}


def _bid(value: int = 1, units: int = 1, item: str = "0", **terms: Any) -> dict[str, Any]:
    return {"bundles": [{"items": {item: units}, "value": value}],
            "declaration": declaration(), **terms}


# (model, field, the largest value accepted, the file with that value): one more is refused.
@pytest.mark.parametrize(("model", "field", "bound", "document"), [
    (AskEntry, "capacity", MAX_UNITS, lambda v: {**ASK, "capacity": v}),
    (AskEntry, "reserve_price", MAX_MICRO_USD, lambda v: {**ASK, "reserve_price": v}),
    (AskEntry, "slot_seconds", UINT32, lambda v: {**ASK, "slot_seconds": v}),
    (BidEntry, "bundles[0].items.0", MAX_UNITS, lambda v: _bid(units=v)),
    (BidEntry, "bundles[0].value", MAX_MICRO_USD, lambda v: _bid(value=v)),
    (BidEntry, "bundles[0].items", UINT16, lambda v: _bid(item=str(v))),
    (BidEntry, "epsilon_micros", MAX_MICRO_EPSILON, lambda v: _bid(epsilon_micros=v)),
    (BidEntry, "expiry", MAX_TIMESTAMP, lambda v: _bid(expiry=v)),
    (BidEntry, "dataset", 2**96 - 1, lambda v: _bid(dataset=v)),
])
def test_every_number_in_an_ask_or_bid_file_is_bounded(
        model: type[BaseModel], field: str, bound: int,
        document: Callable[[int], dict[str, Any]]) -> None:
    model.model_validate(document(bound))
    with pytest.raises(ValidationError) as raised:
        model.model_validate(document(bound + 1))
    assert first_problem(raised.value)[0] == field


@pytest.mark.parametrize(("model", "field", "least", "document"), [
    (BidEntry, "bundles[0].value", 1, lambda v: _bid(value=v)),
    (BidEntry, "expiry", 1, lambda v: _bid(expiry=v)),
    (AskEntry, "slot", "1970-01-01T00:00:00Z", lambda v: {**ASK, "slot": v}),
])
def test_the_least_value_is_accepted_and_one_below_it_refused(
        model: type[BaseModel], field: str, least: Any,
        document: Callable[[Any], dict[str, Any]]) -> None:
    model.model_validate(document(least))
    below = "1969-12-31T23:59:59Z" if isinstance(least, str) else least - 1
    with pytest.raises(ValidationError) as raised:
        model.model_validate(document(below))
    assert first_problem(raised.value)[0] == field
