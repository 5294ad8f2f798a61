"""How the market model is written on chain, and read back.

On chain an item is one provider's ask (the ClearingHouse numbers a round's asks 0, 1, ...),
so a round read back from the chain is a market whose every item has exactly one ask, named by
its index. Kinds, tiers and equity classes travel as small integers, purposes as the keccak256
of their names, risk as basis points of the notional: a bid's rating is the policy's highest
risk band its `riskBps` reaches (`chain.policy.band_of`). The files providers and buyers sign
up with are the market's own JSON (micro-USD, micro-ε), with items named by the round's item
indices.

Everything the chain accepted converts: a revealed bid the auctioneer cannot use (a bundle
spanning two providers, more units than the item has, δ of 1 or more) is reported as
`malformed` by `market/settlement.py`, never raised.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chain.bid import Bid as ChainBid
from chain.bid import Bundle as ChainBundle
from chain.bid import purpose_id, purpose_name
from chain.policy import (
    LAUNCH_RATES,
    MAX_RISK_BPS,
    NO_CAP,
    ChainPolicy,
    PricingWeights,
    Rates,
    Rules,
)
from chain.settlement import KIND_CODES
from chain.settlement import TIER_CODES as CHAIN_TIER_CODES
from chain.settlement import Ask as ChainAsk
from market.errors import MarketError
from market.model import (
    Ask,
    Bid,
    Bundle,
    EquityClass,
    Item,
    MicroEpsilon,
    MicroUSD,
    Policy,
    ResourceKind,
    RiskRating,
    Tier,
    Timestamp,
    Units,
)
from market.model import (
    PricingWeights as ModelPricingWeights,
)
from market.rubrics import policy_rubric_entry
from risk.declaration import Declaration, read_declaration
from risk.rubric import launch_rubric_hash

TIER_CODES = {Tier(name): code for name, code in CHAIN_TIER_CODES.items()}
EQUITY_CODES = {EquityClass.COMMERCIAL: 0, EquityClass.RESEARCH: 1, EquityClass.PUBLIC_HEALTH: 2}
RATINGS = list(RiskRating)  # band order on chain: low, medium, high
DELTA_SCALE = 10**18  # δ on chain: atto-δ
UINT16, UINT32 = 2**16 - 1, 2**32 - 1

K = TypeVar("K")


class _Strict(BaseModel):
    # Built on first use: a command imports many models and validates with few of them.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class AskEntry(_Strict):
    """One line of a provider's ask file: an item it offers in the round."""

    kind: ResourceKind
    region: str = Field(min_length=1, max_length=32)
    slot: datetime = Field(description="Start of the delivery slot (ISO 8601, UTC if no zone).")
    slot_seconds: int = Field(strict=True, gt=0, le=UINT32)
    tier: Tier
    unit: str = Field(min_length=1, max_length=32)
    capacity: Units
    reserve_price: MicroUSD
    enclave_measurement: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$",
        description="The enclave this item's jobs run in: keccak256 of its SHA-384 launch "
                    "digest (hex, 32 bytes), as the attester prints it at init; the oracle holds "
                    "the futures' evidence to it. None: any enclave the oracle's operator "
                    "policy allows.")

    @field_validator("slot")
    @classmethod
    def _in_utc(cls, slot: datetime) -> datetime:
        slot = slot if slot.tzinfo else slot.replace(tzinfo=UTC)
        if slot.timestamp() < 0:
            raise ValueError("before 1970: the chain counts slots in unsigned unix seconds")
        return slot

    def to_chain(self) -> ChainAsk:
        enclave = bytes.fromhex(self.enclave_measurement or "00" * 32)
        return ChainAsk(KIND_CODES[self.kind.value], self.region, self.unit,
                        int(self.slot.timestamp()), self.slot_seconds, TIER_CODES[self.tier],
                        self.capacity, self.reserve_price, enclave)


class AskFile(_Strict):
    asks: list[AskEntry] = Field(min_length=1)


