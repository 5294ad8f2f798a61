"""What each event the service follows writes to the store: one function per (contract,
event), registered in `HANDLERS`. A handler only writes rows inside the indexer's transaction
for the event's block; the dashboard adds its tables' handlers here."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from chain.clearing_house import BidRecord
from chain.contract import ZERO_ADDRESS, Event
from chain.exchange import OrderStatus
from chain.settlement import ask_from_event, bid_from_event
from chain.system import System


@dataclass
class BlockContext:
    """The block being indexed, and the accounts whose USD its events may have moved."""

    system: System
    number: int
    timestamp: int
    touched: set[str] = field(default_factory=set)


Handler = Callable[[sqlite3.Connection, Event, BlockContext], None]


def _id(value: int | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.to_bytes(32, "big")


# ---- ClearingHouse ----


def ask_posted(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    ask = ask_from_event(event.args["ask"])
    db.execute("INSERT OR REPLACE INTO asks VALUES (?, ?, ?, ?)",
               (event.args["roundId"], event.args["item"], ask.capacity,
                ask.slot_start_timestamp + ask.slot_seconds))


def revealed(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    bid = bid_from_event(event.args["bid"])
    bundles = [[list(b.items), list(b.quantities)] for b in bid.bundles]
    db.execute("INSERT OR REPLACE INTO revealed VALUES (?, ?)",
               (_id(event.args["digest"]), json.dumps(bundles)))


def issued(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    future_id = _id(event.args["futureId"])
    round_id = int(event.args["roundId"])
    # The winning bundle and the provider's item are fixed once issued: reading them now is
    # reading them as of this block.
    record = BidRecord.read(block.system.clearing_house, future_id)
    (bundles,) = db.execute("SELECT bundles FROM revealed WHERE digest = ?",
                            (future_id,)).fetchone()
    items, quantities = json.loads(bundles)[record.bundle_index]
    (delivery_end,) = db.execute("SELECT delivery_end FROM asks WHERE round_id = ? AND item = ?",
                                 (round_id, record.provider_item)).fetchone()
    db.execute("INSERT OR REPLACE INTO futures VALUES (?, ?, ?, ?, 'future', 0, NULL)",
               (future_id, round_id, record.bidder, delivery_end))
    db.executemany("INSERT OR REPLACE INTO future_items VALUES (?, ?, ?, ?)",
                   [(future_id, round_id, item, units)
                    for item, units in zip(items, quantities, strict=True)])


def redeemed(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    db.execute("UPDATE futures SET status = 'redeemed' WHERE future_id = ?",
               (_id(event.args["futureId"]),))


def expired(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    db.execute("UPDATE futures SET status = 'expired' WHERE future_id = ?",
               (_id(event.args["futureId"]),))


# ---- ComputeFutures ----


def _moved(db: sqlite3.Connection, token_ids: list[int], to: str) -> None:
    # A future is one of a kind: whoever received it last holds it; a burn leaves no holder.
    holder = None if to == ZERO_ADDRESS else to
    db.executemany("UPDATE futures SET claimed = 1, holder = ? WHERE future_id = ?",
                   [(holder, _id(token_id)) for token_id in token_ids])


def transfer_single(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    _moved(db, [int(event.args["id"])], event.args["to"])


def transfer_batch(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    _moved(db, [int(i) for i in event.args["ids"]], event.args["to"])


def approval_for_all(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    if event.args["operator"] == block.system.exchange.address:
        db.execute("INSERT OR REPLACE INTO exchange_approvals VALUES (?, ?)",
                   (event.args["account"], int(event.args["approved"])))


# ---- FuturesExchange ----


def traded(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    args = event.args
    db.execute("INSERT OR IGNORE INTO trades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (event.block_number, event.log_index, _id(args["orderHash"]),
                _id(args["futureId"]), args["seller"], args["buyer"], args["priceMicroUsd"],
                args["feeMicroUsd"], event.transaction_hash, block.timestamp))
    db.execute("INSERT OR REPLACE INTO order_status VALUES (?, ?)",
               (_id(args["orderHash"]), int(OrderStatus.FILLED)))


def cancelled(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    db.execute("INSERT OR REPLACE INTO order_status VALUES (?, ?)",
               (_id(event.args["orderHash"]), int(OrderStatus.CANCELLED)))


def counter_incremented(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    db.execute("INSERT OR REPLACE INTO counters VALUES (?, ?)",
               (event.args["maker"], int(event.args["counter"])))


# ---- the payment token ----


def usd_transfer(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    block.touched.update((event.args["from"], event.args["to"]))


def usd_approval(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    if event.args["spender"] == block.system.exchange.address:
        block.touched.add(event.args["owner"])


# Keyed by the contract's attribute on `System` and the event's name.
HANDLERS: dict[tuple[str, str], Handler] = {
    ("clearing_house", "AskPosted"): ask_posted,
    ("clearing_house", "Revealed"): revealed,
    ("clearing_house", "Issued"): issued,
    ("clearing_house", "Redeemed"): redeemed,
    ("clearing_house", "Expired"): expired,
    ("futures", "TransferSingle"): transfer_single,
    ("futures", "TransferBatch"): transfer_batch,
    ("futures", "ApprovalForAll"): approval_for_all,
    ("exchange", "Traded"): traded,
    ("exchange", "Cancelled"): cancelled,
    ("exchange", "CounterIncremented"): counter_incremented,
    ("payment_token", "Transfer"): usd_transfer,
    ("payment_token", "Approval"): usd_approval,
}
