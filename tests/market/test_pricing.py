from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.errors import MarketError
from market.examples import CLEARING_TIME, consortium_instance
from market.model import Market, Policy, PricingWeights, RiskRating, Tier
from market.pricing import price
from market.result import Clearing, Component, Fill, PricedClearing
from market.wdp import SolveParams, clear
from tests.market.conftest import HIGH_BPS, LOW_BPS, MEDIUM_BPS

MarketBuilder = Any  # tests/market/conftest.py: build_market
NOW = 0
ZERO = PricingWeights(privacy_bps=0, safety_bps=dict.fromkeys(RiskRating, 0),
                      equity_discount_bps=0)


def cleared_and_priced(market: Market, now: int = NOW) -> PricedClearing:
    return price(market, clear(market, now, SolveParams(time_limit=10, workers=1)), now)


def with_weights(market: Market, weights: PricingWeights, **policy: Any) -> Market:
    return market.model_copy(update={"policy": market.policy.model_copy(
        update={"pricing": weights, **policy})})


def paid(result: PricedClearing) -> dict[str, int]:
    return {payment.winner: payment.total for payment in result.payments}


@pytest.fixture(scope="module")
def consortium() -> tuple[Market, PricedClearing]:
    market = consortium_instance()
    return market, cleared_and_priced(market, CLEARING_TIME)


def test_no_winner_pays_more_than_its_bundle_is_worth(
        consortium: tuple[Market, PricedClearing]) -> None:
    market, result = consortium
    bids = {bid.id: bid for bid in market.bids}
    for fill, payment in zip(result.allocation, result.payments, strict=True):
        assert payment.winner == fill.bid
        assert payment.total <= bids[fill.bid].bundles[fill.bundle].value


def test_payments_cover_the_reserve_cost_of_the_units_sold(
        consortium: tuple[Market, PricedClearing]) -> None:
    market, result = consortium
    sold: dict[str, int] = {}
    for fill in result.allocation:
        for item_id, units in fill.items.items():
            sold[item_id] = sold.get(item_id, 0) + units
    reserve_cost = sum(market.supply_cost(item_id, 0, units) for item_id, units in sold.items())
    assert sum(payment.total for payment in result.payments) >= reserve_cost
    cheapest = {item_id: steps[0][0] for item_id, steps in market.supply_curve.items()}
    for fill, payment in zip(result.allocation, result.payments, strict=True):
        assert payment.total >= sum(cheapest[item_id] * units
                                    for item_id, units in fill.items.items())


def test_every_payment_is_the_exact_sum_of_its_named_components(
        consortium: tuple[Market, PricedClearing]) -> None:
    _, result = consortium
    for payment in result.payments:
        assert list(payment.components) == list(Component)
        assert sum(payment.components.values()) == payment.total


def test_equity_discounts_are_funded_by_the_levy_within_the_round(
        consortium: tuple[Market, PricedClearing]) -> None:
    market, result = consortium
    classes = {bid.id: bid.equity_class for bid in market.bids}
    adjustments = {payment.winner: payment.components[Component.EQUITY]
                   for payment in result.payments}
    discounts = [-amount for bid, amount in adjustments.items()
                 if classes[bid] in market.policy.equity_classes]
    levies = [amount for bid, amount in adjustments.items()
              if classes[bid] not in market.policy.equity_classes]
    assert min(discounts) > 0 and min(levies) > 0
    assert 0 <= sum(levies) - sum(discounts) < len(adjustments)


def test_the_supply_demand_component_is_item_prices_times_units(
        consortium: tuple[Market, PricedClearing]) -> None:
    _, result = consortium
    for fill, payment in zip(result.allocation, result.payments, strict=True):
        assert payment.components[Component.SUPPLY_DEMAND] == sum(
            result.item_prices[item_id] * units for item_id, units in fill.items.items())


