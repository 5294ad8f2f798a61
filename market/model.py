"""The market's data: items of capacity, providers' asks, buyers' bundle bids, the regulator's
policy.

Money is integer micro-USD and privacy loss integer micro-ε everywhere, so welfare is exact and
a result can be recomputed to the unit by anyone holding the instance. A market validates as a
whole: every cross-reference is checked here, and the error names the offending field path
(`bids[3].bundles[0].items.gpu-use1-s1: unknown item`).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chain.policy import MAX_RISK_BPS, NO_CAP, band_of
from chain.settlement import MAX_DEPOSIT_MICRO_USD

# The bounds of every number a market holds (docs/files.md). Each is what the contract field
# it travels in holds, so a file that validates fits on chain and whatever the chain accepted
# reads back as a market.
MAX_UNITS = 2**32 - 1  # capacities and quantities: uint32
MAX_MICRO_USD = MAX_DEPOSIT_MICRO_USD  # a bundle's value (a deposit) and a reserve price: uint48
MAX_MICRO_EPSILON = 2**32 - 1  # a bid's ε and a purpose's limit: uint32
MAX_BUDGET_MICRO_EPSILON = 2**40 - 1  # a dataset's ε budget: uint40
MAX_RISK_WEIGHT = 2**16 - 1  # uint16
MAX_RISK_CAP = NO_CAP - 1  # uint64, whose largest value means "no cap"
MAX_TIMESTAMP = 2**64 - 1  # uint64
# CP-SAT refuses a model whose objective could reach 2^62 in magnitude (it adds up coefficient
# × bound over the terms of each sign). Winner determination's objective (wdp.build) is the
# filled bundles' values net of their units at each item's cheapest reserve price (at most
# every bundle's value), less what dearer asks of an item charge above the cheapest for the
# units taken from them (at most every dearer ask's premium × capacity). The market bounds the
# sum of the two, which also bounds welfare. A round on chain has one ask per item, so only
# values count, and each bid's bundles are worth at most 256 deposits: 64 bids of 281 million
# USD would reach it.
MAX_WELFARE_MICRO_USD = 2**62 - 1

Units = Annotated[int, Field(strict=True, gt=0, le=MAX_UNITS,
                             description="Whole units of the item's unit.")]
MicroUSD = Annotated[int, Field(strict=True, ge=0, le=MAX_MICRO_USD,
                                description="Micro-USD (1e-6 USD).")]
MicroEpsilon = Annotated[int, Field(strict=True, ge=0, le=MAX_MICRO_EPSILON,
                                    description="Micro-ε (1e-6 ε).")]
Timestamp = Annotated[int, Field(strict=True, ge=0, le=MAX_TIMESTAMP, description="Unix seconds.")]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][\w.:-]*$")]
BASIS_POINTS = 10_000
RiskBps = Annotated[int, Field(strict=True, ge=0, le=MAX_RISK_BPS)]


class ResourceKind(StrEnum):
    GPU = "gpu"
    POWER = "power"
    STORAGE = "storage"


class Tier(StrEnum):
    """How much a provider's site is trusted: attested enclaves, audited sites, the rest."""

    CONFIDENTIAL = "confidential"
    CERTIFIED = "certified"
    STANDARD = "standard"


class RiskRating(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class EquityClass(StrEnum):
    PUBLIC_HEALTH = "public-health"
    RESEARCH = "research"
    COMMERCIAL = "commercial"


class _Frozen(BaseModel):
    # Built on first use: a command imports many models and validates with few of them.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def item_label(kind: str, region: str, slot: str, tier: str) -> str:
    """An item's name by what it is, the same in every round that sells it: `gpu-euw1-s1-certified`
    in a generated market, `gpu-euw1-2027-06-07T00:00Z-certified` for an ask on chain."""
    return f"{kind}-{region}-{slot}-{tier}"


class Item(_Frozen):
    """One kind of capacity delivered in one region and slot by sites of one tier."""

    id: Identifier
    kind: ResourceKind
    region: str
    slot: str = Field(description="Delivery slot label, e.g. an ISO week '2026-W49'.")
    tier: Tier
    unit: str = Field(description="What one unit is: 'gpu-hour', 'kW', 'TB'.")

    @property
    def label(self) -> str:
        """Its name across rounds, where `id` may be a round's index."""
        return item_label(self.kind, self.region, self.slot, self.tier)


class Ask(_Frozen):
    """A provider's offer of capacity on an item; its tier is the item's tier."""

    provider: str
    item: Identifier
    capacity: Units
    reserve_price: MicroUSD = Field(description="Lowest acceptable price per unit, micro-USD.")
    enclave_measurement: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$",
        description="Hash of the enclave image jobs on this capacity attest to (hex, 32 bytes).")


