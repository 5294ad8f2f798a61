from __future__ import annotations

from collections import Counter

from market.generate import generate_market
from market.model import Bundle, EquityClass, Market, ResourceKind, RiskRating
from market.result import LossReason
from market.wdp import SolveParams, clear


def test_generate_is_deterministic_per_seed() -> None:
    assert generate_market(30, 2, 2, seed=5) == generate_market(30, 2, 2, seed=5)
    assert generate_market(30, 2, 2, seed=5) != generate_market(30, 2, 2, seed=6)


def test_bundles_are_complements_and_substitutes() -> None:
    market = generate_market(200, 3, 3, seed=1)
    kinds = {tuple(sorted(market.item_by_id[i].kind for i in bundle.items))
             for bid in market.bids for bundle in bid.bundles}
    assert kinds == {tuple(sorted(ResourceKind))}  # GPU, power and storage in every bundle
    places = {place(market, bundle) for bid in market.bids for bundle in bid.bundles}
    assert len(places) == 3 * 3 * 3  # every region, slot and tier is asked for
    assert max(len(bid.bundles) for bid in market.bids) == 4
    assert Counter(len(bid.bundles) > 1 for bid in market.bids)[True] > 100


def place(market: Market, bundle: Bundle) -> tuple[str, str, str]:
    """Region, slot and tier, which all items of a generated bundle share."""
    (where,) = {(market.item_by_id[i].region, market.item_by_id[i].slot,
                 market.item_by_id[i].tier) for i in bundle.items}
    return where


def test_instance_mixes_risk_equity_and_privacy() -> None:
    market = generate_market(300, 2, 2, seed=2)
    assert set(Counter(market.rating(bid) for bid in market.bids)) == set(RiskRating)
    assert set(Counter(bid.equity_class for bid in market.bids)) == set(EquityClass)
    assert any(bid.epsilon_micros for bid in market.bids)
    assert market.policy.equity_reservation_bps and market.policy.tier_risk_caps
    assert any(len(market.supply_curve[item]) == 2 for item in market.capacity)


def test_generated_market_exercises_the_loss_reasons() -> None:
    market = generate_market(120, 2, 2, seed=6)
    result = clear(market, 1_800_000_000, SolveParams(time_limit=20.0, workers=1))
    # `malformed` and `unselected` come only from rounds read back from the chain
    # (tests/market/test_settlement_service.py).
    assert {loss.reason for loss in result.losing} == set(LossReason) - {
        LossReason.MALFORMED, LossReason.UNSELECTED}
    assert result.allocation
