"""Compute futures as their holder sees them: list, claim, transfer and redeem, each checked
before sending (a failing check raises TokensError naming the field; nothing is sent).

A future's id is its winning bid's EIP-712 digest. Until its winner claims it, the future lives
only in the ClearingHouse's record; claiming mints it as a ComputeFutures ERC-1155 token, which
moves like any token and is burned when its holder redeems it into a job.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import hexdigits
from typing import TYPE_CHECKING

from pydantic import BaseModel

from chain.amounts import amount_text
from chain.clearing_house import AskState, BidRecord, Round
from chain.compute_futures import future_balance
from chain.contract import ZERO_ADDRESS
from chain.errors import InsufficientStake
from chain.events import events
from chain.policy import Rules
from chain.settlement import Ask, Status, ask_from_event, bid_from_event
from chain.system import System
from chain.times import unix_and_utc
from chain.vault import stake_to_lock_wei
from tokens.budgets import hex_dataset_id
from tokens.errors import RoundNotClosed, TokensError
from tokens.operations import balances
from tokens.wallets import known_as

if TYPE_CHECKING:
    from chain.contract import Receipt
    from chain.signer import Signer

# How a future's record status reads to its holder once it has left the Future status.
SPENT = {Status.REDEEMED: "redeemed", Status.SETTLED: "settled", Status.VOIDED: "voided",
         Status.EXPIRED: "expired", Status.TIMED_OUT: "timed out"}


def parse_future_id(text: str) -> bytes:
    """A future id in 0x-hex (as the futures listing shows it) or in decimal."""
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        hint = (f"; hex needs its 0x: 0x{text}" if text and set(text) <= set(hexdigits)
                else "")
        raise TokensError(f"{text!r} is not a future id (0x and 64 hex digits, or decimal)"
                          f"{hint}", field="future_id") from None
    if not 0 < value < 2**256:
        raise TokensError(f"{text!r} is not a future id (0x and 64 hex digits, or decimal)",
                          field="future_id")
    return value.to_bytes(32, "big")


def hex_id(future_id: bytes) -> str:
    return "0x" + future_id.hex()


def record_of(system: System, future_id: bytes) -> BidRecord:
    return BidRecord.read(system.clearing_house, future_id)


# ---- actions ----


def claim(system: System, winner: Signer, future_ids: list[bytes]) -> Receipt:
    """Mints the winner's unclaimed futures as ERC-1155 tokens, in one transaction."""
    if len(set(future_ids)) != len(future_ids):
        raise TokensError("a future is listed twice", field="future_id")
    for future_id in future_ids:
        record = require_future(system, future_id)
        _require_winner(record, future_id, winner.address)
        if record.claimed:
            raise TokensError(f"future {hex_id(future_id)} is already claimed", field="future_id")
    return system.chain.send(system.clearing_house.functions.claim(future_ids), winner)


def transfer(system: System, holder: Signer, to: str, future_id: bytes) -> Receipt:
    """Sends a future to `to`, claiming it first when its winner has not yet."""
    if to == ZERO_ADDRESS:
        raise TokensError("the zero address cannot hold a future", field="to")
    if to == holder.address:
        raise TokensError("is this wallet itself", field="to")
    record = require_future(system, future_id)
    require_holder(system, record, future_id, holder.address)
    if not record.claimed:
        system.chain.send(system.clearing_house.functions.claim([future_id]), holder)
    call = system.futures.functions.safeTransferFrom(
        holder.address, to, int.from_bytes(future_id, "big"), 1, b""
    )
    return system.chain.send(call, holder)


def redeem(system: System, holder: Signer, future_id: bytes, declaration_hash: bytes
           ) -> Receipt:
    """Redeems a future into a policy-oracle job that commits to the workload
    `declaration_hash` declares. A holder who is not the bidder backs the job with its own free
    stake, so it must have `requiredStake` of it."""
    record = require_future(system, future_id)
    require_holder(system, record, future_id, holder.address)
    require_deliverable(system, record, future_id)
    if holder.address != record.bidder:
        needed = stake_to_lock_wei(
            system.vault, holder.address, record.risk_bps, record.deposit_micro_usd)
        free = balances(system, holder.address).staked_wei
        if needed > free:
            raise InsufficientStake(
                f"redeeming in the bidder's place needs {amount_text(needed, 'cst')} CST "
                f"of free stake, the wallet has {amount_text(free, 'cst')}: stake "
                f"{amount_text(needed - free, 'cst')} more"
            )
    call = system.clearing_house.functions.redeem(int.from_bytes(future_id, "big"),
                                                  declaration_hash)
    return system.chain.send(call, holder)


