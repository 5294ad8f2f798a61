"""A round's standing result as the auctioneer's `Clearing`, recomputed from the chain: its
allocation from the result's `BatchPosted` events, and one reason for every other revealed
bid from the auctioneer's own eligibility code. The chain holds who won; why each of the
others lost is this recomputation, which anyone holding the chain makes the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.clearing_house import Result
from chain.settlement import Award
from market.result import Clearing, Fill, Loss
from market.result import Status as SolveStatus
from market.round_book import Book, RoundMarket, read_batches, round_market

if TYPE_CHECKING:
    from chain.system import System


@dataclass(frozen=True)
class StandingClearing:
    """`awards` in the result's order: batch by batch, as the chain pays and issues them."""

    round_market: RoundMarket
    awards: list[Award]
    clearing: Clearing


def standing_clearing(system: System, book: Book) -> StandingClearing:
    """The round's standing result as a `Clearing` of its market as of its clearing time: the
    welfare the chain recorded, its own bound (the chain checks feasibility, not optimality)."""
    from market.eligibility import explain_losses, screen

    version = book.state.standing_version
    awards = [a for batch in read_batches(system, book.round_id, version) for a in batch]
    rm = round_market(book)
    market = rm.market
    index = {bid.id: number for number, bid in enumerate(market.bids)}
    allocation = []
    for award in awards:
        bid_id = "0x" + award.bid_digest.hex()
        bundle = rm.model_bundle(bid_id, award.bundle_index)
        allocation.append(Fill(bid=bid_id, bundle=bundle,
                               items=market.bids[index[bid_id]].bundles[bundle].items))
    filled = {index[fill.bid]: fill.bundle for fill in allocation}
    welfare = (Result.read(system.clearing_house, book.round_id, version).welfare_micro_usd
               if version else 0)
    losing = explain_losses(market, screen(market, book.clearing_time), filled)
    clearing = Clearing(allocation=allocation, losing=losing, welfare=welfare, bound=welfare,
                        gap=0.0, status=SolveStatus.FEASIBLE, seconds=0.0)
    return StandingClearing(rm, awards, clearing)


def round_losses(system: System, book: Book) -> list[Loss]:
    """Why each revealed bid the standing result does not fill lost: those the auctioneer
    cannot use (`malformed`) first, then the rest in bid order."""
    standing = standing_clearing(system, book)
    return [*standing.round_market.malformed, *standing.clearing.losing]
