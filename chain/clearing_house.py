"""What the ClearingHouse's views return, read into named fields: rounds and their phase,
results, their batches and allocations, asks, providers' bonds, bid records, and what the house
owes an account. The structs it takes and emits are `chain.settlement`'s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chain.settlement import STAKE_UNIT_WEI, Deadlines, Phase, Status

if TYPE_CHECKING:
    from chain.connection import Chain
    from chain.contract import Contract

REFUNDED, CLAIMED = 2, 4
"""`BidState.flags`, as `ClearingHouseBase` numbers them: the record's refund was withdrawn;
the future's token was minted."""


# ---- rounds ----


def round_count(clearing_house: Contract) -> int:
    """Rounds are numbered from 1 to this."""
    return int(clearing_house.functions.roundCount().call())


def phase_of(clearing_house: Contract, round_id: int) -> Phase:
    return Phase(clearing_house.functions.phaseOf(round_id).call())


@dataclass(frozen=True)
class Round:
    """`IClearingHouse.Round` as `roundOf` returns it."""

    deadlines: Deadlines
    policy_id: int
    item_count: int
    min_risk_bps: int
    equity_class_count: int
    standing_version: int
    version_count: int
    challenge_end_timestamp: int
    issued_count: int
    priced: bool
    closed: bool

    @classmethod
    def read(cls, clearing_house: Contract, round_id: int) -> Round:
        (deadlines, policy, items, min_risk, classes, standing, versions, end, issued, priced,
         closed) = clearing_house.functions.roundOf(round_id).call()
        return cls(Deadlines(*deadlines), policy, items, min_risk, classes, standing, versions,
                   end, issued, priced, closed)


def advance_into(chain: Chain, clearing_house: Contract, round_id: int, phase: Phase) -> None:
    """Moves a local chain's clock just past the deadline that opens `phase` (reveal, post,
    challenge or price), as tests and the demo do instead of waiting."""
    state = Round.read(clearing_house, round_id)
    opening = {
        Phase.REVEAL: state.deadlines.commit_timestamp,
        Phase.POST: state.deadlines.reveal_timestamp,
        Phase.CHALLENGE: state.deadlines.post_timestamp,
        Phase.PRICE: state.challenge_end_timestamp,
    }[phase]
    now = chain.latest_timestamp()
    chain.advance_time(opening + 2 - now)


# ---- results ----


@dataclass(frozen=True)
class Result:
    """`IClearingHouse.Result` as `resultOf` returns it: the auctioneer's post (version 1) or a
    challenge. `risk_loads` are the tiers' loads, then the total."""

    poster: str
    fill_count: int
    batch_count: int
    solver_status: int
    is_sealed: bool
    welfare_micro_usd: int
    bound_micro_usd: int
    last_digest: bytes
    risk_loads: tuple[int, int, int, int]

    @classmethod
    def read(cls, clearing_house: Contract, round_id: int, version: int) -> Result:
        poster, fills, batches, status, is_sealed, welfare, bound, last, loads = (
            clearing_house.functions.resultOf(round_id, version).call())
        return cls(poster, fills, batches, status, is_sealed, welfare, bound, bytes(last),
                   tuple(loads))


@dataclass(frozen=True)
class Batch:
    """`IClearingHouse.Batch` as `batchOf` returns it: zero once the batch is issued."""

    hash: bytes
    fill_count: int

    @classmethod
    def read(cls, clearing_house: Contract, round_id: int, version: int, batch: int) -> Batch:
        digest, fills = clearing_house.functions.batchOf(round_id, version, batch).call()
        return cls(bytes(digest), fills)

    @property
    def issued(self) -> bool:
        return self.hash == bytes(32)


@dataclass(frozen=True)
class Allocation:
    """Units of an item a result allocates, as `allocationOf` returns them: in all, and to
    bids outside the equity classes."""

    allocated_units: int
    unreserved_units: int

    @classmethod
    def read(cls, clearing_house: Contract, round_id: int, version: int, item: int
             ) -> Allocation:
        return cls(*clearing_house.functions.allocationOf(round_id, version, item).call())


# ---- asks ----


@dataclass(frozen=True)
class AskState:
    """`IClearingHouse.AskState` as `askOf` returns it."""

    provider: str
    capacity: int
    reserve_price_micro_usd: int
    tier: int
    kind: int
    delivery_end_timestamp: int

    @classmethod
    def read(cls, clearing_house: Contract, round_id: int, item: int) -> AskState:
        return cls(*clearing_house.functions.askOf(round_id, item).call())


@dataclass(frozen=True)
class ProviderBond:
    """`IClearingHouse.ProviderBond`: before the round closes, what the provider's asks locked;
    after, what stays committed to its `open_futures`."""

    locked_wei: int
    open_futures: int

    @classmethod
    def read(cls, clearing_house: Contract, round_id: int, provider: str) -> ProviderBond:
        return cls(*clearing_house.functions.providerBondOf(round_id, provider).call())


# ---- bids and what the house owes ----


@dataclass(frozen=True)
class BidRecord:
    """`IClearingHouse.BidRecord` as `bidOf` returns it. The stake is held by the bidder, or by
    the redeemer once the future is redeemed; `bidder` and `dataset_id` are written at reveal
    (or forfeit), so a record that was never revealed has the zero address and dataset 0."""

    round_id: int
    status: Status
    flags: int
    bundle_index: int
    risk_bps: int
    provider_item: int
    epsilon_micros: int
    stake_milli_cst: int
    deposit_micro_usd: int
    payment_micro_usd: int
    bidder: str
    dataset_id: int

    @classmethod
    def read(cls, clearing_house: Contract, digest: bytes) -> BidRecord:
        """The record `clearingHouse.bidOf(digest)` holds now."""
        return cls.from_call(clearing_house.functions.bidOf(digest).call())

    @classmethod
    def from_call(cls, raw: Any) -> BidRecord:
        state, bidder, dataset = raw
        round_id, status, flags, bundle, risk, item, epsilon, stake, deposit, payment = state
        return cls(round_id, Status(status), flags, bundle, risk, item, epsilon, stake, deposit,
                   payment, bidder, dataset)

    @property
    def stake_wei(self) -> int:
        return self.stake_milli_cst * STAKE_UNIT_WEI

    @property
    def staked(self) -> bool:
        return self.stake_milli_cst != 0

    @property
    def refunded(self) -> bool:
        return bool(self.flags & REFUNDED)

    @property
    def claimed(self) -> bool:
        return bool(self.flags & CLAIMED)


def refund_micro_usd(clearing_house: Contract, digest: bytes) -> int:
    """What the bid's bidder may withdraw from its record now."""
    return int(clearing_house.functions.refundOf(digest).call())


def credit_micro_usd(clearing_house: Contract, account: str) -> int:
    """What the house owes `account` outside any record (proceeds, refunds by fault, deposits),
    which its next commitments draw on before its wallet."""
    return int(clearing_house.functions.creditOf(account).call())
