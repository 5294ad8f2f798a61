"""One simulated market, end to end, on the real winner determination and pricing."""

from __future__ import annotations

import pytest

import sim.clearing
from market.model import Market
from market.result import Clearing, Status
from market.wdp import SolveParams
from sim.config import RunConfig
from sim.run import simulate

SMALL = RunConfig(rounds=3, bids_per_round=40, deterministic=True, time_limit=2.0,
                  fundamental_time_limit=2.0, trading_steps=3, late_user_share=0.0)


def test_a_seed_repeats_exactly_in_deterministic_mode() -> None:
    config = SMALL.model_copy(update={"speculator_share": 0.3, "market_makers": 1,
                                      "lottery_seeds": 1})
    assert simulate(config, 5).repeatable() == simulate(config, 5).repeatable()
    assert simulate(config, 5).price != simulate(config, 6).price


def test_truthful_bids_proven_optimal_without_speculators_are_fully_efficient() -> None:
    run = simulate(SMALL.model_copy(update={"learning_rate": 0.0, "lottery_seeds": 2}), 7)
    assert run.metrics["proven_share"] == 1.0
    assert run.metrics["efficiency"] == pytest.approx(1.0)
    assert run.metrics["auction_efficiency"] == pytest.approx(1.0)
    assert run.metrics["lottery_rate"] == 0.0
    assert run.metrics["price_deviation"] == pytest.approx(0.0)
    assert run.metrics["volume"] == 0.0  # nobody holds a future to sell


def test_users_whose_jobs_come_up_late_run_them_only_on_futures_bought_from_traders() -> None:
    late = SMALL.model_copy(update={"late_user_share": 0.3, "learning_rate": 0.0})
    without_traders = simulate(late, 5)
    assert without_traders.metrics["volume"] == 0.0
    assert without_traders.metrics["efficiency"] < 1.0  # late jobs the optimum serves
    with_traders = simulate(late.model_copy(update={"speculator_share": 0.3,
                                                    "market_makers": 1}), 5)
    assert with_traders.metrics["volume"] > 0.0


def test_a_speculator_who_cannot_resell_loses_what_it_paid() -> None:
    config = SMALL.model_copy(update={"speculator_share": 0.5, "trading_steps": 0})
    run = simulate(config, 3)
    assert run.metrics["speculator_return"] == -1.0
    assert run.metrics["efficiency"] < run.metrics["auction_efficiency"] + 1e-9
    assert len(run.price) == config.rounds  # one point per auction, no trading steps


def test_users_learn_to_shade_their_bids() -> None:
    run = simulate(SMALL.model_copy(update={"rounds": 4, "learning_rate": 0.5}), 2)
    assert run.metrics["shading"] < 1.0


def test_a_round_the_solver_cannot_clear_fails_with_its_fallback_logged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The round's solve ends without an allocation; the unhurried fundamental solve (its
    own time limit) still runs for real."""
    config = SMALL.model_copy(update={"rounds": 2, "fundamental_time_limit": 3.0})
    real_clear = sim.clearing.clear

    def round_out_of_time(market: Market, now: int, params: SolveParams) -> Clearing:
        if params.time_limit == config.fundamental_time_limit:
            return real_clear(market, now, params)
        return Clearing(allocation=[], losing=[], welfare=0, bound=0, gap=0.0,
                        status=Status.TIME_LIMIT, seconds=params.time_limit)

    monkeypatch.setattr(sim.clearing, "clear", round_out_of_time)
    run = simulate(config, 1)
    assert run.metrics["failed_rounds"] == 2.0
    assert [log.status for log in run.rounds] == ["failed", "failed"]
    assert all("time_limit within 2.0 s" in (log.fallback or "") for log in run.rounds)
    assert run.metrics["efficiency"] == 0.0  # nothing delivered, nothing sold
    assert run.metrics["idle_capacity"] == 1.0


def test_a_greedy_market_clears_and_reports_its_gap() -> None:
    run = simulate(SMALL.model_copy(update={"solver": "greedy", "bids_per_round": 80}), 4)
    assert all(log.status in ("optimal", "feasible") for log in run.rounds)
    assert run.metrics["gap"] >= 0.0
    assert all(log.gap >= 0.0 for log in run.rounds)
