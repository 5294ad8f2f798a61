"""What the dashboard shows, as its pages' JSON twins give it: amounts in micro-USD, ids
0x-hex, addresses EIP-55, times unix seconds (the chain's, as of the last block indexed)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from market.prices import IndexPoint
from service.models import LevelPublic

Outcome = Literal["won", "lost", "unrevealed", "pending"]


class RoundRowPublic(BaseModel):
    """One round as the rounds table lists it. `gap` is (bound − welfare) / max(welfare, 1),
    as the auctioneer claimed its bound when it posted."""

    round: int
    phase: str
    policy: int
    commit_deadline: int
    reveal_deadline: int
    post_deadline: int
    challenge_end: int
    items: int
    bids_committed: int
    bids_revealed: int
    winners: int
    solver_status: str | None
    welfare_micro_usd: int | None
    bound_micro_usd: int | None
    gap: float | None
    priced: bool
    closed: bool


class RoundsPublic(BaseModel):
    block: int
    timestamp: int
    rounds: list[RoundRowPublic]


class ItemPublic(BaseModel):
    item: int
    label: str
    resource: str
    region: str
    provider: str
    capacity_units: int
    allocated_units: int  # by the standing result
    reserve_price_micro_usd: int
    clearing_price_micro_usd: int | None  # the quorum's, once priced


class BidPublic(BaseModel):
    """A commitment and what became of it: a loser's reason, and the item and numbers behind
    it in `detail`, are the auctioneer's code run on the chain's events (`market.outcome`)."""

    bid: str  # its digest: its record's key and, if it won, its future's id
    bidder: str
    max_value_micro_usd: int
    outcome: Outcome
    bundle: int | None
    payment_micro_usd: int | None
    reason: str | None
    item: str | None
    detail: str | None


class RoundPublic(BaseModel):
    block: int
    timestamp: int
    round: RoundRowPublic
    items: list[ItemPublic]
    reasons: dict[str, int]  # losers per reason, of every bid
    reason: str | None  # the filter applied to `bids`
    bids: list[BidPublic]


class PricePointPublic(BaseModel):
    item: str
    resource: str
    region: str
    round: int
    timestamp: int
    source: Literal["clearing", "trade"]
    price_per_unit_micro_usd: int
    units: int


class BookDepthPublic(BaseModel):
    """One (round, item)'s live book on the relay: price levels, best first."""

    round: int
    item: int
    label: str
    bids: list[LevelPublic]
    asks: list[LevelPublic]


class PricesPublic(BaseModel):
    block: int
    timestamp: int
    prices: list[PricePointPublic]
    index: list[IndexPoint]  # market.prices' own record, as it is
    books: list[BookDepthPublic] = []


FutureStatus = Literal["won", "claimed", "redeemed", "settled", "voided", "timed_out",
                       "expired"]


class FutureItemPublic(BaseModel):
    item: int
    label: str
    units: int


class FuturePublic(BaseModel):
    """A future and where it is: `won` (unclaimed: its winner holds it), `claimed` (an
    ERC-1155 token), `redeemed` (an oracle job, held by its redeemer), then `settled`
    (compliant verdict), `voided` (violation) or `timed_out`; or `expired` unredeemed."""

    future: str
    round: int
    holder: str | None  # the token's holder, the unclaimed winner, or the redeemer
    status: FutureStatus
    items: list[FutureItemPublic]
    payment_micro_usd: int
    delivery_end: int


class FuturesPublic(BaseModel):
    block: int
    timestamp: int
    holder: str | None  # the filters applied to `futures`
    status: FutureStatus | None
    round: int | None
    statuses: dict[str, int]  # futures per status, of every future
    matching: int  # futures the filters match, of which `futures` lists the first 500
    futures: list[FuturePublic]


class FailedClausePublic(BaseModel):
    id: str  # proven: the ids of a verdict hash to its `clauses_hash`
    reason: str  # the word of the node that gave the ids (`clauses_from`), which no hash covers