def test_with_zero_weights_the_prices_are_competitive(build_market: MarketBuilder) -> None:
    # two units of one good, three single-unit bids: the two highest win and the Walrasian
    # price is the loser's value, so both winners pay 7
    market = with_weights(build_market({"a": [({"g": 1}, 10)], "b": [({"g": 1}, 9)],
                                        "c": [({"g": 1}, 7)]}, {"g": 2}), ZERO)
    result = cleared_and_priced(market)
    assert result.item_prices == {"g": 7}
    assert result.competitive_violation == 0
    assert paid(result) == {"a": 7, "b": 7}
    assert {payment.winner: payment.components for payment in result.payments}["a"] == {
        Component.SUPPLY_DEMAND: 7, Component.PRIVACY_RISK: 0, Component.SAFETY_RISK: 0,
        Component.EQUITY: 0}


def test_with_zero_weights_and_no_competition_the_price_is_the_reserve(
        build_market: MarketBuilder) -> None:
    market = with_weights(build_market({"a": [({"g": 1}, 10)]}, {"g": 3}, reserve={"g": 4}),
                          ZERO)
    assert paid(cleared_and_priced(market)) == {"a": 4}


def test_losing_bundles_cost_at_least_their_value_when_linear_prices_allow(
        build_market: MarketBuilder) -> None:
    # 'a' and 'b' win (4 > 3); the least prices that keep 'ab' out sum to its value
    market = with_weights(build_market({"a": [({"a": 1}, 2)], "b": [({"b": 1}, 2)],
                                        "ab": [({"a": 1, "b": 1}, 3)]}), ZERO)
    result = cleared_and_priced(market)
    assert result.competitive_violation == 0
    assert sum(result.item_prices.values()) == 3


def test_where_no_linear_prices_exist_the_largest_violation_is_minimised(
        build_market: MarketBuilder) -> None:
    # three bids pairwise sharing a good, one wins: p_a + p_b <= 3 while 'c' is unsold and so
    # at its reserve 0; the losers' shortfalls 3 - p_b and 3 - p_a are at best 1.5 each
    market = with_weights(build_market({"ab": [({"a": 1, "b": 1}, 3_000_000)],
                                        "bc": [({"b": 1, "c": 1}, 3_000_000)],
                                        "ca": [({"c": 1, "a": 1}, 3_000_000)]}), ZERO)
    result = cleared_and_priced(market)
    assert result.item_prices == {"a": 1_500_000, "b": 1_500_000, "c": 0}
    assert result.competitive_violation == 1_500_000


def test_identical_bids_pay_identically(build_market: MarketBuilder) -> None:
    twin = [({"g": 2, "h": 1}, 50_000_000)]
    market = build_market({"twin-1": twin, "twin-2": twin, "rival": [({"g": 2}, 30_000_000)],
                           "health": [({"h": 1}, 9_000_000)]}, {"g": 4, "h": 3},
                          reserve={"g": 1_000_000, "h": 2_000_000},
                          tiers={"g": Tier.CONFIDENTIAL, "h": Tier.CONFIDENTIAL},
                          epsilon_micros={"twin-1": 500_000, "twin-2": 500_000},
                          dataset={"twin-1": "d", "twin-2": "d"},
                          risk_bps={"twin-1": MEDIUM_BPS, "twin-2": MEDIUM_BPS},
                          equity_class={"health": "public-health"},
                          purpose={"twin-1": "p", "twin-2": "p"})
    market = with_weights(market, PricingWeights(), max_epsilon_micros={"p": 1_000_000})
    result = cleared_and_priced(market)
    payments = {payment.winner: payment for payment in result.payments}
    assert payments["twin-1"].components == payments["twin-2"].components
    assert payments["twin-1"].components[Component.PRIVACY_RISK] > 0


def test_unknown_budget_pays_the_full_privacy_premium_and_a_large_budget_less(
        build_market: MarketBuilder) -> None:
    market = build_market({"a": [({"g": 1}, 100_000_000)], "b": [({"g": 1}, 60_000_000)]},
                          reserve={"g": 0}, epsilon_micros={"a": 1_000_000},
                          dataset={"a": "icu"}, purpose={"a": "p"})
    market = with_weights(market, PricingWeights(privacy_bps=1_000),
                          max_epsilon_micros={"p": 1_000_000})
    unknown = cleared_and_priced(market).payments[0].components
    assert unknown[Component.SUPPLY_DEMAND] == 60_000_000
    assert unknown[Component.PRIVACY_RISK] == 6_000_000
    budgeted = market.model_copy(update={"remaining_budget_micros": {"icu": 4_000_000}})
    assert cleared_and_priced(budgeted).payments[0].components[
        Component.PRIVACY_RISK] == 1_500_000


