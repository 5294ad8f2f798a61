"""The regulator's round policy as `IPolicyRegistry.Policy` takes it, and as its `PolicySet`
event and the PolicyRegistry's views give it back.

Three risk bands (low, medium, high) of `riskBps`; tier codes 0 standard, 1 certified,
2 confidential (a band's tier mask has bit t set when it may use tier t); equity class codes
below `equity_class_count`, those in `equity_class_mask` being the equity classes; `NO_CAP` for
a risk cap that is not set; `rubric_hash`, keccak256 of the risk rubric file bids are scored
with. `market/onchain.py` translates it to and from the auctioneer's
`market.model.Policy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chain.contract import Contract

NO_CAP = 2**64 - 1
TIERS = 3
MAX_RISK_BPS = 10_000


def band_of(band_min_bps: Sequence[int], risk_bps: int) -> int | None:
    """The band a `riskBps` falls in, as the ClearingHouse's `_band` classifies a fill: the
    highest whose minimum it reaches; None below the first or above the whole notional, which
    the commit refuses. The auctioneer and the buyer's client both classify through it, so a
    bid's band is always its score's, never a bucket the buyer names."""
    if not band_min_bps[0] <= risk_bps <= MAX_RISK_BPS:
        return None
    return max(band for band, least in enumerate(band_min_bps) if least <= risk_bps)


@dataclass(frozen=True)
class Rates:
    """Bonds, slashes and windows of the rounds a policy governs (CST wei, micro-USD, seconds,
    basis points)."""

    auctioneer_bond_wei: int
    auctioneer_slash_wei: int
    forfeit_fee_micro_usd: int
    challenger_bond_wei: int
    provider_bond_per_unit_wei: int
    forfeit_bps: int
    min_improvement_bps: int
    max_items_per_provider: int
    max_claimed_gap_bps: int
    provider_slash_wei: int
    answer_window_seconds: int
    max_extension_seconds: int
    pricing_window_seconds: int
    verdict_window_seconds: int


@dataclass(frozen=True)
class Rules:
    band_min_bps: tuple[int, ...]
    band_tier_masks: tuple[int, ...]
    band_risk_weights: tuple[int, ...]
    tier_risk_caps: tuple[int, ...]
    total_risk_cap: int
    equity_class_count: int
    equity_class_mask: int
    equity_reservation_bps: int
    rates: Rates

    def as_args(self) -> tuple[Any, ...]:
        return astuple(self)

    @classmethod
    def read(cls, registry: Contract, policy_id: int) -> Rules:
        return cls.from_call(registry.functions.rulesOf(policy_id).call())

    @classmethod
    def from_call(cls, raw: Any) -> Rules:
        """What `rulesOf` returns."""
        bands, masks, weights, caps, total, classes, equity, reservation, rates = raw
        return cls(tuple(bands), tuple(masks), tuple(weights), tuple(caps), total, classes,
                   equity, reservation, Rates(*rates))

    def band_of(self, risk_bps: int) -> int | None:
        return band_of(self.band_min_bps, risk_bps)


def current_policy_id(registry: Contract) -> int:
    """The policy rounds opened from now on pin."""
    return int(registry.functions.currentPolicyId().call())


def rubric_hash_of(registry: Contract, policy_id: int) -> bytes:
    """The rubric the policy's rounds score risk with (zero for no policy)."""
    return bytes(registry.functions.rubricHashOf(policy_id).call())


@dataclass(frozen=True)
class PricingWeights:
    privacy_bps: int
    safety_bps: tuple[int, ...]
    equity_discount_bps: int


@dataclass(frozen=True)
class ChainPolicy:
    rules: Rules
    epsilon_limits: tuple[tuple[str, int], ...]
    pricing: PricingWeights
    rubric_hash: bytes

    def as_args(self) -> tuple[Any, ...]:
        return astuple(self)

    @classmethod
    def from_event(cls, raw: Any) -> ChainPolicy:
        """The `policy` of a `PolicySet` event (web3 decodes its structs by field name)."""
        rules, pricing = raw["rules"], raw["pricing"]
        rates = rules["rates"]
        return cls(
            Rules(tuple(rules["bandMinBps"]), tuple(rules["bandTierMasks"]),
                  tuple(rules["bandRiskWeights"]), tuple(rules["tierRiskCaps"]),
                  rules["totalRiskCap"], rules["equityClassCount"], rules["equityClassMask"],
                  rules["equityReservationBps"],
                  Rates(*(rates[name] for name in _RATE_FIELDS))),
            tuple((limit["purpose"], limit["maxEpsilonMicros"]) for limit in raw["epsilonLimits"]),
            PricingWeights(pricing["privacyBps"], tuple(pricing["safetyBps"]),
                           pricing["equityDiscountBps"]),
            bytes(raw["rubricHash"]))


_RATE_FIELDS = (
    "auctioneerBondWei", "auctioneerSlashWei", "forfeitFeeMicroUsd", "challengerBondWei",
    "providerBondPerUnitWei", "forfeitBps", "minImprovementBps", "maxItemsPerProvider",
    "maxClaimedGapBps", "providerSlashWei", "answerWindowSeconds", "maxExtensionSeconds",
    "pricingWindowSeconds", "verdictWindowSeconds",
)

CST = 10**18
USD = 10**6

LAUNCH_RATES = Rates(
    auctioneer_bond_wei=100 * CST,
    auctioneer_slash_wei=50 * CST,
    forfeit_fee_micro_usd=USD,
    challenger_bond_wei=20 * CST,
    provider_bond_per_unit_wei=10 * CST,
    forfeit_bps=500,
    min_improvement_bps=10,
    max_items_per_provider=64,
    max_claimed_gap_bps=500,
    provider_slash_wei=10 * CST,
    answer_window_seconds=1_800,
    max_extension_seconds=7_200,
    pricing_window_seconds=3_600,
    verdict_window_seconds=3 * 86_400,
)
"""What a deployment's first policy charges: an auctioneer bonds 100 CST per round it posts
(50 burned when beaten beyond its claimed gap, which may be at most 5 %), a challenger 20 CST
(paid to whoever answers it), a provider 10 CST per unit offered, of which 10 CST per future
it sells stays committed until that future is done and is burned if the provider is at fault;
an unrevealed bid forfeits 1 USD plus 5 % of its deposit; a challenge must improve welfare by
0.1 %, and reopens the window for 30 minutes, up to two hours past the challenge deadline; the
oracle quorum has an hour to price the final result; a redeemed job with no verdict three days
after its delivery ends times out."""
