"""What each event the service follows writes to the store: one function per (contract,
event), registered in `HANDLERS`. A handler only writes rows inside the indexer's transaction
for the event's block. The relay's tables and the dashboard's are both filled here."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from chain.clearing_house import BidRecord
from chain.contract import ZERO_ADDRESS, Event
from chain.exchange import OrderStatus
from chain.policy import Rules
from chain.policy_oracle import signers_at
from chain.settlement import POSTED_VERSION, Award, ask_from_event, bid_from_event
from chain.system import System
from chain.verdict import Fault
from market.onchain import market_item
from market.outcome import round_losses
from market.round_book import read_book


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


def round_opened(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    deadlines = event.args["deadlines"]
    policy_id = int(event.args["policyId"])
    # A registered policy's rules never change, so reading them now reads them as of opening.
    rules = Rules.read(block.system.policies, policy_id)
    db.execute("INSERT OR REPLACE INTO rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL,"
               " NULL, NULL, 0)",
               (event.args["roundId"], policy_id, deadlines["commitTimestamp"],
                deadlines["revealTimestamp"], deadlines["postTimestamp"],
                deadlines["challengeTimestamp"], deadlines["challengeTimestamp"],
                rules.rates.pricing_window_seconds, block.timestamp))


def ask_posted(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    ask = ask_from_event(event.args["ask"])
    item = int(event.args["item"])
    db.execute("INSERT OR REPLACE INTO asks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (event.args["roundId"], item, ask.capacity,
                ask.slot_start_timestamp + ask.slot_seconds, event.args["provider"],
                market_item(item, ask).label, ask.resource, ask.region,
                ask.reserve_price_micro_usd))


def committed(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    db.execute("INSERT OR REPLACE INTO commitments VALUES (?, ?, ?, ?, ?)",
               (_id(event.args["digest"]), event.args["roundId"], event.args["bidder"],
                event.args["terms"]["maxValueMicroUsd"], block.timestamp))


def revealed(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    bid = bid_from_event(event.args["bid"])
    bundles = [[list(b.items), list(b.quantities)] for b in bid.bundles]
    db.execute("INSERT OR REPLACE INTO revealed VALUES (?, ?)",
               (_id(event.args["digest"]), json.dumps(bundles)))


def batch_posted(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    args = event.args
    round_id, version = int(args["roundId"]), int(args["version"])
    db.executemany("INSERT OR REPLACE INTO awards VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [(round_id, version, args["batch"], position, award.bid_digest,
                     award.bundle_index, award.value_micro_usd, award.reserve_micro_usd)
                    for position, award in enumerate(map(Award.from_event, args["awards"]))])
    # The auctioneer's post stands from its first batch; a challenge only once it replaces it.
    if version == POSTED_VERSION:
        db.execute("UPDATE rounds SET standing_version = ?, welfare_micro_usd = ?"
                   " WHERE round_id = ?", (version, args["welfareMicroUsd"], round_id))


def solver_claimed(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    db.execute("UPDATE rounds SET solver_status = ?, bound_micro_usd = ? WHERE round_id = ?",
               (event.args["status"], event.args["boundMicroUsd"], event.args["roundId"]))


def result_replaced(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    args = event.args
    db.execute("UPDATE rounds SET standing_version = ?, welfare_micro_usd = ?, challenge_end = ?"
               " WHERE round_id = ?", (args["version"], args["welfareMicroUsd"],
                                       args["challengeEndTimestamp"], args["roundId"]))


def priced(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    round_id = int(event.args["roundId"])
    db.execute("UPDATE rounds SET priced_version = ? WHERE round_id = ?",
               (event.args["version"], round_id))
    db.executemany("INSERT OR REPLACE INTO item_prices VALUES (?, ?, ?, ?, ?, ?)",
                   [(round_id, item, price, block.timestamp, event.block_number,
                     event.log_index)
                    for item, price in enumerate(event.args["itemPricesMicroUsd"])])


def closed(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    round_id = int(event.args["roundId"])
    db.execute("UPDATE rounds SET closed = 1 WHERE round_id = ?", (round_id,))
    # A closed round's book and result never change again: its losses, recomputed from the
    # chain as it is now, are those as of this block.
    losses = round_losses(block.system, read_book(block.system, round_id))
    db.executemany("INSERT OR REPLACE INTO losses VALUES (?, ?, ?, ?, ?, ?)",
                   [(bytes.fromhex(loss.bid[2:]), round_id, loss.reason.value, loss.bundle,
                     loss.item, loss.detail) for loss in losses])


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
    db.execute("INSERT OR REPLACE INTO futures VALUES (?, ?, ?, ?, 'future', 0, NULL, ?, NULL)",
               (future_id, round_id, record.bidder, delivery_end, event.args["paymentMicroUsd"]))
    db.executemany("INSERT OR REPLACE INTO future_items VALUES (?, ?, ?, ?)",
                   [(future_id, round_id, item, units)
                    for item, units in zip(items, quantities, strict=True)])


def redeemed(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    db.execute("UPDATE futures SET status = 'redeemed', redeemer = ? WHERE future_id = ?",
               (event.args["redeemer"], _id(event.args["futureId"])))


def verdict_enforced(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    args = event.args
    job_id, fault = _id(args["jobId"]), Fault(args["fault"])
    # `burnedWei` is one sum; `onVerdict` burns the redeemer's stake only at its fault and the
    # provider's slash only at the provider's, so the fault says which it was.
    burned = int(args["burnedWei"])
    stake, bond = (burned, 0) if fault is Fault.BUYER else (0, burned)
    db.execute("UPDATE verdicts SET paid = ?, paid_micro_usd = ?, stake_burned_wei = ?,"
               " bond_burned_wei = ? WHERE job_id = ?",
               (args["paid"], args["paidMicroUsd"], str(stake), str(bond), job_id))
    db.execute("UPDATE futures SET status = ? WHERE future_id = ?",
               ("settled" if args["compliant"] else "voided", job_id))


def timed_out(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    """No verdict by the deadline: the payment goes to the treasury, not to a party."""
    args = event.args
    job_id = _id(args["jobId"])
    db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, 'timed_out', NULL, NULL, '[]', NULL,"
               " ?, ?, ?, ?)", (job_id, args["paymentMicroUsd"], str(args["burnedStakeWei"]),
                                str(args["burnedBondWei"]), block.timestamp))
    db.execute("UPDATE futures SET status = 'timed_out' WHERE future_id = ?", (job_id,))


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


# ---- PolicyOracle ----


def verdict_accepted(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    args = event.args
    # Bit j of the bitmap is the j-th of the signer set the quorum was checked against, which
    # a later `setConfig` replaces: read as of this block.
    signer_set = signers_at(block.system, block.number)
    bitmap = int(args["signerBitmap"])
    signers = [signer for j, signer in enumerate(signer_set) if bitmap >> j & 1]
    db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, NULL, NULL, '0', '0', ?)",
               (_id(args["jobId"]), "compliant" if args["compliant"] else "violation",
                args["fault"], _id(args["clausesHash"]), json.dumps(signers), block.timestamp))


# ---- SafetyVault ----

VAULT_MOVES = {"Staked": "staked", "Unstaked": "unstaked", "StakeLocked": "stake_locked",
               "StakeReleased": "stake_released", "StakeSlashed": "stake_burned",
               "Bonded": "bonded", "UnbondingStarted": "unbonding", "Withdrawn": "withdrawn",
               "BondLocked": "bond_locked", "BondReleased": "bond_released",
               "LockedBondSeized": "bond_seized"}


def vault_move(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    args = event.args
    amount = args["burned"] if event.name == "StakeSlashed" else args["amount"]
    db.execute("INSERT OR IGNORE INTO vault_moves VALUES (?, ?, ?, ?, ?, ?, ?)",
               (event.block_number, event.log_index, block.timestamp, args["account"],
                VAULT_MOVES[event.name], str(amount), args.get("readyAt")))


# ---- PrivacyBudgetLedger ----


def dataset_registered(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    args = event.args
    db.execute("INSERT OR REPLACE INTO datasets VALUES (?, ?, ?, ?, ?, ?)",
               (_id(args["id"]), args["owner"], _id(args["contentHash"]),
                args["totalMicroEpsilon"], args["categories"], block.timestamp))


def consent_set(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    db.execute("INSERT OR REPLACE INTO consents VALUES (?, ?, ?)",
               (_id(event.args["id"]), _id(event.args["purpose"]),
                int(event.args["consented"])))


def offered(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    args = event.args
    db.execute("INSERT OR REPLACE INTO budget_offers VALUES (?, ?, ?, ?)",
               (_id(args["id"]), args["seller"], str(args["amountMicroEpsilon"]),
                str(args["priceMicroUsdPerEpsilon"])))


def bought(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    args = event.args
    key = (_id(args["id"]), args["seller"])
    row = db.execute("SELECT amount_micro_epsilon FROM budget_offers WHERE dataset_id = ?"
                     " AND seller = ?", key).fetchone()
    # `buy` of nothing at price zero passes with no offer: nothing to take from.
    if row is None:
        return
    (left,) = row
    db.execute("UPDATE budget_offers SET amount_micro_epsilon = ? WHERE dataset_id = ?"
               " AND seller = ?", (str(int(left) - int(args["amountMicroEpsilon"])), *key))


def _reserve_moved(db: sqlite3.Connection, event: Event, block: BlockContext,
                   moves: list[tuple[int, str, int]]) -> None:
    db.executemany("INSERT OR IGNORE INTO budget_moves VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(event.block_number, event.log_index, position, block.timestamp,
                     _id(dataset), kind, amount)
                    for position, (dataset, kind, amount) in enumerate(moves)])


def _ledger_transfer(db: sqlite3.Connection, event: Event, block: BlockContext,
                     ids: list[int], amounts: list[int]) -> None:
    """Outside `register`'s first mint, a burn is a reservation and a mint by the clearing
    house a release (the ledger's interface promises it); a transfer moves held ε alone."""
    args = event.args
    if args["to"] == ZERO_ADDRESS:
        kind = "reserved"
    elif (args["from"] == ZERO_ADDRESS
          and args["operator"] == block.system.clearing_house.address):
        kind = "released"
    else:
        return
    _reserve_moved(db, event, block, [(dataset, kind, amount)
                                      for dataset, amount in zip(ids, amounts, strict=True)])


def budget_transfer_single(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    _ledger_transfer(db, event, block, [int(event.args["id"])], [int(event.args["value"])])


def budget_transfer_batch(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    _ledger_transfer(db, event, block, [int(i) for i in event.args["ids"]],
                     [int(v) for v in event.args["values"]])


def consumed(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    _reserve_moved(db, event, block, [(int(event.args["id"]), "consumed",
                                       int(event.args["amountMicroEpsilon"]))])


# ---- the payment token ----


def usd_transfer(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    block.touched.update((event.args["from"], event.args["to"]))


def usd_approval(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
    if event.args["spender"] == block.system.exchange.address:
        block.touched.add(event.args["owner"])


# Keyed by the contract's attribute on `System` and the event's name.
HANDLERS: dict[tuple[str, str], Handler] = {
    ("clearing_house", "RoundOpened"): round_opened,
    ("clearing_house", "AskPosted"): ask_posted,
    ("clearing_house", "Committed"): committed,
    ("clearing_house", "Revealed"): revealed,
    ("clearing_house", "BatchPosted"): batch_posted,
    ("clearing_house", "SolverClaimed"): solver_claimed,
    ("clearing_house", "ResultReplaced"): result_replaced,
    ("clearing_house", "Priced"): priced,
    ("clearing_house", "Closed"): closed,
    ("clearing_house", "Issued"): issued,
    ("clearing_house", "Redeemed"): redeemed,
    ("clearing_house", "Expired"): expired,
    ("clearing_house", "VerdictEnforced"): verdict_enforced,
    ("clearing_house", "TimedOut"): timed_out,
    ("oracle", "VerdictAccepted"): verdict_accepted,
    **{("vault", name): vault_move for name in VAULT_MOVES},
    ("futures", "TransferSingle"): transfer_single,
    ("futures", "TransferBatch"): transfer_batch,
    ("futures", "ApprovalForAll"): approval_for_all,
    ("exchange", "Traded"): traded,
    ("exchange", "Cancelled"): cancelled,
    ("exchange", "CounterIncremented"): counter_incremented,
    ("ledger", "DatasetRegistered"): dataset_registered,
    ("ledger", "ConsentSet"): consent_set,
    ("ledger", "Offered"): offered,
    ("ledger", "Bought"): bought,
    ("ledger", "TransferSingle"): budget_transfer_single,
    ("ledger", "TransferBatch"): budget_transfer_batch,
    ("ledger", "Consumed"): consumed,
    ("payment_token", "Transfer"): usd_transfer,
    ("payment_token", "Approval"): usd_approval,
}