# ---- what a wallet holds ----


class BundleItem(BaseModel):
    """One item of a won bundle: the round's item index, its ask's terms (named as `rcm round
    status` names a round's items) and the units won."""

    item: int
    kind: str  # gpu | power | storage
    region: str
    unit: str
    slot_starts_at: int
    slot_seconds: int
    tier: str  # standard | certified | confidential
    quantity_units: int


class FutureView(BaseModel):
    """A future of the wallet's; its dataset's id 0x and 64 hex digits (None: no private
    data)."""

    id: str
    round: int
    bidder: str
    status: str  # unclaimed | held | redeemed | settled | voided
    items: list[BundleItem]
    dataset: str | None
    epsilon_micro_eps: int
    risk_bps: int
    payment_micro_usd: int


def futures(system: System, address: str) -> list[FutureView]:
    """The wallet's futures, rebuilt from events: won and unclaimed (its commitments whose
    record is a Future), held as tokens (received, balance checked), and redeemed by it."""
    house, tokens = system.clearing_house, system.futures
    found: dict[bytes, tuple[BidRecord, str]] = {}
    for e in events(system, house, "Committed", bidder=address):
        digest = bytes(e.args["digest"])
        record = record_of(system, digest)
        if record.status is Status.FUTURE and not record.claimed:
            found[digest] = (record, "unclaimed")
    for token_id in _received(system, address):
        digest = token_id.to_bytes(32, "big")
        if future_balance(tokens, address, digest):
            found[digest] = (record_of(system, digest), "held")
    for e in events(system, house, "Redeemed", redeemer=address):
        digest = bytes(e.args["futureId"])
        record = record_of(system, digest)
        found[digest] = (record, SPENT.get(record.status, record.status.name.lower()))
    asks: dict[int, dict[int, Ask]] = {}
    views = [
        _view(system, digest, record, status, asks) for digest, (record, status) in found.items()
    ]
    return sorted(views, key=lambda v: (v.round, v.id))


def future_ids(system: System, address: str) -> list[bytes]:
    """Every id `address` may name a future by: its bids' digests, the futures it received and
    those it redeemed."""
    house = system.clearing_house
    committed = [bytes(e.args["digest"])
                 for e in events(system, house, "Committed", bidder=address)]
    redeemed = [bytes(e.args["futureId"])
                for e in events(system, house, "Redeemed", redeemer=address)]
    received = [token_id.to_bytes(32, "big") for token_id in _received(system, address)]
    return list(dict.fromkeys(committed + received + redeemed))


def _received(system: System, address: str) -> set[int]:
    """The ids of the future tokens ever sent to `address`."""
    tokens = system.futures
    received = {int(e.args["id"]) for e in events(system, tokens, "TransferSingle", to=address)}
    for batch in events(system, tokens, "TransferBatch", to=address):
        received.update(int(i) for i in batch.args["ids"])
    return received


def _view(
    system: System,
    digest: bytes,
    record: BidRecord,
    status: str,
    asks: dict[int, dict[int, Ask]],
) -> FutureView:
    if record.round_id not in asks:
        asks[record.round_id] = {
            int(e.args["item"]): ask_from_event(e.args["ask"])
            for e in events(system, system.clearing_house, "AskPosted", roundId=record.round_id)
        }
    (revealed,) = events(system, system.clearing_house, "Revealed", digest=digest)
    bundle = bid_from_event(revealed.args["bid"]).bundles[record.bundle_index]
    items = []
    for index, quantity in zip(bundle.items, bundle.quantities, strict=True):
        ask = asks[record.round_id][index]
        items.append(
            BundleItem(
                item=index,
                kind=ask.resource,
                region=ask.region,
                unit=ask.unit,
                slot_starts_at=ask.slot_start_timestamp,
                slot_seconds=ask.slot_seconds,
                tier=ask.tier_name,
                quantity_units=quantity,
            )
        )
    return FutureView(
        id=hex_id(digest),
        round=record.round_id,
        bidder=record.bidder,
        status=status,
        items=items,
        dataset=hex_dataset_id(record.dataset_id) if record.dataset_id else None,
        epsilon_micro_eps=record.epsilon_micros,
        risk_bps=record.risk_bps,
        payment_micro_usd=record.payment_micro_usd,
    )


# ---- checks ----