class Bundle(_Frozen):
    """Items wanted together (complements): all of them or none, for at most `value`."""

    items: dict[Identifier, Units] = Field(min_length=1)
    value: MicroUSD


class Bid(_Frozen):
    """An XOR of bundles (substitutes): at most one of them is filled."""

    id: Identifier
    buyer: str
    bundles: list[Bundle] = Field(min_length=1)
    epsilon_micros: MicroEpsilon = Field(default=0, description="Privacy loss the job may incur.")
    delta: float = Field(default=0.0, ge=0.0, lt=1.0)
    dataset: str | None = None
    risk_bps: RiskBps = Field(
        default=1_000, description="Share of the notional at risk, basis points: on chain the "
                                   "rubric's score of the job's declaration, here stated. Its "
                                   "rating is the policy's highest risk band it reaches.")
    purpose: str = "general"
    equity_class: EquityClass = EquityClass.COMMERCIAL
    expiry: Timestamp | None = Field(default=None,
                                     description="Unix seconds after which the bid is void; "
                                                 "none: never.")


_RATINGS = list(RiskRating)


def _default_allowed_tiers() -> dict[RiskRating, list[Tier]]:
    return {RiskRating.LOW: list(Tier),
            RiskRating.MEDIUM: [Tier.CONFIDENTIAL, Tier.CERTIFIED],
            RiskRating.HIGH: [Tier.CONFIDENTIAL]}


def _default_risk_weights() -> dict[RiskRating, int]:
    return {RiskRating.LOW: 1, RiskRating.MEDIUM: 4, RiskRating.HIGH: 16}


def _default_equity_classes() -> list[EquityClass]:
    return [EquityClass.PUBLIC_HEALTH, EquityClass.RESEARCH]


def _default_risk_band_bps() -> dict[RiskRating, int]:
    return {RiskRating.LOW: 1_000, RiskRating.MEDIUM: 3_000, RiskRating.HIGH: 6_000}


def _default_safety_bps() -> dict[RiskRating, int]:
    return {RiskRating.LOW: 0, RiskRating.MEDIUM: 500, RiskRating.HIGH: 1_500}


BasisPoints = Annotated[int, Field(strict=True, ge=0, le=100 * BASIS_POINTS)]
RiskCap = Annotated[int, Field(strict=True, ge=0, le=MAX_RISK_CAP)]


class PricingWeights(_Frozen):
    """Weights of the Ethical Pricing Function (docs/pricing.md), each a markup in basis points
    of a winner's supply-and-demand price; all zero gives the competitive prices alone."""

    privacy_bps: BasisPoints = Field(
        default=2_000, description="Privacy premium when a bid's ε takes all of its dataset's "
                                   "remaining budget; pro rata below that.")
    safety_bps: dict[RiskRating, BasisPoints] = Field(
        default_factory=_default_safety_bps,
        description="Safety premium per risk rating, never decreasing from low to high.")
    equity_discount_bps: BasisPoints = Field(
        default=1_000, description="Discount for winners of the policy's equity classes, "
                                   "funded by a levy on the other winners of the round.")

    @field_validator("safety_bps")
    @classmethod
    def _safety_grows_with_risk(cls, safety_bps: dict[RiskRating, int]
                                ) -> dict[RiskRating, int]:
        missing = [rating.value for rating in RiskRating if rating not in safety_bps]
        if missing:
            raise ValueError(f"no weight for {', '.join(missing)}")
        weights = [safety_bps[rating] for rating in RiskRating]
        if weights != sorted(weights):
            # a premium falling with risk would reward a bid for declaring more of it
            raise ValueError("a riskier rating may not weigh less")
        return safety_bps


