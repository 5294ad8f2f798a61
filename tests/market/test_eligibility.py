from __future__ import annotations

from typing import Any

import pytest

from market.eligibility import Usage, explain_losses, screen
from market.model import EquityClass, Policy, Tier
from market.result import LossReason
from tests.market.conftest import HIGH_BPS

MarketBuilder = Any  # tests/market/conftest.py: build_market
NOW = 1_000


def test_expiry_is_checked_against_the_clearing_time(build_market: MarketBuilder) -> None:
    market = build_market({"on-time": [({"a": 1}, 1)], "late": [({"a": 1}, 1)]},
                          expiry={"on-time": NOW, "late": NOW - 1})
    screening = screen(market, NOW)
    assert list(screening.eligible) == [0]
    loss = screening.losses[1]
    assert (loss.reason, loss.detail) == (
        LossReason.EXPIRED,
        "expired at 999 (1970-01-01 00:16:39 UTC), cleared at 1000 (1970-01-01 00:16:40 UTC)")


def test_epsilon_is_capped_per_purpose_and_unlisted_purposes_get_none(
        build_market: MarketBuilder) -> None:
    policy = Policy(max_epsilon_micros={"research": 2_000_000})
    market = build_market(
        {"within": [({"a": 1}, 1)], "over": [({"a": 1}, 1)], "unlisted": [({"a": 1}, 1)],
         "no-data": [({"a": 1}, 1)]}, policy=policy,
        epsilon_micros={"within": 2_000_000, "over": 2_000_001, "unlisted": 1},
        purpose={"within": "research", "over": "research", "unlisted": "ads"})
    screening = screen(market, NOW)
    assert sorted(screening.eligible) == [0, 3]
    assert {screening.losses[i].reason for i in (1, 2)} == {LossReason.EPSILON_OVER_POLICY}
    assert screening.losses[1].detail == "ε 2.000001 exceeds the policy's 2 for purpose 'research'"


def test_expired_is_reported_before_epsilon(build_market: MarketBuilder) -> None:
    market = build_market({"both": [({"a": 1}, 1)]}, expiry={"both": 0},
                          epsilon_micros={"both": 5})
    assert screen(market, NOW).losses[0].reason is LossReason.EXPIRED


def test_a_bid_keeps_the_bundles_its_tier_allows(build_market: MarketBuilder) -> None:
    market = build_market({"high": [({"std": 1}, 5), ({"conf": 1}, 4)]},
                          tiers={"conf": Tier.CONFIDENTIAL},
                          risk_bps={"high": HIGH_BPS})
    assert screen(market, NOW).eligible == {0: [1]}


def test_when_no_bundle_passes_the_most_fundamental_reason_wins(build_market: MarketBuilder
                                                                ) -> None:
    market = build_market({"x": [({"cheap": 1}, 1), ({"std": 1}, 50)]},
                          reserve={"cheap": 5}, risk_bps={"x": HIGH_BPS},
                          tiers={"cheap": Tier.CONFIDENTIAL})
    loss = screen(market, NOW).losses[0]
    assert (loss.reason, loss.bundle, loss.item) == (LossReason.INELIGIBLE_TIER, 1, "std")


@pytest.mark.parametrize(("policy", "bid_fields", "reason"), [
    (Policy(tier_risk_caps={Tier.STANDARD: 3}), {}, LossReason.RISK_CAP),
    (Policy(aggregate_risk_cap=3), {}, LossReason.RISK_CAP),
    (Policy(equity_reservation_bps=7_000), {}, LossReason.EQUITY_RESERVATION),
    (Policy(equity_reservation_bps=7_000),
     {"equity_class": {"x": EquityClass.PUBLIC_HEALTH}}, None),
])
def test_a_bundle_too_big_for_a_cap_even_alone_is_screened_out(
        build_market: MarketBuilder, policy: Policy, bid_fields: dict[str, Any],
        reason: LossReason | None) -> None:
    market = build_market({"x": [({"gpu": 4}, 10)]}, {"gpu": 10}, policy=policy, **bid_fields)
    screening = screen(market, NOW)
    assert (screening.losses[0].reason if screening.losses else None) is reason


def test_usage_reports_the_first_item_that_ran_out(build_market: MarketBuilder) -> None:
    market = build_market({"holder": [({"a": 2, "b": 1}, 9)], "x": [({"a": 1, "b": 1}, 5)]},
                          {"a": 3, "b": 1})
    usage = Usage(market)
    usage.add(market.bids[0], market.bids[0].bundles[0])
    loss = usage.loss(market.bids[1], 0)
    assert loss is not None
    assert (loss.reason, loss.item, loss.detail) == (
        LossReason.OUTBID, "b", "needs 1 units of b, 0 left after higher-value bids")


def test_marginal_cost_climbs_the_supply_curve(build_market: MarketBuilder) -> None:
    market = build_market({"x": [({"gpu": 2}, 100)], "y": [({"gpu": 2}, 30)]},
                          supply={"gpu": [(3, 10), (2, 20)]})
    usage = Usage(market)
    assert usage.marginal_cost(market.bids[1].bundles[0]) == 20
    usage.add(market.bids[0], market.bids[0].bundles[0])
    assert usage.marginal_cost(market.bids[1].bundles[0]) == 10 + 20


def test_losses_are_about_the_bundle_worth_most_net_of_reserve(build_market: MarketBuilder
                                                               ) -> None:
    market = build_market({"winner": [({"a": 1}, 10)], "other": [({"b": 1}, 12)],
                           "loser": [({"a": 1}, 8), ({"b": 1}, 9)]},
                          reserve={"b": 3})
    losses = explain_losses(market, screen(market, NOW), {0: 0, 1: 0})
    # bundle 0 nets 8, bundle 1 nets 9 - 3 = 6: the reason is about bundle 0, outbid on a
    assert [(loss.bid, loss.bundle, loss.reason) for loss in losses] == [
        ("loser", 0, LossReason.OUTBID)]