def require_future(system: System, future_id: bytes) -> BidRecord:
    """The record of a future that can still be claimed, moved or redeemed."""
    record = record_of(system, future_id)
    if record.status is Status.FUTURE:
        return record
    shown = hex_id(future_id)
    if record.status is Status.NONE:
        raise TokensError(f"no future {shown} on this deployment", field="future_id")
    if record.status is Status.VOIDED:
        raise TokensError(f"future {shown} was voided", field="future_id")
    if record.status is Status.EXPIRED:
        raise TokensError(f"future {shown} expired unredeemed: its delivery is over",
                          field="future_id")
    if record.status in SPENT:
        raise TokensError(f"future {shown} was already redeemed", field="future_id")
    raise TokensError(f"{shown} is not a won future (its bid is {record.status.name.lower()})",
                      field="future_id")


def require_deliverable(system: System, record: BidRecord, future_id: bytes) -> None:
    """Redeemable once its round has closed, until its delivery ends."""
    house = system.clearing_house
    if not Round.read(house, record.round_id).closed:
        raise RoundNotClosed(f"future {hex_id(future_id)}'s round {record.round_id} is not "
                             "closed yet: finalising the round closes it", field="future_id")
    end = AskState.read(house, record.round_id, record.provider_item).delivery_end_timestamp
    now = system.chain.pending_timestamp()
    if now > end:
        raise TokensError(f"future {hex_id(future_id)}'s delivery ended at {unix_and_utc(end)}",
                          field="future_id")


def _require_winner(record: BidRecord, future_id: bytes, address: str) -> None:
    if record.bidder != address:
        raise TokensError(
            f"future {hex_id(future_id)} was won by {known_as(record.bidder)}, not this wallet",
            field="future_id",
        )


def require_holder(system: System, record: BidRecord, future_id: bytes, address: str) -> None:
    """A claimed future is its token's holder's; an unclaimed one is its winner's."""
    if not record.claimed:
        _require_winner(record, future_id, address)
        return
    if not future_balance(system.futures, address, future_id):
        raise TokensError(f"this wallet does not hold future {hex_id(future_id)}",
                          field="future_id")


# ---- the end of delivery ----


@dataclass(frozen=True)
class Ended:
    """What `end_deliveries` did: futures expired, jobs timed out, and its transactions."""

    expired: list[bytes]
    timed_out: list[bytes]
    receipts: list[Receipt]


def end_deliveries(system: System, sender: Signer, round_id: int) -> Ended:
    """Expires the round's futures left unredeemed past the end of their delivery, and times
    out its jobs left without a verdict past their deadline (the end of delivery plus the
    round policy's verdict window). What is not due yet is left, and nothing expires before
    the round is closed; anyone may send it."""
    house = system.clearing_house
    now = system.chain.pending_timestamp()
    round_ = Round.read(house, round_id)
    rules = Rules.read(system.policies, round_.policy_id)
    window = rules.rates.verdict_window_seconds
    ends: dict[int, int] = {}
    expiring: list[tuple[bytes, BidRecord]] = []
    timing_out: list[bytes] = []
    for e in events(system, house, "Issued", roundId=round_id):
        digest = bytes(e.args["futureId"])
        record = record_of(system, digest)
        if record.provider_item not in ends:
            ends[record.provider_item] = AskState.read(
                house, round_id, record.provider_item).delivery_end_timestamp
        end = ends[record.provider_item]
        if record.status is Status.FUTURE and now > end and round_.closed:
            expiring.append((digest, record))
        elif record.status is Status.REDEEMED and now > end + window:
            timing_out.append(digest)
    holders = _holders(system) if any(r.claimed for _, r in expiring) else {}
    expiries = [(d, holders.get(int.from_bytes(d, "big"), r.bidder) if r.claimed else r.bidder)
                for d, r in expiring]
    receipts = []
    if expiries:
        receipts.append(system.chain.send(house.functions.expire(expiries), sender))
    if timing_out:
        receipts.append(system.chain.send(house.functions.timeOut(timing_out), sender))
    return Ended([d for d, _ in expiring], timing_out, receipts)


def _holders(system: System) -> dict[int, str]:
    """Each future token's holder, from its transfers in order (a token is one of a kind)."""
    tokens = system.futures
    moves = [(e.block_number, e.log_index, [int(e.args["id"])], e.args["to"])
             for e in events(system, tokens, "TransferSingle")]
    moves += [(e.block_number, e.log_index, [int(i) for i in e.args["ids"]], e.args["to"])
              for e in events(system, tokens, "TransferBatch")]
    holders: dict[int, str] = {}
    for _, _, ids, to in sorted(moves):
        for token_id in ids:
            holders[token_id] = to
    return holders