class Policy(_Frozen):
    """The regulator's rules. A bundle's risk load is its risk weight times its GPU units: risk
    lives where the compute runs, power and storage only come with it."""

    risk_band_bps: dict[RiskRating, Annotated[int, Field(strict=True, ge=1, le=BASIS_POINTS)]] = (
        Field(default_factory=_default_risk_band_bps,
              description="Lowest share of the notional at risk (basis points, what a bid's CST "
                          "stake is computed from) of each rating: on chain a bid's rating is "
                          "the highest whose minimum its riskBps reaches."))
    allowed_tiers: dict[RiskRating, list[Tier]] = Field(
        default_factory=_default_allowed_tiers,
        description="Tiers each risk rating may use; a rating not listed may use none.")
    risk_weights: dict[RiskRating, Annotated[int, Field(strict=True, ge=0,
                                                        le=MAX_RISK_WEIGHT)]] = Field(
        default_factory=_default_risk_weights)
    tier_risk_caps: dict[Tier, RiskCap] = Field(
        default_factory=dict, description="Cap on the risk load placed on each tier.")
    aggregate_risk_cap: RiskCap | None = None
    max_epsilon_micros: dict[str, MicroEpsilon] = Field(
        default_factory=dict,
        description="Largest ε per purpose; a purpose not listed may use no private data.")
    equity_classes: list[EquityClass] = Field(default_factory=_default_equity_classes)
    equity_reservation_bps: int = Field(
        default=0, strict=True, ge=0, le=BASIS_POINTS,
        description="Share of every item's capacity only equity classes may use.")
    pricing: PricingWeights = Field(default_factory=PricingWeights)

    @model_validator(mode="after")
    def _weights_cover_every_rating(self) -> Policy:
        for field in ("risk_weights", "risk_band_bps"):
            missing = [rating.value for rating in RiskRating if rating not in getattr(self, field)]
            if missing:
                raise ValueError(f"policy.{field}: no value for {', '.join(missing)}")
        bands = [self.risk_band_bps[rating] for rating in RiskRating]
        if bands != sorted(set(bands)):
            raise ValueError("policy.risk_band_bps: each rating's minimum must be above the "
                             "previous rating's")
        return self

    def rating_of(self, risk_bps: int) -> RiskRating | None:
        """The band a score falls in, as the chain classifies it; None below the lowest."""
        if risk_bps not in self._ratings:  # asked for every bundle's risk load, each tier
            band = band_of([self.risk_band_bps[rating] for rating in RiskRating], risk_bps)
            self._ratings[risk_bps] = None if band is None else _RATINGS[band]
        return self._ratings[risk_bps]

    @cached_property
    def _ratings(self) -> dict[int, RiskRating | None]:
        return {}

    def safety_rate_bps(self, risk_bps: int) -> Fraction:
        """The safety premium's rate for a score, in basis points of the supply-and-demand
        price: each rating's weight at its band's minimum, a straight line between one minimum
        and the next, the riskiest rating's weight from its minimum up. Continuous and never
        falling in the score, so that one more basis point of risk never costs a step. A score
        below the lowest band (which no bid on chain has) is priced as at its minimum."""
        anchors = [(self.risk_band_bps[r], self.pricing.safety_bps[r]) for r in RiskRating]
        risk_bps = max(risk_bps, anchors[0][0])
        for (low, below), (high, above) in itertools.pairwise(anchors):
            if risk_bps < high:
                return below + Fraction((above - below) * (risk_bps - low), high - low)
        return Fraction(anchors[-1][1])

    def reserved_units(self, capacity: int) -> int:
        return capacity * self.equity_reservation_bps // BASIS_POINTS


