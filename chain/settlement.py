"""The ClearingHouse's structs as Python writes them and its events carry them: deadlines, asks,
awards and their batches' hashes, the bids a round's book is rebuilt from, and the codes and
limits they are in. What its views return is `chain.clearing_house`'s.

An item's `region` and `unit` are short ASCII names stored as `bytes32`, left-aligned and
zero-padded, as Solidity's `bytes32("us-east")` would be; its kind and tier are small codes.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from enum import IntEnum
from typing import Any

from chain.abi_codec import encode, keccak
from chain.bid import Bid, Bundle


class Phase(IntEnum):
    """`IClearingHouse.Phase`: where a round is, by its deadlines."""

    NONE = 0
    COMMIT = 1
    REVEAL = 2
    POST = 3
    CHALLENGE = 4
    PRICE = 5
    FINAL = 6


class Status(IntEnum):
    """`IClearingHouse.Status`: where a bid's record is in its life."""

    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    FORFEITED = 3
    RELEASED = 4
    FUTURE = 5
    REDEEMED = 6
    SETTLED = 7
    VOIDED = 8
    CANCELLED = 9
    EXPIRED = 10
    TIMED_OUT = 11


class SolverStatus(IntEnum):
    """What the auctioneer claims of its solve when it posts (`SolverClaim.status`)."""

    OPTIMAL = 1
    FEASIBLE = 2


HOLDING = frozenset({Status.COMMITTED, Status.REVEALED, Status.FUTURE, Status.REDEEMED})
"""Statuses in which a record holds its stake (locked in the vault, by the bidder or, once
redeemed, by the redeemer) and its reserved ε; every other status has released or spent both,
and the record keeps the amounts as history."""

KIND_CODES = {"gpu": 0, "power": 1, "storage": 2}
"""`Item.kind`: the resource an item is; the chain counts risk on GPU units."""
TIER_CODES = {"standard": 0, "certified": 1, "confidential": 2}
"""`Item.tier`: how much the provider's site is trusted (`market.model.Tier`)."""
STAKE_UNIT_WEI = 10**15
"""`BidState.stakeMilliCst`'s unit: a bid's stake is locked rounded up to a multiple of it."""
MAX_DEPOSIT_MICRO_USD = 2**48 - 1
"""The largest deposit (a bid's `maxValueMicroUsd`) a commitment accepts."""
MAX_STAKE_WEI = (2**32 - 1) * STAKE_UNIT_WEI
"""The largest stake one record holds (`stakeMilliCst` is a uint32): ~4.29M CST."""
POSTED_VERSION = 1
"""The auctioneer's post is result version 1; challenges are numbered from 2."""


def short_name(text: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > 32:
        raise ValueError(f"{text!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


def text_of(raw: bytes) -> str:
    """A short name stored as `bytes32` (see `short_name`)."""
    return bytes(raw).rstrip(b"\0").decode("ascii", "replace")


def enclave_digest(launch_digest: str) -> bytes:
    """What an ask commits to for an enclave: keccak256 of its SHA-384 launch digest (hex, as
    `Measurements.launch_digest` gives it), which does not fit a bytes32 itself."""
    return keccak(bytes.fromhex(launch_digest.removeprefix("0x")))


# ---- rounds ----


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
        return astuple(self)


# ---- asks ----


@dataclass(frozen=True)
class Ask:
    """One item a provider offers in a round: what it is, how many units, the reserve price."""

    kind: int
    region: str
    unit: str
    slot_start_timestamp: int
    slot_seconds: int
    tier: int
    capacity: int
    reserve_price_micro_usd: int
    enclave_digest: bytes = bytes(32)  # `enclave_digest(launch digest)`; zero: any allowed

    @property
    def resource(self) -> str:
        """The kind's name: gpu, power or storage (the chain holds nothing else)."""
        return next(name for name, code in KIND_CODES.items() if code == self.kind)

    @property
    def tier_name(self) -> str:
        """The tier's name: standard, certified or confidential."""
        return next(name for name, code in TIER_CODES.items() if code == self.tier)

    def as_args(self) -> tuple[Any, ...]:
        item = (self.kind, short_name(self.region), short_name(self.unit),
                self.slot_start_timestamp, self.slot_seconds, self.tier)
        return (item, self.capacity, self.reserve_price_micro_usd, self.enclave_digest)


# ---- results ----


@dataclass(frozen=True)
class Award:
    """`IClearingHouse.Award`: a fill as its batch keeps it, to be issued as a future."""

    bid_digest: bytes
    bundle_index: int
    provider_item: int
    value_micro_usd: int
    reserve_micro_usd: int

    def as_args(self) -> tuple[Any, ...]:
        return astuple(self)

    @classmethod
    def from_event(cls, raw: Any) -> Award:
        return cls(bytes(raw["bidDigest"]), raw["bundleIndex"], raw["providerItem"],
                   raw["valueMicroUsd"], raw["reserveMicroUsd"])


AWARD_ABI = "(bytes32,uint8,uint16,uint64,uint64)[]"


def awards_hash(awards: list[Award]) -> bytes:
    """`keccak256(abi.encode(awards))`, a batch's hash before the round is priced."""
    return bytes(keccak(encode([AWARD_ABI], [[a.as_args() for a in awards]])))


def priced_batch_hash(awards: list[Award], payments: list[int]) -> bytes:
    """A batch's hash once priced: its awards' hash with the hash of its payments."""
    packed = b"".join(payment.to_bytes(32, "big") for payment in payments)
    return bytes(keccak(awards_hash(awards) + keccak(packed)))


# ---- events: web3 decodes their structs by field name ----


def ask_from_event(raw: Any) -> Ask:
    """The `ask` of an `AskPosted` event."""
    item = raw["item"]
    return Ask(item["kind"], text_of(item["region"]), text_of(item["unit"]),
               item["slotStartTimestamp"], item["slotSeconds"], item["tier"], raw["capacity"],
               raw["reservePriceMicroUsd"], bytes(raw["enclaveDigest"]))


def bid_from_event(raw: Any) -> Bid:
    """The `bid` of a `Revealed` event."""
    terms, envelope = raw["terms"], raw["envelope"]
    return Bid(
        terms["roundId"], terms["bidder"], terms["maxValueMicroUsd"], terms["datasetId"],
        terms["epsilonMicros"], terms["deltaAtto"], terms["riskBps"],
        bytes(terms["declarationHash"]), bytes(terms["purpose"]),
        terms["equityClass"], terms["nonce"], terms["expiryTimestamp"],
        tuple(Bundle(tuple(b["items"]), tuple(b["quantities"]), b["valueMicroUsd"])
              for b in envelope["bundles"]),
        bytes(envelope["salt"]))