class BundleEntry(_Strict):
    items: dict[str, Units] = Field(min_length=1, description="Round item index → units.")
    # A bundle worth nothing adds no welfare: no allocation needs it, and the chain takes no
    # deposit of 0.
    value: MicroUSD = Field(gt=0)

    @field_validator("items")
    @classmethod
    def _indices(cls, items: dict[str, int]) -> dict[str, int]:
        for key in items:
            if not key.isdigit() or int(key) > UINT16:
                raise ValueError(f"item {key!r}: expected a round item index (0, 1, ... "
                                 f"{UINT16})")
        return items

    def to_chain(self) -> ChainBundle:
        """Items in ascending index order, as the chain requires."""
        ordered = sorted((int(key), units) for key, units in self.items.items())
        return ChainBundle(tuple(i for i, _ in ordered), tuple(q for _, q in ordered), self.value)


class BidEntry(_Strict):
    """One bid of a buyer's bid file; the buyer is the wallet that signs it."""

    bundles: list[BundleEntry] = Field(min_length=1, max_length=256)
    epsilon_micros: MicroEpsilon = 0
    delta: float = Field(default=0.0, ge=0.0, lt=1.0)
    dataset: int = Field(default=0, ge=0, lt=2**96, description="Dataset id (decimal or 0x).")
    declaration: Declaration | Path = Field(
        description="The job's workload declaration, or the path of its JSON file (in a bid "
                    "file, relative to the file's directory): the round's rubric scores it "
                    "into the bid's riskBps, and the bid commits to its hash.")
    risk_bps: int | None = Field(
        default=None, strict=True, ge=0, le=MAX_RISK_BPS,
        description="A score above the rubric's, to stake more than it asks; none: the "
                    "rubric's score.")
    purpose: str = "general"
    equity_class: EquityClass = EquityClass.COMMERCIAL
    expiry: Timestamp = Field(default=2**63 - 1, gt=0)

    @field_validator("dataset", mode="before")
    @classmethod
    def _hex_or_decimal(cls, value: object) -> object:
        return int(value, 0) if isinstance(value, str) else value

    @field_validator("declaration", mode="before")
    @classmethod
    def _object_or_path(cls, value: object) -> object:
        """Dispatched here so that a problem is named by its path in the declaration
        (`declaration.job_flop`), not by the union's member."""
        if isinstance(value, dict):
            return Declaration.model_validate(value)
        if isinstance(value, str | Declaration | Path):
            return value
        raise ValueError("expected a declaration object or the path of its JSON file")

    def read_declaration(self) -> Declaration:
        """The declaration, read from its file when the entry names one."""
        if isinstance(self.declaration, Declaration):
            return self.declaration
        return read_declaration(self.declaration)

    def to_chain(self, round_id: int, bidder: str, nonce: int, risk_bps: int,
                 declaration_hash: bytes) -> ChainBid:
        """The bid as signed, at the score its declaration was given."""
        return ChainBid(
            round_id=round_id, bidder=bidder,
            max_value_micro_usd=max(bundle.value for bundle in self.bundles),
            dataset_id=self.dataset, epsilon_micros=self.epsilon_micros,
            delta_atto=round(self.delta * DELTA_SCALE), risk_bps=risk_bps,
            declaration_hash=declaration_hash, purpose=purpose_id(self.purpose),
            equity_class=EQUITY_CODES[self.equity_class],
            nonce=nonce, expiry_timestamp=self.expiry,
            bundles=tuple(bundle.to_chain() for bundle in self.bundles))


class BidFile(_Strict):
    bids: list[BidEntry] = Field(min_length=1)

    def relative_to(self, directory: Path) -> BidFile:
        """The file with its declarations' relative paths read from `directory`."""
        return self.model_copy(update={"bids": [
            bid.model_copy(update={"declaration": directory / bid.declaration})
            if isinstance(bid.declaration, Path) else bid for bid in self.bids]})


# ---- the regulator's policy ----


