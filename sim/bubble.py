"""The Phillips, Shi & Yu (2015, International Economic Review) bubble test on a price series:
the GSADF statistic, the sup of right-tailed ADF statistics over every window at least the
minimum long, and the BSADF sequence that date-stamps each bubble.

The test runs on log prices: `gsadf` takes prices and logs them itself. Critical values come from
a Monte Carlo under PSY's null, made once per series length and lag in each process."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from sim.config import SimError
from sim.series import Floats, log_prices

Indices = npt.NDArray[np.intp]

CONFIDENCE = 0.95
# PSY's null: a random walk whose drift d·T^(-η) vanishes with the sample, with d = η = 1.
NULL_DRIFT = 1.0
NULL_DRIFT_EXPONENT = 1.0
# The 95 % quantile of 2000 draws covers 95 % ± 1 % (two binomial standard errors); building
# them took 2 s for 150 prices and 17 s for 300 on two loaded cores, once per process and length.
REPLICATIONS = 2000
CRITICAL_VALUE_SEED = 2015
# The shortest window must leave this many residual degrees of freedom: with fewer, the heavy
# tails of its t-statistic would decide the sup.
MIN_DEGREES_OF_FREEDOM = 5
# Windows per batch: at 5·10⁴ the arrays stay in cache; critical values for 150 prices took
# 1.4 s in batches of 5·10⁴ windows and 12 s in batches of 2·10⁶.
WINDOWS_PER_BATCH = 50_000


class UntestableSeries(SimError):
    """The series is too short for the minimum window, or no window of it moves."""


@dataclass(frozen=True)
class BubbleTest:
    """One GSADF test. `bsadf[i]` and `bsadf_critical[i]` belong to `prices[minimum_window - 1 +
    i]`: the sup ADF over windows ending there. A window whose regression is degenerate (a
    price that does not move, or an exact fit) has no statistic, so its `bsadf` may be -inf.
    `periods` are stamped by BSADF against its own critical values, whether or not the GSADF
    test `rejects`."""

    statistic: float
    critical_value: float
    rejects: bool
    minimum_window: int
    bsadf: list[float]
    bsadf_critical: list[float]
    periods: list[tuple[int, int]]


@dataclass(frozen=True)
class CriticalValues:
    gsadf: float
    bsadf: tuple[float, ...]  # a tuple, since the cached copy is shared by every caller


def minimum_window(observations: int) -> int:
    """PSY's recommended shortest window, r0 = 0.01 + 1.8/√T of the sample, in observations."""
    return math.floor((0.01 + 1.8 / math.sqrt(observations)) * observations)


def minimum_duration(observations: int) -> int:
    """PSY's shortest bubble, δ·log(T) observations with δ = 1, so a blip is not a bubble."""
    return math.ceil(math.log(observations))


def gsadf(prices: Sequence[float] | Floats, lag: int = 0) -> BubbleTest:
    """PSY's GSADF test on the log of `prices`, with an intercept and `lag` lagged differences in
    each ADF regression, at the 95 % level."""
    y = log_prices(prices)
    window = _checked_minimum_window(y.size, lag)
    bsadf = _bsadf(y[np.newaxis, :], lag, window)[0]
    if np.all(np.isneginf(bsadf)):
        raise UntestableSeries(f"{y.size} prices: no window of them moves, nothing to test")
    critical = critical_values(y.size, lag)
    statistic = float(bsadf.max())
    return BubbleTest(
        statistic=statistic,
        critical_value=critical.gsadf,
        rejects=statistic > critical.gsadf,
        minimum_window=window,
        bsadf=bsadf.tolist(),
        bsadf_critical=list(critical.bsadf),
        periods=_periods(bsadf > np.asarray(critical.bsadf), window - 1,
                         minimum_duration(y.size)),
    )


@lru_cache(maxsize=64)
def critical_values(observations: int, lag: int) -> CriticalValues:
    """The 95 % quantiles of GSADF and of each BSADF under PSY's null, from `REPLICATIONS`
    simulated series of `observations` points with a fixed seed, so a test repeats exactly."""
    window = _checked_minimum_window(observations, lag)
    rng = np.random.default_rng([CRITICAL_VALUE_SEED, observations, lag])
    drift = NULL_DRIFT * observations ** -NULL_DRIFT_EXPONENT
    shocks = rng.standard_normal((REPLICATIONS, observations))
    bsadf = _bsadf(np.cumsum(drift + shocks, axis=1), lag, window)
    return CriticalValues(gsadf=float(np.quantile(bsadf.max(axis=1), CONFIDENCE)),
                          bsadf=tuple(np.quantile(bsadf, CONFIDENCE, axis=0).tolist()))