class VerdictPublic(BaseModel):
    """A redeemed future's verdict and what it moved. Only the failed clauses' hash is on
    chain: `failed_clauses` are an oracle node's, shown once their ids hash to it (empty for a
    compliant verdict; None for a time-out, or a violation no node has proven yet). `paid` is
    None when the job timed out (its payment went to the treasury)."""

    job: str  # the redeemed future's id
    round: int
    outcome: Literal["compliant", "violation", "timed_out"]
    fault: Literal["none", "buyer", "provider"] | None
    clauses_hash: str | None
    failed_clauses: list[FailedClausePublic] | None
    clauses_from: str | None  # the node whose answer gave `failed_clauses`
    signers: list[str]
    paid: str | None
    paid_micro_usd: int | None
    stake_burned_wei: int
    provider_slash_wei: int
    decided_at: int


class VerdictsPublic(BaseModel):
    block: int
    timestamp: int
    verdicts: list[VerdictPublic]


class VaultMovePublic(BaseModel):
    block: int
    timestamp: int
    account: str
    kind: str  # `service.handlers.VAULT_MOVES`' values
    amount_wei: int
    ready_at: int | None  # when an unbonding can be withdrawn


class AccountSafetyPublic(BaseModel):
    """An account's CST moved through the vault, summed per kind of move, in wei."""

    account: str
    totals_wei: dict[str, int]


class SafetyPublic(BaseModel):
    block: int
    timestamp: int
    accounts: list[AccountSafetyPublic]
    moves: list[VaultMovePublic]  # oldest first


class BudgetOfferPublic(BaseModel):
    seller: str
    amount_micro_epsilon: int
    price_micro_usd_per_epsilon: int


class BudgetPointPublic(BaseModel):
    """A dataset's ε after an event that moved its reserve, in micro-ε."""

    dataset: str
    timestamp: int
    held_micro_epsilon: int
    reserved_micro_epsilon: int
    consumed_micro_epsilon: int


class DatasetBudgetPublic(BaseModel):
    """A dataset's ε now: held (every holder's balance) = registered − reserved − consumed.
    A purpose not in `chain.bid.KNOWN_PURPOSES` is shown as its id."""

    dataset: str  # its id, 0x-hex
    owner: str
    content_hash: str
    registered_at: int
    registered_micro_epsilon: int
    held_micro_epsilon: int
    reserved_micro_epsilon: int
    consumed_micro_epsilon: int
    purposes: list[str]
    categories: list[str]
    offers: list[BudgetOfferPublic]  # open ones, cheapest first


class BudgetsPublic(BaseModel):
    block: int
    timestamp: int
    datasets: list[DatasetBudgetPublic]
    history: list[BudgetPointPublic]  # oldest first


class ItemHealthPublic(BaseModel):
    """One item label's market: `volatility` is the sample standard deviation of the log
    returns between its successive clearing prices per unit (None below 3 prices); the spread
    is the best live ask's price less the best live bid's, of the newest round whose book has
    both; idle units are offered less allocated by the standing result, over its rounds."""

    label: str
    prices: int
    volatility: float | None
    best_bid_micro_usd: int | None
    best_ask_micro_usd: int | None
    spread_micro_usd: int | None
    offered_units: int
    allocated_units: int
    idle_units: int


class RoundIdlePublic(BaseModel):
    round: int
    label: str
    offered_units: int
    allocated_units: int
    idle_units: int


class RoundSolvePublic(BaseModel):
    round: int
    solver_status: str
    gap: float | None  # as the rounds table has it


class MarketHealthPublic(BaseModel):
    block: int
    timestamp: int
    items: list[ItemHealthPublic]
    claimed_rounds: int  # rounds whose auctioneer claimed a status
    optimal_share: float | None  # of those, the share claimed optimal
    not_optimal: list[RoundSolvePublic]
    idle: list[RoundIdlePublic]
