"""What clearing an auction produces: who gets what, why everyone else does not, and how good
the allocation is proven to be.

This is the document `rcm auction clear` prints. Pricing extends `Clearing` with
`item_prices` and `payments` in a subclass, so the fields here keep their meaning: `welfare`
and `bound` are micro-USD of accepted value minus the reserve cost of the capacity used.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Status(StrEnum):
    OPTIMAL = "optimal"  # welfare == bound
    FEASIBLE = "feasible"  # a valid allocation; the time limit stopped the proof
    INFEASIBLE = "infeasible"  # no allocation satisfies the policy (allocation is empty)
    TIME_LIMIT = "time_limit"  # the time limit expired before any allocation was found


class LossReason(StrEnum):
    """Why a bid was not filled; exactly one per losing bid. Listed from the most fundamental:
    when a bid's bundles fail for different reasons, the first in this order is reported."""

    MALFORMED = "malformed"  # the chain accepted it but the auctioneer cannot use it
    EXPIRED = "expired"  # its expiry is before the clearing time
    EPSILON_OVER_POLICY = "epsilon_over_policy"  # ε above the policy's maximum for its purpose
    INELIGIBLE_TIER = "ineligible_tier"  # its risk rating may not use an item's tier
    RISK_CAP = "risk_cap"  # the regulator's risk cap (per tier or aggregate) has no room
    EQUITY_RESERVATION = "equity_reservation"  # only the capacity reserved for equity is left
    BELOW_RESERVE = "below_reserve"  # value under the reserve cost of the capacity it needs
    OUTBID = "outbid"  # the capacity it needs went to bids worth more
    UNSELECTED = "unselected"  # it fits the allocation, which did not fill it (an allocation
    # posted or challenged on chain need not be maximal)


class Fill(BaseModel):
    """A winning bid and the bundle of it that is filled."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    bid: str
    bundle: int = Field(description="Index into the bid's `bundles`.")
    items: dict[str, int]


class Loss(BaseModel):
    """A losing bid, the reason, and the bundle and item the reason is about where there is one
    (for `outbid`, the item whose capacity ran out)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    bid: str
    reason: LossReason
    bundle: int | None = None
    item: str | None = None
    detail: str


class Clearing(BaseModel):
    """The allocation and its quality; `winners` and `objective` only for CATS input."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    allocation: list[Fill]
    losing: list[Loss]
    welfare: int = Field(description="Accepted value minus reserve cost, micro-USD.")
    bound: int = Field(description="Proven upper bound on welfare, micro-USD.")
    gap: float = Field(description="(bound - welfare) / max(welfare, 1).")
    status: Status
    seconds: float
    winners: list[int] | None = Field(
        default=None, description="CATS input: winning bids' 0-based indices in file order.")
    objective: float | None = Field(
        default=None, description="CATS input: welfare in the file's own price units.")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True)


class Component(StrEnum):
    """The named parts every payment splits into (docs/pricing.md)."""

    SUPPLY_DEMAND = "supply_demand"  # item prices times units: what clears the market
    PRIVACY_RISK = "privacy_risk"  # grows with ε over the dataset's remaining budget
    SAFETY_RISK = "safety_risk"  # grows with the risk rating
    EQUITY = "equity"  # a discount (negative) for equity classes, a levy (positive) on others


class Payment(BaseModel):
    """What one winner pays, in micro-USD; the components sum to `total` exactly."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    winner: str = Field(description="The winning bid's id.")
    total: int
    components: dict[Component, int]


class PricedClearing(Clearing):
    """A clearing priced by the Ethical Pricing Function (market/pricing.py)."""

    item_prices: dict[str, int] = Field(
        description="Supply-and-demand price per unit of each item, micro-USD.")
    payments: list[Payment] = Field(description="One per winner, in allocation order.")
    competitive_violation: int = Field(
        description="Largest amount, micro-USD, by which a losing bundle's value exceeds its "
                    "cost at `item_prices`: 0 when linear prices support the allocation.")
