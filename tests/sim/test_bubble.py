from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.tsa.stattools import adfuller

from sim.bubble import (
    CRITICAL_VALUE_SEED,
    REPLICATIONS,
    UntestableSeries,
    adf_statistics,
    critical_values,
    gsadf,
    minimum_duration,
    minimum_window,
)
from sim.series import Floats

# PSY's (2015) simulation of one bubble: a random walk from 100 with σ = 6.79, mildly explosive
# with δ = 1 + T^(-0.6) over the middle fifth, collapsing back to where it began.
BUBBLE_OBSERVATIONS = 100
BUBBLE_START, BUBBLE_END = 40, 60
# The size check: short random walks, with seeds unlike the critical values' own, since a check
# on the draws that made the quantile would pass by construction.
SIZE_OBSERVATIONS = 50
SIZE_SERIES = 1000
SIZE_SEED = 7
assert SIZE_SEED != CRITICAL_VALUE_SEED


def planted_bubble(seed: int) -> Floats:
    """Prices whose logs follow PSY's bubble, scaled by 1/100: the ADF t-statistic is blind to
    scale, and the scaled level keeps the prices within a few dozen times each other."""
    shocks = np.random.default_rng(seed).normal(0.0, 6.79, BUBBLE_OBSERVATIONS)
    growth = 1.0 + BUBBLE_OBSERVATIONS ** -0.6
    level = np.empty(BUBBLE_OBSERVATIONS)
    level[0] = 100.0
    for t in range(1, BUBBLE_OBSERVATIONS):
        if BUBBLE_START <= t <= BUBBLE_END:
            level[t] = growth * level[t - 1] + shocks[t]
        elif t == BUBBLE_END + 1:
            level[t] = level[BUBBLE_START] + shocks[t]
        else:
            level[t] = level[t - 1] + shocks[t]
    return np.exp(level / 100.0)


def random_walk_prices(rng: np.random.Generator, observations: int) -> Floats:
    return np.exp(np.log(100.0) + np.cumsum(rng.normal(0.0, 0.02, observations)))


@pytest.mark.filterwarnings("ignore:adfuller currently returns a plain tuple:FutureWarning")
@pytest.mark.parametrize("lag", [0, 1, 2])
def test_adf_statistic_equals_statsmodels_adfuller_on_each_window(lag: int) -> None:
    log_prices = np.log(random_walk_prices(np.random.default_rng(11), 60))
    starts = np.array([0, 0, 5, 17, 30, 44])
    ends = np.array([59, 20, 59, 41, 59, 59])
    ours = adf_statistics(log_prices[np.newaxis, :], lag, starts, ends)[0]
    for start, end, statistic in zip(starts, ends, ours, strict=True):
        window = log_prices[start:end + 1]
        expected = adfuller(window, maxlag=lag, regression="c", autolag=None)[0]
        assert statistic == pytest.approx(expected, rel=1e-8, abs=1e-8)


def test_psy_minimum_window_and_duration() -> None:
    # r0 = 0.01 + 1.8/√100 = 0.19 of 100 observations; log 100 = 4.6.
    assert minimum_window(100) == 19
    assert minimum_duration(100) == 5


def test_gsadf_rejects_on_a_planted_bubble_and_stamps_it() -> None:
    tests = [gsadf(planted_bubble(seed)) for seed in range(20)]
    rejected = [test for test in tests if test.rejects]
    # 16 of these 20 reject (34 of 40 seeds): PSY's bubble is mild, and 100 points are few.
    assert len(rejected) >= 14
    for test in rejected:
        assert any(first <= BUBBLE_END and last >= BUBBLE_START for first, last in test.periods)


def test_gsadf_size_on_short_random_walks_is_nominal() -> None:
    rng = np.random.default_rng(SIZE_SEED)
    rejections = sum(gsadf(random_walk_prices(rng, SIZE_OBSERVATIONS)).rejects
                     for _ in range(SIZE_SERIES))
    # Two binomial errors: this sample's, √(0.05·0.95/1000) = 0.0069, and the critical value's,
    # whose coverage from 2000 replications is off by √(0.05·0.95/2000) = 0.0049. Three of their
    # combined standard error, 0.0085, is 0.025.
    standard_error = math.hypot(math.sqrt(0.05 * 0.95 / SIZE_SERIES),
                                math.sqrt(0.05 * 0.95 / REPLICATIONS))
    assert abs(rejections / SIZE_SERIES - 0.05) <= 3 * standard_error


def test_critical_values_repeat_exactly() -> None:
    first = critical_values(SIZE_OBSERVATIONS, 0)
    second = critical_values.__wrapped__(SIZE_OBSERVATIONS, 0)
    assert second.gsadf == first.gsadf
    assert second.bsadf == first.bsadf


def test_bsadf_is_aligned_to_the_prices_after_the_minimum_window() -> None:
    test = gsadf(planted_bubble(0))
    assert test.minimum_window == minimum_window(BUBBLE_OBSERVATIONS)
    assert len(test.bsadf) == len(test.bsadf_critical) == BUBBLE_OBSERVATIONS - 19 + 1
    assert test.statistic == max(test.bsadf)


def test_a_flat_stretch_has_no_statistic_but_the_series_is_still_tested() -> None:
    prices = random_walk_prices(np.random.default_rng(5), SIZE_OBSERVATIONS)
    prices[:20] = prices[0]
    test = gsadf(prices)
    assert test.bsadf[0] == -math.inf
    assert math.isfinite(test.statistic)


@pytest.mark.parametrize("prices", [[3.0] * SIZE_OBSERVATIONS,
                                    np.exp(0.01 * np.arange(SIZE_OBSERVATIONS)),
                                    [1.0, 2.0, 3.0] * 5])
def test_a_series_too_short_or_that_never_moves_randomly_is_untestable(prices: Floats) -> None:
    with pytest.raises(UntestableSeries):
        gsadf(prices)
