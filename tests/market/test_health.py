"""The market health measures, against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from market.health import volatility


def test_volatility_is_the_sample_deviation_of_the_log_returns() -> None:
    # Returns ln 2 and ln 1/2: mean 0, sample variance (2 ln² 2) / 1.
    assert volatility([100, 200, 100]) == pytest.approx(math.sqrt(2) * math.log(2))


def test_a_steady_price_has_no_volatility() -> None:
    assert volatility([5, 5, 5, 5]) == 0.0


def test_fewer_than_three_positive_prices_give_none() -> None:
    assert volatility([]) is None
    assert volatility([100, 120]) is None
    # A zero price has no log: two positive prices are left.
    assert volatility([100, 0, 120]) is None
