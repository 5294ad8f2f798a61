"""What a redeemed future bought, as the chain records it: the record `bidOf` holds, the bid its
`Revealed` event carries (its public terms and the bundles), the job its `Redeemed` event
declared (the workload its redeemer committed to run), the items of the won bundle as
their `AskPosted` events describe them, the rubric its round's policy scores risk with, and
every dataset registered on the PrivacyBudgetLedger
(`DatasetRegistered`), which tells private data from the rest. A future's id is its winning
bid's digest, and so is the id of the job it redeems into.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.clearing_house import BidRecord, Round
from chain.events import events
from chain.ledger import category_names
from chain.policy import rubric_hash_of
from chain.settlement import Ask, Status, ask_from_event, bid_from_event

if TYPE_CHECKING:
    from chain.bid import Bid
    from chain.system import System

REDEEMED = frozenset({Status.REDEEMED, Status.SETTLED, Status.VOIDED})
"""A redeemed future's statuses: its job runs, then its verdict settles or voids it. A node
asked after the quorum's verdict landed reads the same terms as one asked before."""


@dataclass(frozen=True)
class BoughtItem:
    ask: Ask
    quantity: int


@dataclass(frozen=True)
class RedeemedFuture:
    record: BidRecord
    bid: Bid
    items: tuple[BoughtItem, ...]  # the won bundle's
    datasets: dict[int, bytes]  # every dataset registered on the ledger: id → content hash
    categories: dict[int, frozenset[str]]  # and its data categories, as registered
    rubric_hash: bytes  # of the round's policy: what its bids' riskBps were scored with
    declaration_hash: bytes  # of the job its redeemer declared: what its evidence must name


def revealed_bid(system: System, digest: bytes) -> Bid | None:
    """The bid `digest` names as its `Revealed` event carries it; None before its reveal."""
    revealed = events(system, system.clearing_house, "Revealed", digest=digest)
    return bid_from_event(revealed[0].args["bid"]) if revealed else None


def read_redeemed_future(system: System, future_id: bytes) -> RedeemedFuture | None:
    """The future `future_id` as it was bought, or None when no future was redeemed under that
    id."""
    house = system.clearing_house
    record = BidRecord.read(house, future_id)
    if record.status not in REDEEMED:
        return None
    bid = revealed_bid(system, future_id)
    registered = events(system, system.ledger, "DatasetRegistered")
    (redeemed,) = events(system, house, "Redeemed", futureId=future_id)
    if bid is None:
        raise AssertionError("a redeemed future's bid was revealed")
    asks = {int(e.args["item"]): ask_from_event(e.args["ask"])
            for e in events(system, house, "AskPosted", roundId=record.round_id)}
    bundle = bid.bundles[record.bundle_index]
    return RedeemedFuture(
        record=record,
        bid=bid,
        items=tuple(BoughtItem(asks[item], quantity)
                    for item, quantity in zip(bundle.items, bundle.quantities, strict=True)),
        datasets={int(e.args["id"]): bytes(e.args["contentHash"]) for e in registered},
        categories={int(e.args["id"]): category_names(int(e.args["categories"]))
                    for e in registered},
        rubric_hash=rubric_hash_of(system.policies,
                                   Round.read(house, record.round_id).policy_id),
        declaration_hash=bytes(redeemed.args["declarationHash"]),
    )