class RatesEntry(_Strict):
    """A policy's bonds, slashes and windows (CST in wei, USD in micro-USD, seconds, basis
    points); each defaults to the launch rate."""

    auctioneer_bond_wei: int = Field(default=LAUNCH_RATES.auctioneer_bond_wei, ge=0, lt=2**96)
    auctioneer_slash_wei: int = Field(default=LAUNCH_RATES.auctioneer_slash_wei, ge=0, lt=2**96)
    forfeit_fee_micro_usd: int = Field(default=LAUNCH_RATES.forfeit_fee_micro_usd, ge=0,
                                       lt=2**64)
    challenger_bond_wei: int = Field(default=LAUNCH_RATES.challenger_bond_wei, ge=0, lt=2**96)
    provider_bond_per_unit_wei: int = Field(default=LAUNCH_RATES.provider_bond_per_unit_wei,
                                            ge=0, lt=2**96)
    forfeit_bps: int = Field(default=LAUNCH_RATES.forfeit_bps, ge=0, le=10_000)
    min_improvement_bps: int = Field(default=LAUNCH_RATES.min_improvement_bps, ge=0, le=10_000)
    max_items_per_provider: int = Field(default=LAUNCH_RATES.max_items_per_provider, ge=1,
                                        le=UINT16)
    max_claimed_gap_bps: int = Field(default=LAUNCH_RATES.max_claimed_gap_bps, ge=0, le=UINT16)
    provider_slash_wei: int = Field(default=LAUNCH_RATES.provider_slash_wei, ge=0, lt=2**96)
    answer_window_seconds: int = Field(default=LAUNCH_RATES.answer_window_seconds, ge=1,
                                       le=UINT32)
    max_extension_seconds: int = Field(default=LAUNCH_RATES.max_extension_seconds, ge=1,
                                       le=UINT32)
    pricing_window_seconds: int = Field(default=LAUNCH_RATES.pricing_window_seconds, ge=1,
                                        le=UINT32)
    verdict_window_seconds: int = Field(default=LAUNCH_RATES.verdict_window_seconds, ge=1,
                                        le=UINT32)

    @model_validator(mode="after")
    def _slash_held(self) -> RatesEntry:
        if self.provider_slash_wei > self.provider_bond_per_unit_wei:
            raise ValueError("provider_slash_wei: at most provider_bond_per_unit_wei, so that "
                             "every future sold holds its slash")
        return self

    def to_chain(self) -> Rates:
        return Rates(**self.model_dump())


class PolicyFile(_Strict):
    """What `rcm round policy FILE` registers: the regulator's rules, the rounds' rates and the
    risk rubric their bids are scored with."""

    policy: Policy = Field(default_factory=Policy)
    rates: RatesEntry = Field(default_factory=RatesEntry)
    rubric: str | None = Field(
        default=None, min_length=1,
        description="The rubric's TOML file, relative to the policy file, or the 0x-hash of "
                    "one this machine holds; none: the launch rubric shipped with rcm.")

    def to_chain(self, rubric_hash: bytes) -> ChainPolicy:
        """The policy with the hash of the rubric `rubric` names."""
        return policy_to_chain(self.policy, self.rates.to_chain(), rubric_hash)

    @classmethod
    def from_chain(cls, chain_policy: ChainPolicy) -> PolicyFile:
        return cls(policy=policy_from_chain(chain_policy),
                   rates=RatesEntry(**vars(chain_policy.rules.rates)),
                   rubric=policy_rubric_entry(chain_policy.rubric_hash))


def policy_to_chain(policy: Policy, rates: Rates = LAUNCH_RATES,
                    rubric_hash: bytes | None = None) -> ChainPolicy:
    """The policy as the PolicyRegistry takes it (the model's bounds are the registry's
    field widths); the launch rubric unless another's hash is given."""
    total = policy.aggregate_risk_cap
    pricing = policy.pricing
    return ChainPolicy(
        Rules(
            band_min_bps=tuple(policy.risk_band_bps[r] for r in RATINGS),
            band_tier_masks=tuple(sum(1 << TIER_CODES[t] for t in policy.allowed_tiers.get(r, []))
                                   for r in RATINGS),
            band_risk_weights=tuple(policy.risk_weights[r] for r in RATINGS),
            tier_risk_caps=tuple(policy.tier_risk_caps.get(tier, NO_CAP)
                                 for tier in _by_code(TIER_CODES)),
            total_risk_cap=NO_CAP if total is None else total,
            equity_class_count=len(EQUITY_CODES),
            equity_class_mask=sum(1 << EQUITY_CODES[c] for c in set(policy.equity_classes)),
            equity_reservation_bps=policy.equity_reservation_bps,
            rates=rates,
        ),
        tuple(sorted(policy.max_epsilon_micros.items())),
        PricingWeights(pricing.privacy_bps, tuple(pricing.safety_bps[r] for r in RATINGS),
                       pricing.equity_discount_bps),
        launch_rubric_hash() if rubric_hash is None else rubric_hash,
    )


