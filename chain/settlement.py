"""Call encoding for the settlement contracts beyond bids: rounds, asks, dataset ids.

An item's `resource`, `region` and `unit` are short ASCII names stored as `bytes32`, left-
aligned and zero-padded, as Solidity's `bytes32("gpu.h100")` would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from chain.bid import Bid, Bundle

if TYPE_CHECKING:
    from web3.contract import Contract

    from chain.connection import Chain


class Phase(IntEnum):
    """`IClearingHouse.Phase`: where a round is, by its deadlines."""

    NONE = 0
    COMMIT = 1
    REVEAL = 2
    POST = 3
    CHALLENGE = 4
    FINAL = 5


class Status(IntEnum):
    """`IClearingHouse.Status`: where a bid's record is in its life."""

    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    FILLED = 3
    FORFEITED = 4
    RELEASED = 5
    FUTURE = 6
    REDEEMED = 7
    SETTLED = 8
    VOIDED = 9
    CANCELLED = 10


HOLDING = frozenset(
    {Status.COMMITTED, Status.REVEALED, Status.FILLED, Status.FUTURE, Status.REDEEMED}
)
"""Statuses in which a record holds its stake (locked in the vault, by the bidder or, once
redeemed, by the redeemer) and its reserved ε; every other status has released or spent both,
and the record keeps the amounts as history."""

STAKE_UNIT_WEI = 10**15
"""`BidState.stakeMilliCst`'s unit: a bid's stake is locked rounded up to a multiple of it."""
MAX_DEPOSIT_MICRO_USD = 2**48 - 1
"""The largest deposit (a bid's `maxValueMicroUsd`) a commitment accepts."""


def short_name(text: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > 32:
        raise ValueError(f"{text!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


def dataset_id(owner: str, content_hash: bytes) -> int:
    """`PrivacyBudgetLedger.datasetIdOf`: the low 96 bits of keccak256(owner, contentHash)."""
    from eth_abi import encode
    from eth_hash.auto import keccak

    digest = keccak(encode(["address", "bytes32"], [owner, content_hash]))
    return int.from_bytes(digest, "big") % 2**96


@dataclass(frozen=True)
class Deadlines:
    commit_timestamp: int
    reveal_timestamp: int
    post_timestamp: int
    challenge_timestamp: int

    @classmethod
    def after(cls, now: int, commit: int, reveal: int, post: int, challenge: int) -> Deadlines:
        """Phases of the given lengths in seconds, the commit phase ending `commit` after `now`."""
        return cls(
            now + commit,
            now + commit + reveal,
            now + commit + reveal + post,
            now + commit + reveal + post + challenge,
        )

    def as_args(self) -> tuple[int, int, int, int]:
        return (
            self.commit_timestamp,
            self.reveal_timestamp,
            self.post_timestamp,
            self.challenge_timestamp,
        )


def advance_into(chain: Chain, clearing_house: Contract, round_id: int, phase: Phase) -> None:
    """Moves a local chain's clock just past the deadline that opens `phase` (reveal or later),
    as tests and the demo do instead of waiting."""
    deadlines = clearing_house.functions.roundOf(round_id).call()[0]
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    chain.advance_time(deadlines[phase - Phase.REVEAL] + 2 - now)


@dataclass(frozen=True)
class Ask:
    """One item a provider offers in a round: what it is, how many units, the reserve price."""

    resource: str
    region: str
    unit: str
    slot_start_timestamp: int
    slot_seconds: int
    tier: int
    capacity: int
    reserve_price_micro_usd: int

    def as_args(self) -> tuple[Any, ...]:
        item = (
            short_name(self.resource),
            short_name(self.region),
            short_name(self.unit),
            self.slot_start_timestamp,
            self.slot_seconds,
            self.tier,
        )
        return (item, self.capacity, self.reserve_price_micro_usd)


@dataclass(frozen=True)
class BidRecord:
    """`IClearingHouse.BidRecord` as `bidOf` returns it. The stake is held by the bidder, or by
    the redeemer once the future is redeemed; `bidder` and `dataset_id` are written at reveal
    (or forfeit), so a record that was never revealed has the zero address and dataset 0."""

    round_id: int
    status: Status
    result_version: int
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
    bundles_hash: bytes

    @classmethod
    def read(cls, clearing_house: Any, digest: bytes) -> BidRecord:
        """The record `clearingHouse.bidOf(digest)` holds now."""
        return cls.from_call(clearing_house.functions.bidOf(digest).call())

    @classmethod
    def from_call(cls, raw: Any) -> BidRecord:
        state, bidder, dataset, bundles_hash = raw
        round_id, status, version, flags, index, risk, item, epsilon, stake, deposit, payment = (
            state
        )
        return cls(
            round_id,
            Status(status),
            version,
            flags,
            index,
            risk,
            item,
            epsilon,
            stake,
            deposit,
            payment,
            bidder,
            dataset,
            bytes(bundles_hash),
        )

    @property
    def stake_wei(self) -> int:
        return self.stake_milli_cst * STAKE_UNIT_WEI

    @property
    def staked(self) -> bool:
        return self.stake_milli_cst != 0

    @property
    def refunded(self) -> bool:
        return bool(self.flags & 2)

    @property
    def claimed(self) -> bool:
        return bool(self.flags & 4)


# ---- events: web3 decodes their structs by field name ----


def text_of(raw: bytes) -> str:
    """A short name stored as `bytes32` (see `short_name`)."""
    return bytes(raw).rstrip(b"\0").decode("ascii", "replace")


def ask_from_event(raw: Any) -> Ask:
    """The `ask` of an `AskPosted` event."""
    item = raw["item"]
    return Ask(text_of(item["resource"]), text_of(item["region"]), text_of(item["unit"]),
               item["slotStartTimestamp"], item["slotSeconds"], item["tier"], raw["capacity"],
               raw["reservePriceMicroUsd"])


def bid_from_event(raw: Any) -> Bid:
    """The `bid` of a `Revealed` event."""
    terms, envelope = raw["terms"], raw["envelope"]
    return Bid(
        terms["roundId"], terms["bidder"], terms["maxValueMicroUsd"], terms["datasetId"],
        terms["epsilonMicros"], terms["deltaAtto"], terms["riskBps"], bytes(terms["purpose"]),
        terms["equityClass"], terms["nonce"], terms["expiryTimestamp"],
        tuple(Bundle(tuple(b["items"]), tuple(b["quantities"]), b["valueMicroUsd"])
              for b in envelope["bundles"]),
        bytes(envelope["salt"]))