def adf_statistics(y: Floats, lag: int, starts: Indices, ends: Indices) -> Floats:
    """The ADF t-statistic of each window y[start..end] (inclusive) of each row of `y`, with an
    intercept and `lag` lagged differences: statsmodels' `adfuller(window, maxlag=lag,
    regression="c", autolag=None)[0]`, -inf where the regression is degenerate.

    Each window's regression is built from differences of cumulative cross-products, so it costs
    O(lag²) whatever its length: GSADF on 300 points has 35 778 windows, which statsmodels'
    `adfuller`, at 0.47 ms a window, takes 17 s over, against about 10 ms here."""
    # Subtracting each row's mean leaves the statistic unchanged (the intercept absorbs it) and
    # keeps the differences of cumulative sums from cancelling the digits that matter.
    y = y - y.mean(axis=1, keepdims=True)
    rows = _regression_rows(y, lag)
    # Variables lead and windows trail, so every step below is a contiguous pass over windows.
    outer = rows[:, np.newaxis] * rows[np.newaxis, :]
    sums = np.concatenate([np.zeros_like(rows[..., :1]), np.cumsum(rows, axis=-1)], axis=-1)
    products = np.concatenate([np.zeros_like(outer[..., :1]), np.cumsum(outer, axis=-1)],
                              axis=-1)
    first_rows = starts + lag + 1
    observations = (ends - first_rows + 1).astype(np.float64)
    window_sums = sums[..., ends + 1] - sums[..., first_rows]
    raw = products[..., ends + 1] - products[..., first_rows]
    centred = raw - window_sums[:, np.newaxis] * window_sums[np.newaxis, :] / observations
    return _t_statistics(raw, centred, observations - (lag + 2))


def _regression_rows(y: Floats, lag: int) -> Floats:
    """Variable by variable, row t of the ADF regression of each series for t ≥ lag + 1, zero
    before: y[t-1], Δy[t-1], …, Δy[t-lag], then the dependent variable Δy[t]."""
    differences = np.diff(y, axis=1)
    observations = y.shape[1]
    rows = np.zeros((lag + 2, *y.shape))
    rows[0, :, lag + 1:] = y[:, lag:-1]
    for j in range(1, lag + 1):
        rows[j, :, lag + 1:] = differences[:, lag - j:observations - 1 - j]
    rows[-1, :, lag + 1:] = differences[:, lag:]
    return rows


def _t_statistics(raw: Floats, centred: Floats, degrees_of_freedom: Floats) -> Floats:
    """The t-statistic of the first regressor from the raw and centred cross-products (variables
    first) of the regressors and the dependent variable (last); centring partials out the
    intercept (Frisch–Waugh). -inf where a regressor does not move beyond the others or the fit
    is exact.

    Sweeping the regressors' pivots (Goodnight 1979) leaves -(X'X)⁻¹, the coefficients and the
    residual sum of squares in place in a few elementwise passes; a batched LAPACK determinant
    and solve per window took half the test's time."""
    swept = centred.copy()
    # A pivot, or the residual of an exact fit, that is rounding noise of the raw sum of squares
    # is zero: a centred sum of equal values is not exactly zero in floating point.
    tolerance = 1e-12 * np.diagonal(raw, axis1=0, axis2=1)
    defined = np.ones(swept.shape[2:], dtype=bool)
    for k in range(swept.shape[0] - 1):
        pivot = swept[k, k]
        defined &= pivot > tolerance[..., k]
        pivot = np.where(defined, pivot, 1.0)
        row = swept[k] / pivot
        swept -= swept[:, k, np.newaxis] * row[np.newaxis, :]
        swept[k] = row
        swept[:, k] = row
        swept[k, k] = -1.0 / pivot
    residual_squares = swept[-1, -1]
    defined &= residual_squares > tolerance[..., -1]
    variance = np.where(defined, residual_squares, 1.0) / degrees_of_freedom
    statistic = swept[0, -1] / np.sqrt(-variance * swept[0, 0])
    return np.where(defined, statistic, -np.inf)


def _bsadf(y: Floats, lag: int, window: int) -> Floats:
    """BSADF for each row of `y` at each end from `window - 1` on: the sup of the ADF statistic
    over windows at least `window` long ending there."""
    starts, ends, first_of_end = _windows(y.shape[1], window)
    rows_per_batch = max(1, WINDOWS_PER_BATCH // starts.size)
    return np.concatenate([
        np.maximum.reduceat(adf_statistics(y[i:i + rows_per_batch], lag, starts, ends),
                            first_of_end, axis=1)
        for i in range(0, y.shape[0], rows_per_batch)])


@lru_cache(maxsize=64)
def _windows(observations: int, window: int) -> tuple[Indices, Indices, Indices]:
    """Every (start, end) with end - start + 1 ≥ window, grouped by end, and where each end's
    group begins."""
    ends_each = np.arange(window - 1, observations)
    counts = ends_each - window + 2
    ends = np.repeat(ends_each, counts)
    first_of_end = np.concatenate([[0], np.cumsum(counts)[:-1]])
    starts = np.arange(ends.size) - np.repeat(first_of_end, counts)
    return starts, ends, first_of_end


def _checked_minimum_window(observations: int, lag: int) -> int:
    if lag < 0:
        raise SimError(f"lag {lag}: must be at least 0")
    window = minimum_window(observations)
    # A window of w points gives w - 1 - lag regression rows and lag + 2 coefficients.
    if window - 2 * lag - 3 < MIN_DEGREES_OF_FREEDOM:
        raise UntestableSeries(
            f"{observations} prices: the minimum window of {window} leaves fewer than "
            f"{MIN_DEGREES_OF_FREEDOM} degrees of freedom with lag {lag}")
    return window


def _periods(above: npt.NDArray[np.bool_], first_index: int,
             shortest: int) -> list[tuple[int, int]]:
    """(first, last) index of each run of `above` at least `shortest` long, offset by
    `first_index`."""
    edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    run_starts = np.flatnonzero(edges == 1)
    run_ends = np.flatnonzero(edges == -1) - 1
    return [(first_index + int(start), first_index + int(end))
            for start, end in zip(run_starts, run_ends, strict=True)
            if end - start + 1 >= shortest]
