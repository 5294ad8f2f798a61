"""How the market model is written on chain, and read back.

On chain an item is one provider's ask (the ClearingHouse numbers a round's asks 0, 1, ...),
so a round read back from the chain is a market whose every item has exactly one ask, named by
its index. Risk ratings, tiers and equity classes travel as small integers; purposes as the
keccak256 of their names. The files providers and buyers sign up with are the market's own
JSON (micro-USD, micro-ε), with items named by the round's item indices.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chain.bid import Bid as ChainBid
from chain.bid import Bundle as ChainBundle
from chain.bid import purpose_id
from chain.settlement import Ask as ChainAsk
from market.model import (
    Ask,
    Bid,
    Bundle,
    EquityClass,
    Item,
    MicroEpsilon,
    MicroUSD,
    ResourceKind,
    RiskRating,
    Tier,
    Units,
)

TIER_CODES = {Tier.STANDARD: 0, Tier.CERTIFIED: 1, Tier.CONFIDENTIAL: 2}
EQUITY_CODES = {EquityClass.COMMERCIAL: 0, EquityClass.RESEARCH: 1, EquityClass.PUBLIC_HEALTH: 2}
# A rating's share of the notional at risk: the stake a bid locks (before its reputation
# discount) is this share of its maximum value, in CST at the vault's rate.
RISK_BPS = {RiskRating.LOW: 1_000, RiskRating.MEDIUM: 3_000, RiskRating.HIGH: 6_000}
DELTA_SCALE = 10**18  # δ on chain: atto-δ

K = TypeVar("K")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AskEntry(_Strict):
    """One line of a provider's ask file: an item it offers in the round."""

    kind: ResourceKind
    region: str = Field(min_length=1, max_length=32)
    slot: datetime = Field(description="Start of the delivery slot (ISO 8601, UTC if no zone).")
    slot_seconds: int = Field(strict=True, gt=0, lt=2**32)
    tier: Tier
    unit: str = Field(min_length=1, max_length=32)
    capacity: Annotated[int, Field(strict=True, gt=0, lt=2**32)]
    reserve_price: MicroUSD

    def to_chain(self) -> ChainAsk:
        slot = self.slot if self.slot.tzinfo else self.slot.replace(tzinfo=UTC)
        return ChainAsk(self.kind.value, self.region, self.unit, int(slot.timestamp()),
                        self.slot_seconds, TIER_CODES[self.tier], self.capacity,
                        self.reserve_price)


class AskFile(_Strict):
    asks: list[AskEntry] = Field(min_length=1)


class BundleEntry(_Strict):
    items: dict[str, Units] = Field(min_length=1, description="Round item index → units.")
    value: MicroUSD

    @field_validator("items")
    @classmethod
    def _indices(cls, items: dict[str, int]) -> dict[str, int]:
        for key in items:
            if not key.isdigit() or int(key) >= 2**16:
                raise ValueError(f"item {key!r}: expected a round item index (0, 1, ...)")
        return items


class BidEntry(_Strict):
    """One bid of a buyer's bid file; the buyer is the wallet that signs it."""

    bundles: list[BundleEntry] = Field(min_length=1, max_length=255)
    epsilon_micros: MicroEpsilon = 0
    delta: float = Field(default=0.0, ge=0.0, lt=1.0)
    dataset: int = Field(default=0, ge=0, lt=2**96, description="Dataset id (decimal or 0x).")
    risk_rating: RiskRating = RiskRating.LOW
    purpose: str = "general"
    equity_class: EquityClass = EquityClass.COMMERCIAL
    expiry: int = Field(default=2**63 - 1, strict=True, gt=0, lt=2**64)

    @field_validator("dataset", mode="before")
    @classmethod
    def _hex_or_decimal(cls, value: object) -> object:
        return int(value, 0) if isinstance(value, str) else value

    def to_chain(self, round_id: int, bidder: str, nonce: int) -> ChainBid:
        bundles = tuple(
            ChainBundle(tuple(int(key) for key in bundle.items),
                        tuple(bundle.items.values()), bundle.value)
            for bundle in self.bundles)
        return ChainBid(
            round_id=round_id, bidder=bidder,
            max_value_micro_usd=max(bundle.value for bundle in self.bundles),
            dataset_id=self.dataset, epsilon_micros=self.epsilon_micros,
            delta_atto=round(self.delta * DELTA_SCALE), risk_bps=RISK_BPS[self.risk_rating],
            purpose=purpose_id(self.purpose), equity_class=EQUITY_CODES[self.equity_class],
            nonce=nonce, expiry_timestamp=self.expiry, bundles=bundles)


class BidFile(_Strict):
    bids: list[BidEntry] = Field(min_length=1)


def item_name(index: int) -> str:
    return str(index)


def market_item(index: int, ask: ChainAsk) -> Item:
    slot = datetime.fromtimestamp(ask.slot_start_timestamp, UTC).strftime("%Y-%m-%dT%H:%MZ")
    return Item(id=item_name(index), kind=ResourceKind(ask.resource), region=ask.region,
                slot=slot, tier=_decode(TIER_CODES, ask.tier, "tier"), unit=ask.unit)


def market_ask(index: int, provider: str, ask: ChainAsk) -> Ask:
    return Ask(provider=provider, item=item_name(index), capacity=ask.capacity,
               reserve_price=ask.reserve_price_micro_usd)


def market_bid(bid_id: str, bid: ChainBid, purposes: list[str]) -> Bid:
    """The model's view of a revealed bid; `purposes` are the names whose hashes it may carry
    (an unknown purpose keeps its hash, and no policy lists it)."""
    names = {purpose_id(name): name for name in purposes}
    return Bid(
        id=bid_id, buyer=bid.bidder,
        bundles=[Bundle(items={item_name(i): q for i, q in zip(b.items, b.quantities, strict=True)},
                        value=b.value_micro_usd) for b in bid.bundles],
        epsilon_micros=bid.epsilon_micros, delta=bid.delta_atto / DELTA_SCALE,
        dataset=str(bid.dataset_id) if bid.dataset_id else None,
        risk_rating=rating_of(bid.risk_bps),
        purpose=names.get(bid.purpose, "0x" + bid.purpose.hex()),
        equity_class=_decode(EQUITY_CODES, bid.equity_class, "equity class"),
        expiry=bid.expiry_timestamp)


def tier_name(code: int) -> str:
    return str(_decode(TIER_CODES, code, "tier"))


def rating_of(risk_bps: int) -> RiskRating:
    """The highest rating whose share of the notional the bid's risk reaches."""
    return max((r for r, bps in RISK_BPS.items() if bps <= risk_bps),
               key=lambda r: RISK_BPS[r], default=RiskRating.LOW)


def _decode(codes: dict[K, int], code: int, what: str) -> K:
    for key, value in codes.items():
        if value == code:
            return key
    raise ValueError(f"unknown {what} code {code}")
