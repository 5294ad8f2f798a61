from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.tsa.stattools import acf

from sim.config import SimError
from sim.series import autocorrelation, log_returns, volatility

E = math.e


def test_log_returns_are_the_logs_of_price_ratios() -> None:
    assert log_returns([1.0, E, E, 1.0]) == pytest.approx([1.0, 0.0, -1.0])


def test_volatility_is_the_sample_standard_deviation_of_log_returns() -> None:
    # Returns 1 and -1: mean 0, squares summing to 2 over n - 1 = 1.
    assert volatility([1.0, E, 1.0]) == pytest.approx(math.sqrt(2.0))


@pytest.mark.parametrize("prices", [[], [5.0], [5.0, 6.0]])
def test_volatility_is_zero_with_fewer_than_two_returns(prices: list[float]) -> None:
    assert volatility(prices) == 0.0


def test_autocorrelation_by_hand() -> None:
    # Deviations from 2.5: -1.5, -0.5, 0.5, 1.5; sum of squares 5.
    # Lag 1: 0.75 - 0.25 + 0.75 = 1.25. Lag 2: -0.75 - 0.75 = -1.5.
    assert autocorrelation([1.0, 2.0, 3.0, 4.0]) == pytest.approx(0.25)
    assert autocorrelation([1.0, 2.0, 3.0, 4.0], lag=2) == pytest.approx(-0.3)


def test_autocorrelation_matches_statsmodels_acf() -> None:
    returns = log_returns(np.exp(np.cumsum(np.random.default_rng(3).normal(0.0, 0.02, 80))))
    for values in (returns, np.abs(returns)):
        expected = acf(values, nlags=3, fft=False)
        for lag in (1, 2, 3):
            assert autocorrelation(values, lag) == pytest.approx(expected[lag], abs=1e-12)


@pytest.mark.parametrize("values", [[], [0.3], [0.1, 0.1, 0.1, 0.1], [0.0, 0.0]])
def test_autocorrelation_is_zero_when_nothing_varies_or_no_pair_is_a_lag_apart(
        values: list[float]) -> None:
    assert autocorrelation(values) == 0.0


def test_a_price_that_is_not_positive_is_refused_by_its_index() -> None:
    with pytest.raises(SimError, match=r"prices\[2\] = 0.0"):
        volatility([1.0, 2.0, 0.0, 3.0])
