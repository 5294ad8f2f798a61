"""The ClearingHouse's structs as Python reads and writes them: rounds, asks, results and their
batches, bid records, and the events a round's book is rebuilt from.

An item's `region` and `unit` are short ASCII names stored as `bytes32`, left-aligned and
zero-padded, as Solidity's `bytes32("us-east")` would be; its kind and tier are small codes.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
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
STAKE_UNIT_WEI = 10**15
"""`BidState.stakeMilliCst`'s unit: a bid's stake is locked rounded up to a multiple of it."""
MAX_DEPOSIT_MICRO_USD = 2**48 - 1
"""The largest deposit (a bid's `maxValueMicroUsd`) a commitment accepts."""
MAX_STAKE_WEI = (2**32 - 1) * STAKE_UNIT_WEI
"""The largest stake one record holds (`stakeMilliCst` is a uint32): ~4.29M CST."""
POSTED_VERSION = 1
"""The auctioneer's post is result version 1; challenges are numbered from 2."""
REFUNDED, CLAIMED = 2, 4
"""`BidState.flags`: the record's refund was withdrawn; the future's token was minted."""


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
    from eth_hash.auto import keccak

    return keccak(bytes.fromhex(launch_digest.removeprefix("0x")))


def dataset_id(owner: str, content_hash: bytes) -> int:
    """`PrivacyBudgetLedger.datasetIdOf`: the low 96 bits of keccak256(owner, contentHash)."""
    from eth_abi import encode
    from eth_hash.auto import keccak

    digest = keccak(encode(["address", "bytes32"], [owner, content_hash]))
    return int.from_bytes(digest, "big") % 2**96


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
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    chain.advance_time(opening + 2 - now)


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

    def as_args(self) -> tuple[Any, ...]:
        item = (self.kind, short_name(self.region), short_name(self.unit),
                self.slot_start_timestamp, self.slot_seconds, self.tier)
        return (item, self.capacity, self.reserve_price_micro_usd, self.enclave_digest)


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


AWARD_ABI = "(bytes32,uint8,uint16,uint64,uint64)[]"


def awards_hash(awards: list[Award]) -> bytes:
    """`keccak256(abi.encode(awards))`, a batch's hash before the round is priced."""
    from eth_abi import encode
    from eth_hash.auto import keccak

    return bytes(keccak(encode([AWARD_ABI], [[a.as_args() for a in awards]])))


def priced_batch_hash(awards: list[Award], payments: list[int]) -> bytes:
    """A batch's hash once priced: its awards' hash with the hash of its payments."""
    from eth_hash.auto import keccak

    packed = b"".join(payment.to_bytes(32, "big") for payment in payments)
    return bytes(keccak(awards_hash(awards) + keccak(packed)))


# ---- bids ----


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
        terms["epsilonMicros"], terms["deltaAtto"], terms["riskBps"], bytes(terms["purpose"]),
        terms["equityClass"], terms["nonce"], terms["expiryTimestamp"],
        tuple(Bundle(tuple(b["items"]), tuple(b["quantities"]), b["valueMicroUsd"])
              for b in envelope["bundles"]),
        bytes(envelope["salt"]))
