"""ε recomputed with dp-accounting's RDP accountant, memoised, never taken from the claim."""

from __future__ import annotations

import math

import dp_accounting
import pytest
from dp_accounting import rdp
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.accountant import cache_stats, epsilon, understates

MECHANISMS = [
    # (σ, q, T, δ): MNIST DP-SGD (60k examples, batch 256, 60 epochs), CIFAR-like, large-batch
    # LM fine-tuning, full-batch (q = 1) Gaussian, and a single step.
    (1.1, 256 / 60_000, 60 * 60_000 // 256, 1e-5),
    (1.5, 0.01, 5_000, 1e-5),
    (0.8, 0.05, 2_000, 1e-6),
    (5.0, 1.0, 10, 1e-5),
    (1.0, 0.001, 1, 1e-5),
]


def _dp_accounting(sigma: float, q: float, steps: int, delta: float) -> float:
    accountant = rdp.RdpAccountant()
    event = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma))
    accountant.compose(event, steps)
    return float(accountant.get_epsilon(delta))


@pytest.mark.parametrize(("sigma", "q", "steps", "delta"), MECHANISMS)
def test_epsilon_is_dp_accountings_rdp_epsilon(
    sigma: float, q: float, steps: int, delta: float
) -> None:
    assert epsilon(sigma, q, steps, delta) == _dp_accounting(sigma, q, steps, delta)


def test_full_batch_gaussian_stays_within_the_classic_rdp_bound() -> None:
    # With q = 1 each step is a Gaussian mechanism, RDP α/(2σ²) per step (Mironov 2017), and
    # ε ≤ min over α of T·α/(2σ²) + log(1/δ)/(α − 1).
    sigma, steps, delta = 5.0, 10, 1e-5
    classic = min(
        steps * alpha / (2 * sigma**2) + math.log(1 / delta) / (alpha - 1)
        for alpha in (1 + x / 10 for x in range(1, 2000))
    )
    assert 0 < epsilon(sigma, 1.0, steps, delta) <= classic


def test_repeated_mechanisms_are_answered_from_the_memo() -> None:
    epsilon(1.3, 0.02, 777, 1e-5)
    before = cache_stats()
    epsilon(1.3, 0.02, 777, 1e-5)
    after = cache_stats()
    assert (after.epsilon_hits, after.epsilon_misses) == (
        before.epsilon_hits + 1,
        before.epsilon_misses,
    )


@settings(max_examples=25, deadline=None)
@given(
    sigma=st.floats(0.3, 10.0),
    q=st.floats(0.0, 1.0, exclude_min=True),
    steps=st.integers(1, 10**6),
    delta=st.floats(1e-10, 1e-3),
)
def test_epsilon_from_the_kept_curve_is_a_fresh_accountants_epsilon(
    sigma: float, q: float, steps: int, delta: float
) -> None:
    assert epsilon(sigma, q, steps, delta) == _dp_accounting(sigma, q, steps, delta)


def test_new_steps_or_delta_for_a_seen_mechanism_reuse_its_rdp_curve() -> None:
    epsilon(1.37, 0.0123, 1_000, 1e-5)
    before = cache_stats()
    epsilon(1.37, 0.0123, 1_001, 1e-5)
    epsilon(1.37, 0.0123, 1_000, 1e-6)
    after = cache_stats()
    assert (after.epsilon_misses, after.curve_hits, after.curve_misses) == (
        before.epsilon_misses + 2,
        before.curve_hits + 2,
        before.curve_misses,
    )


@settings(max_examples=6, deadline=None)
@given(
    sigma=st.floats(0.7, 3.0),
    q=st.floats(0.001, 0.1),
    steps=st.integers(1, 5_000),
    extra=st.integers(1, 5_000),
)
def test_more_steps_never_spend_less_privacy(
    sigma: float, q: float, steps: int, extra: int
) -> None:
    assert epsilon(sigma, q, steps + extra, 1e-5) >= epsilon(sigma, q, steps, 1e-5)


@settings(max_examples=6, deadline=None)
@given(sigma=st.floats(0.7, 3.0), more=st.floats(0.01, 2.0), q=st.floats(0.001, 0.1))
def test_more_noise_never_spends_more_privacy(sigma: float, more: float, q: float) -> None:
    assert epsilon(sigma + more, q, 1_000, 1e-5) <= epsilon(sigma, q, 1_000, 1e-5)


@pytest.mark.parametrize(
    ("claimed", "recomputed", "understated"),
    [(1.0, 1.0, False), (1.5, 1.0, False), (0.99, 1.0, True), (1.0 - 1e-12, 1.0, False)],
)
def test_only_a_claim_below_the_recomputed_epsilon_understates(
    claimed: float, recomputed: float, understated: bool
) -> None:
    assert understates(claimed, recomputed) is understated