def policy_from_chain(chain_policy: ChainPolicy) -> Policy:
    """The auctioneer's policy for a round that pinned `chain_policy`."""
    rules, pricing = chain_policy.rules, chain_policy.pricing
    tiers = _by_code(TIER_CODES)
    return Policy(
        risk_band_bps=dict(zip(RATINGS, rules.band_min_bps, strict=True)),
        allowed_tiers={r: [t for t in tiers if mask >> TIER_CODES[t] & 1]
                       for r, mask in zip(RATINGS, rules.band_tier_masks, strict=True)},
        risk_weights=dict(zip(RATINGS, rules.band_risk_weights, strict=True)),
        tier_risk_caps={t: cap for t, cap in zip(tiers, rules.tier_risk_caps, strict=True)
                        if cap != NO_CAP},
        aggregate_risk_cap=None if rules.total_risk_cap == NO_CAP else rules.total_risk_cap,
        max_epsilon_micros=dict(chain_policy.epsilon_limits),
        equity_classes=[c for c in _by_code(EQUITY_CODES)
                        if rules.equity_class_mask >> EQUITY_CODES[c] & 1],
        equity_reservation_bps=rules.equity_reservation_bps,
        pricing=ModelPricingWeights(
            privacy_bps=pricing.privacy_bps,
            safety_bps=dict(zip(RATINGS, pricing.safety_bps, strict=True)),
            equity_discount_bps=pricing.equity_discount_bps),
    )


def launch_policy() -> ChainPolicy:
    """The policy a new deployment starts with: the Global Health AI Consortium example's
    rules, at the launch rates, scoring risk with the launch rubric."""
    from market.examples import consortium_instance

    return policy_to_chain(consortium_instance().policy, LAUNCH_RATES)


# ---- reading a round back ----


def item_name(index: int) -> str:
    return str(index)


def market_item(index: int, ask: ChainAsk) -> Item:
    return Item(id=item_name(index), kind=ResourceKind(ask.resource), region=ask.region,
                slot=slot_label(ask.slot_start_timestamp),
                tier=_decode(TIER_CODES, ask.tier, "tier"), unit=ask.unit)


def market_ask(index: int, provider: str, ask: ChainAsk) -> Ask:
    return Ask(provider=provider, item=item_name(index), capacity=ask.capacity,
               reserve_price=ask.reserve_price_micro_usd,
               enclave_measurement=ask.enclave_digest.hex() if any(ask.enclave_digest) else None)


def market_bid(bid_id: str, bid: ChainBid, chain_policy: ChainPolicy,
               bundles: list[int] | None = None) -> Bid:
    """The model's view of a revealed bid under the round's policy, with the bundles numbered
    in `bundles` (all of them by default). The chain held the bid to the policy's bands and
    codes; an unknown purpose keeps its hash, and no policy lists it."""
    if chain_policy.rules.band_of(bid.risk_bps) is None:
        raise MarketError(f"riskBps {bid.risk_bps} is outside the round's bands")
    chosen = range(len(bid.bundles)) if bundles is None else bundles
    return Bid(
        id=bid_id, buyer=bid.bidder,
        bundles=[Bundle(items={item_name(i): q for i, q in zip(b.items, b.quantities,
                                                                strict=True)},
                        value=b.value_micro_usd)
                 for b in (bid.bundles[number] for number in chosen)],
        epsilon_micros=bid.epsilon_micros, delta=bid.delta_atto / DELTA_SCALE,
        dataset=str(bid.dataset_id) if bid.dataset_id else None,
        risk_bps=bid.risk_bps,
        purpose=purpose_name(bid.purpose, (name for name, _ in chain_policy.epsilon_limits)),
        equity_class=_decode(EQUITY_CODES, bid.equity_class, "equity class"),
        expiry=bid.expiry_timestamp)


def slot_label(timestamp: int) -> str:
    """A slot start as the model labels it; the raw seconds for one no calendar holds."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%MZ")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def _decode(codes: dict[K, int], code: int, what: str) -> K:
    for key, value in codes.items():
        if value == code:
            return key
    raise MarketError(f"unknown {what} code {code}")


def _by_code(codes: dict[K, int]) -> list[K]:
    return sorted(codes, key=lambda key: codes[key])