def test_premiums_are_capped_so_the_winner_keeps_a_non_negative_surplus(
        build_market: MarketBuilder) -> None:
    market = build_market({"a": [({"g": 1}, 10_000_000)], "b": [({"g": 1}, 9_000_000)]},
                          tiers={"g": Tier.CONFIDENTIAL}, risk_bps={"a": HIGH_BPS})
    market = with_weights(market, PricingWeights(
        safety_bps={RiskRating.LOW: 0, RiskRating.MEDIUM: 0, RiskRating.HIGH: 50_000}))
    assert cleared_and_priced(market).payments[0].components[Component.SAFETY_RISK] == 1_000_000


def test_without_other_winners_the_equity_discount_is_unfunded_and_zero(
        build_market: MarketBuilder) -> None:
    market = build_market({"a": [({"g": 1}, 10_000_000)], "b": [({"g": 1}, 9_000_000)]},
                          equity_class={"a": "research", "b": "research"})
    assert cleared_and_priced(market).payments[0].components[Component.EQUITY] == 0


def test_a_winner_worth_less_than_its_reserve_share_is_refused(
        build_market: MarketBuilder) -> None:
    # two units at 0 and 10; one bid takes both for 8: not an allocation clear() returns
    market = build_market({"a": [({"g": 2}, 8)]}, supply={"g": [(1, 0), (1, 10)]})
    allocation = [Fill(bid="a", bundle=0, items={"g": 2})]
    clearing = Clearing(allocation=allocation, losing=[], welfare=-2, bound=0, gap=0.0,
                        status="feasible", seconds=0.0)
    with pytest.raises(MarketError, match=r"^allocation\[0\]: bid a is worth 8 micro-USD, "
                       r"less than the reserve cost 10 of its units: leave it out, "
                       r"which raises welfare$"):
        price(market, clearing, NOW)


def test_the_generated_market_prices_every_winner_within_its_value() -> None:
    from market.generate import generate_market

    market = generate_market(200, 2, 2, seed=4)
    result = cleared_and_priced(market, 1_800_000_000)
    bids = {bid.id: bid for bid in market.bids}
    for fill, payment in zip(result.allocation, result.payments, strict=True):
        assert 0 <= payment.total <= bids[fill.bid].bundles[fill.bundle].value


@st.composite
def priced_markets(draw: st.DrawFn) -> tuple[Market, Clearing, str]:
    """A few bids on two goods with random values, ε, datasets, low or medium scores and
    classes, cleared; and a winner to vary."""
    from tests.market.conftest import goods_market

    count = draw(st.integers(2, 6))
    bids, fields = {}, {"epsilon_micros": {}, "dataset": {}, "risk_bps": {},
                        "equity_class": {}, "purpose": {}}
    for n in range(count):
        goods = draw(st.sampled_from([{"g": 1}, {"h": 1}, {"g": 1, "h": 1}, {"g": 2}]))
        bids[f"b{n}"] = [(goods, draw(st.integers(5, 100)) * 1_000_000)]
        fields["epsilon_micros"][f"b{n}"] = draw(st.integers(0, 2_000_000))
        fields["dataset"][f"b{n}"] = draw(st.sampled_from(["d1", "d2"]))
        fields["risk_bps"][f"b{n}"] = draw(st.integers(LOW_BPS, HIGH_BPS - 1))
        fields["equity_class"][f"b{n}"] = draw(st.sampled_from(["research", "commercial"]))
        fields["purpose"][f"b{n}"] = "p"
    market = goods_market(bids, {"g": 3, "h": 2}, reserve={"g": 2_000_000, "h": 1_000_000},
                          policy=Policy(max_epsilon_micros={"p": 10_000_000}), **fields)
    market = market.model_copy(update={"remaining_budget_micros": {"d1": 3_000_000}})
    clearing = clear(market, NOW, SolveParams(time_limit=5, workers=1))
    winners = [fill.bid for fill in clearing.allocation]
    return market, clearing, draw(st.sampled_from(winners)) if winners else ""