class Market(_Frozen):
    """One auction round: what is offered, what is wanted, under which rules."""

    items: list[Item]
    asks: list[Ask]
    bids: list[Bid]
    policy: Policy = Field(default_factory=Policy)
    remaining_budget_micros: dict[str, Annotated[int, Field(
            strict=True, ge=0, le=MAX_BUDGET_MICRO_EPSILON)]] = Field(
        default_factory=dict,
        description="Privacy budget each dataset has left, micro-ε; a dataset not listed has an "
                    "unknown budget and its bids pay the full privacy premium.")

    @cached_property
    def item_by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}

    @cached_property
    def capacity(self) -> dict[str, int]:
        """Total units offered per item."""
        total = dict.fromkeys(self.item_by_id, 0)
        for ask in self.asks:
            total[ask.item] += ask.capacity
        return total

    @cached_property
    def supply_curve(self) -> dict[str, list[tuple[int, int]]]:
        """Per item, (reserve price, units) steps from the cheapest ask up."""
        steps: dict[str, Counter[int]] = {item_id: Counter() for item_id in self.item_by_id}
        for ask in self.asks:
            steps[ask.item][ask.reserve_price] += ask.capacity
        return {item_id: sorted(prices.items()) for item_id, prices in steps.items()}

    def rating(self, bid: Bid) -> RiskRating:
        """The bid's risk rating: the policy's band of its `risk_bps`."""
        rating = self.policy.rating_of(bid.risk_bps)
        if rating is None:
            raise ValueError(f"bid {bid.id}: risk_bps {bid.risk_bps} is below the policy's "
                             "lowest risk band")
        return rating

    def risk_load(self, bid: Bid, bundle: Bundle, tier: Tier | None = None) -> int:
        """Risk weight times GPU units, on one tier or (tier None) on all of them."""
        gpu_tier = self._gpu_tier
        units = sum(quantity for item_id, quantity in bundle.items.items()
                    if (tier is None and gpu_tier[item_id] is not None)
                    or (tier is not None and gpu_tier[item_id] is tier))
        return self.policy.risk_weights[self.rating(bid)] * units

    @cached_property
    def _gpu_tier(self) -> dict[str, Tier | None]:
        """Each GPU item's tier; None for the other items, which carry no risk load."""
        return {item.id: item.tier if item.kind is ResourceKind.GPU else None
                for item in self.items}

    def supply_cost(self, item_id: str, taken: int, units: int) -> int:
        """Reserve cost of `units` more units of an item once `taken` are already used."""
        curve = self.supply_curve[item_id]
        if len(curve) == 1:  # one price: no need to walk
            return units * curve[0][0]
        return step_cost(curve, taken, units)

    @model_validator(mode="after")
    def _consistent(self) -> Market:
        _check_unique("items", [item.id for item in self.items], "item id")
        _check_unique("bids", [bid.id for bid in self.bids], "bid id")
        for index, ask in enumerate(self.asks):
            if ask.item not in self.item_by_id:
                raise ValueError(f"asks[{index}].item: unknown item {ask.item!r}")
        lowest = self.policy.risk_band_bps[RiskRating.LOW]
        for index, bid in enumerate(self.bids):
            if self.policy.rating_of(bid.risk_bps) is None:
                raise ValueError(f"bids[{index}].risk_bps: {bid.risk_bps} is below the policy's "
                                 f"lowest risk band ({lowest})")
            for number, bundle in enumerate(bid.bundles):
                for item_id, quantity in bundle.items.items():
                    path = f"bids[{index}].bundles[{number}].items.{item_id}"
                    if item_id not in self.item_by_id:
                        raise ValueError(f"{path}: unknown item")
                    if quantity > self.capacity[item_id]:
                        raise ValueError(f"{path}: quantity {quantity} exceeds the item's total "
                                         f"capacity {self.capacity[item_id]}")
        total = (sum(bundle.value for bid in self.bids for bundle in bid.bundles)
                 + sum((price - steps[0][0]) * units for steps in self.supply_curve.values()
                       for price, units in steps[1:]))
        if total > MAX_WELFARE_MICRO_USD:
            raise ValueError(f"bids: the bundles' values and the dearer asks' premiums add up "
                             f"to {total} micro-USD, above the {MAX_WELFARE_MICRO_USD} winner "
                             "determination can weigh")
        return self


def step_cost(steps: Iterable[tuple[int, int]], taken: int, units: int) -> int:
    """Cost of `units` more units along (price, units) steps, cheapest first, once `taken`
    units are used; units beyond the last step cost nothing here (capacity checks them)."""
    cost = 0
    for price, available in steps:
        skip = min(taken, available)
        taken -= skip
        use = min(units, available - skip)
        cost += use * price
        units -= use
    return cost


def _check_unique(field: str, ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for index, identifier in enumerate(ids):
        if identifier in seen:
            raise ValueError(f"{field}[{index}].id: duplicate {what} {identifier!r}")
        seen.add(identifier)
