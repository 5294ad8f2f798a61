"""Statistics of a price series: its log returns, their volatility and their autocorrelation.

A run's metrics go to JSON, so a series too short or too flat to measure gives 0.0, read as
"no variation measured" or "no dependence measured", never NaN."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sim.config import SimError

Floats = npt.NDArray[np.float64]


def log_prices(prices: Sequence[float] | Floats) -> Floats:
    """The natural log of each price; a price that is not a positive finite number is refused by
    its index, since its log would silently turn every later statistic into NaN."""
    values = np.asarray(prices, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0.0))
    if bad.size:
        raise SimError(f"prices[{bad[0]}] = {values[bad[0]]}: not a positive finite price")
    return np.log(values)


def log_returns(prices: Sequence[float] | Floats) -> Floats:
    """log(p[t] / p[t-1]) for each step; one fewer than the prices."""
    return np.diff(log_prices(prices))


def volatility(prices: Sequence[float] | Floats) -> float:
    """Sample standard deviation (n - 1 in the denominator) of the log returns; 0.0 with fewer
    than two returns."""
    returns = log_returns(prices)
    if returns.size < 2:
        return 0.0
    return float(np.std(returns, ddof=1))


def autocorrelation(values: Sequence[float] | Floats, lag: int = 1) -> float:
    """The sample autocorrelation at `lag`, as statsmodels' `acf` defines it: the lagged
    cross-product of deviations from the mean over the total sum of squares. 0.0 when the values
    are constant or no pair is `lag` apart. Pass `log_returns(prices)` or its absolute value."""
    if lag < 1:
        raise SimError(f"lag {lag}: must be at least 1")
    x = np.asarray(values, dtype=np.float64)
    if x.size <= lag:
        return 0.0
    # Constancy is judged on the values, not on the deviations: the mean of equal values can
    # differ from them by a rounding error, whose "autocorrelation" would be noise.
    if np.ptp(x) == 0.0:
        return 0.0
    deviations = x - x.mean()
    return float(deviations[lag:] @ deviations[:-lag]) / float(deviations @ deviations)
