"""Which bundles may be filled at all, and, once an allocation is chosen, why each losing bid
lost. Silent non-fills are what buyers in compute markets resent most, so every losing bid
leaves with exactly one machine-readable reason and the item or cap behind it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from chain.amounts import amount_text, epsilon_text
from chain.times import unix_and_utc
from market.model import Bid, Bundle, Market, Tier
from market.result import Loss, LossReason


@dataclass(frozen=True)
class Screening:
    eligible: dict[int, list[int]]  # bid index -> indices of its bundles that pass every check
    losses: dict[int, Loss]  # bid index -> why none of its bundles may be filled


class Usage:
    """The capacity, non-reserved capacity and (where capped) risk load an allocation takes."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.units: Counter[str] = Counter()
        self.unreserved_units: Counter[str] = Counter()  # units taken by non-equity classes
        self.tier_load: Counter[Tier] = Counter()
        self.total_load = 0

    def add(self, bid: Bid, bundle: Bundle) -> None:
        self.units.update(bundle.items)
        if bid.equity_class not in self.market.policy.equity_classes:
            self.unreserved_units.update(bundle.items)
        for tier in self.market.policy.tier_risk_caps:
            self.tier_load[tier] += self.market.risk_load(bid, bundle, tier)
        if self.market.policy.aggregate_risk_cap is not None:
            self.total_load += self.market.risk_load(bid, bundle)

    def marginal_cost(self, bundle: Bundle) -> int:
        """Reserve cost of the bundle's units on top of those already taken."""
        return sum(self.market.supply_cost(item_id, self.units[item_id], quantity)
                   for item_id, quantity in bundle.items.items())

    def loss(self, bid: Bid, number: int) -> Loss | None:
        """Why bundle `number` of the bid cannot be added to the allocation, if it cannot."""
        bundle = bid.bundles[number]
        market, policy = self.market, self.market.policy

        def lost(reason: LossReason, detail: str, item: str | None = None) -> Loss:
            return Loss(bid=bid.id, reason=reason, bundle=number, item=item, detail=detail)

        for item_id, quantity in bundle.items.items():
            left = market.capacity[item_id] - self.units[item_id]
            if quantity > left:
                return lost(LossReason.OUTBID, f"needs {quantity} units of {item_id}, "
                            f"{left} left after higher-value bids", item_id)
        if policy.equity_reservation_bps and bid.equity_class not in policy.equity_classes:
            for item_id, quantity in bundle.items.items():
                capacity = market.capacity[item_id]
                left = capacity - policy.reserved_units(capacity) - self.unreserved_units[item_id]
                if quantity > left:
                    return lost(LossReason.EQUITY_RESERVATION,
                                f"needs {quantity} units of {item_id}; {left} are open to "
                                f"{bid.equity_class}, the rest is reserved for equity classes",
                                item_id)
        for tier, cap in policy.tier_risk_caps.items():
            load = market.risk_load(bid, bundle, tier)
            if load and self.tier_load[tier] + load > cap:
                return lost(LossReason.RISK_CAP, f"risk load {load} on the {tier} tier, "
                            f"{cap - self.tier_load[tier]} left under its cap {cap}")
        total_cap = policy.aggregate_risk_cap
        load = market.risk_load(bid, bundle) if total_cap is not None else 0
        if total_cap is not None and load and self.total_load + load > total_cap:
            return lost(LossReason.RISK_CAP, f"risk load {load}, {total_cap - self.total_load} "
                        f"left under the aggregate cap {total_cap}")
        cost = self.marginal_cost(bundle)
        if bundle.value < cost:
            return lost(LossReason.BELOW_RESERVE,
                        f"value {amount_text(bundle.value, 'usd')} USD is below the reserve "
                        f"cost {amount_text(cost, 'usd')} USD of its units")
        return None


def screen(market: Market, now: int) -> Screening:
    """Checks that need no allocation: expiry, ε, tiers, and what an empty market allows."""
    empty = Usage(market)
    eligible: dict[int, list[int]] = {}
    losses: dict[int, Loss] = {}
    for index, bid in enumerate(market.bids):
        loss = bid_loss(market, bid, now)
        if loss is not None:
            losses[index] = loss
            continue
        bundle_losses = [bundle_loss(market, bid, number, empty)
                         for number in range(len(bid.bundles))]
        passing = [number for number, lost in enumerate(bundle_losses) if lost is None]
        if passing:
            eligible[index] = passing
        else:
            order = list(LossReason)
            losses[index] = min((lost for lost in bundle_losses if lost is not None),
                                key=lambda lost: order.index(lost.reason))
    return Screening(eligible, losses)


def explain_losses(market: Market, screening: Screening, filled: dict[int, int]) -> list[Loss]:
    """One reason per bid not in `filled` (bid index -> bundle index), in bid order. For an
    eligible bid the reason is about its bundle of highest value net of reserve cost. A bid
    that still fits is `unselected`: winner determination never leaves one, but an allocation
    posted on chain by someone else may."""
    usage, empty = Usage(market), Usage(market)
    for index, number in filled.items():
        usage.add(market.bids[index], market.bids[index].bundles[number])
    losses = []
    for index, bid in enumerate(market.bids):
        if index in filled:
            continue
        if index in screening.losses:
            losses.append(screening.losses[index])
            continue
        eligible = screening.eligible[index]
        best = eligible[0] if len(eligible) == 1 else max(
            eligible, key=lambda number: (bid.bundles[number].value
                                          - empty.marginal_cost(bid.bundles[number]), -number))
        losses.append(usage.loss(bid, best) or Loss(
            bid=bid.id, reason=LossReason.UNSELECTED, bundle=best,
            detail="fits the allocation, which did not fill it"))
    return losses


def bid_loss(market: Market, bid: Bid, now: int) -> Loss | None:
    """Why none of the bid's bundles may be filled at time `now`, whatever they are."""
    if bid.expiry is not None and now > bid.expiry:
        return Loss(bid=bid.id, reason=LossReason.EXPIRED,
                    detail=f"expired at {unix_and_utc(bid.expiry)}, cleared at {unix_and_utc(now)}")
    limit = market.policy.max_epsilon_micros.get(bid.purpose, 0)
    if bid.epsilon_micros > limit:
        return Loss(bid=bid.id, reason=LossReason.EPSILON_OVER_POLICY,
                    detail=f"ε {epsilon_text(bid.epsilon_micros)} exceeds the policy's "
                           f"{epsilon_text(limit)} for purpose {bid.purpose!r}")
    return None


def bundle_loss(market: Market, bid: Bid, number: int, empty: Usage) -> Loss | None:
    """Why bundle `number` may not be filled in any allocation: `empty` is the usage of none."""
    return _tier_loss(market, bid, number) or empty.loss(bid, number)


def _tier_loss(market: Market, bid: Bid, number: int) -> Loss | None:
    rating = market.rating(bid)
    allowed = market.policy.allowed_tiers.get(rating, [])
    for item_id in bid.bundles[number].items:
        tier = market.item_by_id[item_id].tier
        if tier not in allowed:
            return Loss(bid=bid.id, reason=LossReason.INELIGIBLE_TIER, bundle=number,
                        item=item_id, detail=f"a {rating}-risk job may not run on the "
                                             f"{tier} tier")
    return None
