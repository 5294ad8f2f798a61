"""ε of a DP-SGD run, recomputed by the node with dp-accounting's RDP accountant, never trusted."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from oracle.attestation import DpMechanism

# The claimed ε may round the accountant's value; it may not undercut it by more than this.
CLAIM_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CacheStats:
    """Hits and misses of the ε memo and of the curve cache, which every ε miss looks up."""

    epsilon_hits: int
    epsilon_misses: int
    curve_hits: int
    curve_misses: int


# A curve is 156 orders and their RDP, ~2.5 kB: 1,024 (σ, q) pairs hold ~2.5 MB.
@functools.lru_cache(maxsize=1024)
def _step_curve(noise_multiplier: float, sampling_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Orders and RDP of one Poisson-sampled Gaussian step: 40-90 ms, nearly all of an ε."""
    import dp_accounting
    from dp_accounting import rdp

    accountant = rdp.RdpAccountant()
    accountant.compose(
        dp_accounting.PoissonSampledDpEvent(
            sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier)
        )
    )
    return accountant.orders, accountant.rdp


@functools.lru_cache(maxsize=4096)
def epsilon(noise_multiplier: float, sampling_rate: float, steps: int, delta: float) -> float:
    """ε of `steps` Poisson-sampled Gaussian steps at δ, as `RdpAccountant.get_epsilon` gives it.

    RDP composes linearly, and the accountant itself composes `steps` events as `steps` times
    one step's RDP, so reusing that curve for a new T or δ gives the accountant's exact value.
    """
    from dp_accounting import rdp

    orders, curve = _step_curve(noise_multiplier, sampling_rate)
    return float(rdp.compute_epsilon(orders, steps * curve, delta)[0])


def preload() -> None:
    """Imports dp-accounting and the parts of scipy it loads lazily (seconds), before a request."""
    epsilon(1.0, 1.0, 1, 0.5)


def mechanism_epsilon(dp: DpMechanism) -> float:
    return epsilon(dp.noise_multiplier, dp.sampling_rate, dp.steps, dp.delta)


def understates(claimed: float, recomputed: float) -> bool:
    return claimed < recomputed * (1 - CLAIM_TOLERANCE)


def cache_stats() -> CacheStats:
    memo, curves = epsilon.cache_info(), _step_curve.cache_info()
    return CacheStats(
        epsilon_hits=memo.hits,
        epsilon_misses=memo.misses,
        curve_hits=curves.hits,
        curve_misses=curves.misses,
    )