@settings(max_examples=30, deadline=None)
@given(priced_markets(), st.integers(0, 3_000_000), st.integers(0, 9_000))
def test_raising_a_bids_epsilon_or_risk_never_lowers_its_price(
        case: tuple[Market, Clearing, str], more_epsilon: int, more_risk_bps: int) -> None:
    market, clearing, winner = case
    if not winner:
        return
    before = paid(price(market, clearing, NOW))[winner]
    bids = [bid.model_copy(update={
        "epsilon_micros": bid.epsilon_micros + more_epsilon,
        "risk_bps": min(bid.risk_bps + more_risk_bps, 10_000)})
        if bid.id == winner else bid for bid in market.bids]
    after = paid(price(market.model_copy(update={"bids": bids}), clearing, NOW))[winner]
    assert after >= before


def test_the_safety_rate_is_each_ratings_weight_at_its_bands_minimum_and_a_line_between(
) -> None:
    policy = Policy()  # bands 1,000 / 3,000 / 6,000 bps; weights 0 / 500 / 1,500 bps
    rates = {score: policy.safety_rate_bps(score)
             for score in (1_000, 2_000, 3_000, 3_200, 4_500, 6_000, 10_000)}
    assert rates == {1_000: 0, 2_000: 250, 3_000: 500, 3_200: Fraction(1_700, 3), 4_500: 1_000,
                     6_000: 1_500, 10_000: 1_500}


@given(st.integers(1_000, 9_999))
def test_the_safety_rate_never_falls_and_never_steps(score: int) -> None:
    policy = Policy()
    step = policy.safety_rate_bps(score + 1) - policy.safety_rate_bps(score)
    assert 0 <= step <= Fraction(1_000, 3_000)  # at most the steepest line's slope


@settings(max_examples=30, deadline=None)
@given(priced_markets())
def test_every_guarantee_holds_on_random_markets(case: tuple[Market, Clearing, str]) -> None:
    market, clearing, _ = case
    result = price(market, clearing, NOW)
    bids = {bid.id: bid for bid in market.bids}
    total_reserve = sum(market.supply_cost(item_id, 0, sum(fill.items.get(item_id, 0)
                                                           for fill in result.allocation))
                        for item_id in market.item_by_id)
    assert sum(payment.total for payment in result.payments) >= total_reserve
    for fill, payment in zip(result.allocation, result.payments, strict=True):
        assert payment.total <= bids[fill.bid].bundles[fill.bundle].value
        assert sum(payment.components.values()) == payment.total


@pytest.mark.parametrize(("pricing", "message"), [
    ({"privacy_bps": -1}, "policy.pricing.privacy_bps: Input should be greater than or equal "
                          "to 0"),
    ({"equity_discount_bps": 10**9}, "policy.pricing.equity_discount_bps: Input should be less "
                                     "than or equal to 1000000"),
    ({"safety_bps": {"low": 10, "medium": 5, "high": 20}},
     "policy.pricing.safety_bps: a riskier rating may not weigh less"),
    ({"safety_bps": {"low": 0}}, "policy.pricing.safety_bps: no weight for medium, high"),
    ({"safety_bps": {"low": 0, "medium": 1, "high": 2, "extreme": 3}},
     "policy.pricing.safety_bps.extreme: Input should be 'low', 'medium' or 'high'"),
])
def test_bad_weights_are_rejected_with_the_field_named(pricing: dict[str, Any],
                                                       message: str) -> None:
    from market.readers import read_market_json

    document = consortium_instance().model_dump(mode="json")
    document["policy"]["pricing"] = pricing
    with pytest.raises(MarketError) as raised:
        read_market_json(json.dumps(document))
    assert str(raised.value) == message
