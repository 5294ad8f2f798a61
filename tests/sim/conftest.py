"""A sweep small enough to run in a test: 2 × 2 cells × 3 seeds of 2 rounds of 20 bids, in
deterministic mode, so that two sweeps of it agree run for run."""

from __future__ import annotations

import pytest

from sim.config import SweepConfig


@pytest.fixture(scope="session")
def tiny_sweep() -> SweepConfig:
    return SweepConfig.model_validate({
        "base": {"rounds": 2, "bids_per_round": 20, "deterministic": True},
        "grid": {"time_limit": [0.5, 1], "speculator_share": [0.0, 0.5]},
        "seeds": 3,
    })
