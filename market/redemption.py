"""The job a future's redeemer declares. A future's `riskBps` is a ceiling that travels with
it: whoever redeems it commits to the workload it will run (the declaration's hash, on chain in
`Redeemed`), and the oracle holds what ran to the ceiling. The chain cannot run the rubric, so
the client scores the declaration with the round's rubric and refuses, before sending, a job the
future does not cover: one scored above the ceiling, for another purpose, prohibited, or leaving
out a data category its dataset is registered with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chain.bid import purpose_id
from chain.clearing_house import BidRecord, Round
from chain.futures_terms import revealed_bid
from chain.ledger import registered_categories
from market.errors import MarketError
from market.rubrics import round_rubric
from risk.assess import assess
from risk.declaration import Declaration, declaration_hash

if TYPE_CHECKING:
    from chain.system import System


def declared_job(system: System, future_id: bytes, redeemer: str,
                 declaration: Declaration | None) -> bytes:
    """The declaration hash the redemption commits to: `declaration`'s, once the future covers
    it; with none, the one the future's bid committed to, when its bidder redeems (it runs the
    job it bid for). Raises MarketError naming `declaration` otherwise."""
    bid = revealed_bid(system, future_id)
    if bid is None:
        raise MarketError(f"0x{future_id.hex()} is no future's id", field="future_id")
    if declaration is None:
        if redeemer != bid.bidder:
            raise MarketError("give the declaration of the job this wallet will run: the "
                              "future's bid declared its winner's", field="declaration")
        return bid.declaration_hash
    if purpose_id(declaration.purpose) != bid.purpose:
        raise MarketError(f"{declaration.purpose!r} is not the purpose the future bought",
                          field="declaration.purpose")
    house = system.clearing_house
    record = BidRecord.read(house, future_id)
    rubric = round_rubric(system, Round.read(house, record.round_id).policy_id, record.round_id)
    score = assess(declaration, rubric)
    ineligible = score.ineligibility(rubric)
    if ineligible:
        raise MarketError(ineligible, field="declaration.practices")
    undeclared = declaration.undeclared_data(
        registered_categories(system).get(record.dataset_id, frozenset()))
    if undeclared:
        raise MarketError(undeclared, field="declaration.data_categories")
    if score.risk_bps > record.risk_bps:
        raise MarketError(
            f"the job scores {score.risk_bps:,} bps, above the {record.risk_bps:,} bps the future "
            "was staked for: it covers no riskier job (bid for one in a round)",
            field="declaration")
    return declaration_hash(declaration)
