"""ε of a DP-SGD run, recomputed by the node with dp-accounting's RDP accountant, never trusted."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oracle.attestation import DpMechanism

# The claimed ε may round the accountant's value; it may not undercut it by more than this.
CLAIM_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int


@functools.lru_cache(maxsize=4096)
def epsilon(noise_multiplier: float, sampling_rate: float, steps: int, delta: float) -> float:
    """ε of `steps` Poisson-sampled Gaussian steps at δ; memoised, as one run costs ~40 ms."""
    import dp_accounting
    from dp_accounting import rdp

    accountant = rdp.RdpAccountant()
    step = dp_accounting.PoissonSampledDpEvent(
        sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier)
    )
    accountant.compose(dp_accounting.SelfComposedDpEvent(step, steps))
    return float(accountant.get_epsilon(delta))


def preload() -> None:
    """Imports dp-accounting and the parts of scipy it loads lazily (seconds), before a request."""
    epsilon(1.0, 1.0, 1, 0.5)


def mechanism_epsilon(dp: DpMechanism) -> float:
    return epsilon(dp.noise_multiplier, dp.sampling_rate, dp.steps, dp.delta)


def understates(claimed: float, recomputed: float) -> bool:
    return claimed < recomputed * (1 - CLAIM_TOLERANCE)


def cache_stats() -> CacheStats:
    info = epsilon.cache_info()
    return CacheStats(hits=info.hits, misses=info.misses)
