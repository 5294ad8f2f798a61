"""The settlement service: a round cleared by the auctioneer and posted, challenged by anyone
with a better allocation, priced by the oracle quorum from the chain, and settled in batches that
fit a block.

Every step reads the chain before it writes and sends only what is missing, so it is safe to
retry after a crash or a dropped transaction. The cleared result is saved before anything is
posted and reused on a retry: a second solve under a time limit could find another allocation,
and half of one result posted over half of another would be neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from chain.bid import fill_args
from chain.clearing_house import Batch, BidRecord, Result, Round
from chain.config import rcm_home
from chain.errors import ChainError
from chain.events import events
from chain.policy_oracle import signature_args
from chain.prices import PriceReport
from chain.settlement import POSTED_VERSION, Phase, SolverStatus, Status
from market.errors import MarketError
from market.onchain import item_name
from market.readers import read_json_file
from market.result import Clearing, PricedClearing
from market.result import Status as SolveStatus
from market.round_book import (
    Book,
    RoundMarket,
    parse_digest,
    read_batches,
    require_phase,
    round_market,
)

T = TypeVar("T")

if TYPE_CHECKING:
    from chain.contract import ContractCall, Receipt
    from chain.signer import Signer
    from chain.system import System
    from market.wdp import SolveParams

BPS = 10_000


# ---- clearing ----


def clear_round(book: Book, params: SolveParams, say: Callable[[str], None] = lambda _: None
                ) -> PricedClearing:
    """Clears and prices the round as of its clearing time under its pinned policy; bundle
    indices in the result are the chain's, and bids the auctioneer cannot use are among the
    losers as `malformed`."""
    from market.pricing import price
    from market.wdp import clear

    rm = round_market(book)
    at = book.clearing_time
    priced = price(rm.market, clear(rm.market, at, params, progress=say), at)
    return _in_chain_terms(rm, priced)


def _in_chain_terms(rm: RoundMarket, priced: PricedClearing) -> PricedClearing:
    allocation = [fill.model_copy(update={"bundle": rm.chain_bundle(fill.bid, fill.bundle)})
                  for fill in priced.allocation]
    losing = [loss if loss.bundle is None else loss.model_copy(
        update={"bundle": rm.chain_bundle(loss.bid, loss.bundle)}) for loss in priced.losing]
    return priced.model_copy(update={"allocation": allocation,
                                     "losing": losing + rm.malformed})


# ---- the saved result ----


def result_path(system: System, round_id: int) -> Path:
    house = system.clearing_house.address.lower()
    return rcm_home() / "rounds" / f"{system.chain.chain_id}-{house}" / f"{round_id}.json"


def load_result(system: System, round_id: int) -> PricedClearing | None:
    path = result_path(system, round_id)
    return PricedClearing.model_validate_json(path.read_text()) if path.exists() else None


def save_result(system: System, round_id: int, result: PricedClearing) -> Path:
    path = result_path(system, round_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(result.to_json())
    temporary.replace(path)  # atomic: a crash leaves the old result or the new, never half
    return path


def read_result_file(path: Path) -> PricedClearing:
    return read_json_file(path, PricedClearing)


# ---- posting and challenging ----


def fills(book: Book, result: Clearing) -> list[tuple[bytes, tuple[Any, ...]]]:
    """The result's fills as the ClearingHouse takes them, in ascending digest order."""
    chosen = sorted((_digest(fill.bid, book), fill.bundle) for fill in result.allocation)
    return [(digest, fill_args(book.revealed[digest], bundle)) for digest, bundle in chosen]


def solver_claim(result: Clearing) -> tuple[int, int]:
    """What the auctioneer claims of its solve: optimal, or feasible with its proven bound."""
    if result.status is SolveStatus.OPTIMAL:
        return (SolverStatus.OPTIMAL, result.welfare)
    return (SolverStatus.FEASIBLE, max(result.bound, result.welfare))


def post(system: System, sender: Signer, book: Book, result: Clearing,
         max_gas: int | None = None) -> list[Receipt]:
    """Posts the fills not on chain yet, in as few transactions as fit `max_gas` each (half
    the block gas limit by default), with the solver's claim. An empty allocation is not
    posted: there is nothing for a challenger to improve on but nothing."""
    house = system.clearing_house
    require_phase(book.round_id, book.state, book.phase, Phase.POST, "posting")
    posted = {a.bid_digest for batch in read_batches(system, book.round_id, POSTED_VERSION)
              for a in batch}
    pending = [call for digest, call in fills(book, result) if digest not in posted]
    claim = solver_claim(result)

    def call(batch: list[tuple[Any, ...]]) -> ContractCall:
        return house.functions.post(book.round_id, batch, claim)

    return [system.chain.send(call(batch), sender)
            for batch in _batches(system, sender, pending, max_gas, call)]


def challenge(system: System, sender: Signer, book: Book, result: Clearing,
              max_gas: int | None = None) -> list[Receipt]:
    """Replaces the standing result with `result`, posted as a new challenge in batches and
    sealed with the last; refused here if it would not beat the standing result by the
    policy's step."""
    house = system.clearing_house
    require_phase(book.round_id, book.state, book.phase, Phase.CHALLENGE, "a challenge")
    needed = _needed_welfare(system, book)
    if result.welfare < needed:
        raise MarketError(f"result: welfare {result.welfare} micro-USD does not beat the "
                          f"standing result by the policy's step: at least {needed} is needed")
    pending = [call for _, call in fills(book, result)]

    def draft(batch: list[tuple[Any, ...]]) -> ContractCall:
        return house.functions.challenge(book.round_id, 0, batch, False)

    batches = list(_batches(system, sender, pending, max_gas, draft))
    receipts, version = [], 0
    for number, batch in enumerate(batches):
        sealing = number == len(batches) - 1
        call = house.functions.challenge(book.round_id, version, batch, sealing)
        receipts.append(system.chain.send(call, sender))
        if version == 0:
            posted = house.events_in(receipts[-1], "BatchPosted")
            version = int(posted[0].args["version"])
    return receipts


def _needed_welfare(system: System, book: Book) -> int:
    """Welfare a challenge must reach: the standing result's, plus the policy's step."""
    version = book.state.standing_version
    standing = (Result.read(system.clearing_house, book.round_id, version).welfare_micro_usd
                if version else 0)
    step = standing * book.policy.rules.rates.min_improvement_bps // BPS
    return standing + max(step, 1)


# ---- pricing ----


def price_report(system: System, book: Book, config_digest: bytes) -> PriceReport:
    """The Ethical Pricing Function's report on the round's final allocation, recomputed from
    the chain: what each oracle node signs. Only once the challenge window has closed."""
    from market.outcome import standing_clearing
    from market.pricing import price

    require_phase(book.round_id, book.state, book.phase, Phase.PRICE, "pricing")
    standing = standing_clearing(system, book)
    priced = price(standing.round_market.market, standing.clearing, book.clearing_time)
    paid = {payment.winner: payment.total for payment in priced.payments}
    return PriceReport(
        system.clearing_house.address, book.round_id, book.state.standing_version,
        tuple(priced.item_prices[item_name(ask.item)] for ask in book.asks),
        tuple(paid["0x" + award.bid_digest.hex()] for award in standing.awards), config_digest)


def submit_prices(system: System, sender: Signer, report: PriceReport,
                  signatures: list[tuple[str, bytes]]) -> Receipt:
    """Prices the round with the quorum's signatures on `report`."""
    call = system.clearing_house.functions.price(
        report.round_id, list(report.item_prices_micro_usd), list(report.payments_micro_usd),
        signature_args(signatures))
    return system.chain.send(call, sender)


# ---- settling ----


def settle(system: System, sender: Signer, book: Book, max_gas: int | None = None
           ) -> list[Receipt]:
    """Issues every batch of the final allocation not issued yet (at the quorum's prices, or at
    reserve cost when the round went unpriced), releases the losers, and closes the round."""
    require_phase(book.round_id, book.state, book.phase, Phase.FINAL, "settling")
    house = system.clearing_house
    receipts = _issue(system, sender, book)
    losers = [d for d in book.records if BidRecord.read(house, d).status is Status.REVEALED]

    def release(batch: list[bytes]) -> ContractCall:
        return house.functions.release(book.round_id, batch)

    receipts += [system.chain.send(release(batch), sender)
                 for batch in _batches(system, sender, losers, max_gas, release)]
    if not Round.read(house, book.round_id).closed:
        receipts.append(system.chain.send(house.functions.close(book.round_id), sender))
    return receipts


def _issue(system: System, sender: Signer, book: Book) -> list[Receipt]:
    house = system.clearing_house
    version = book.state.standing_version
    if version == 0:
        return []
    payments: list[int] = []
    if book.state.priced:
        priced = events(system, house, "Priced", roundId=book.round_id)
        payments = list(priced[-1].args["paymentsMicroUsd"])
    receipts, start = [], 0
    for number, awards in enumerate(read_batches(system, book.round_id, version)):
        end = start + len(awards)
        if not Batch.read(house, book.round_id, version, number).issued:
            call = house.functions.finalise(book.round_id, number,
                                            [a.as_args() for a in awards],
                                            payments[start:end])
            receipts.append(system.chain.send(call, sender))
        start = end
    return receipts


def forfeit_unrevealed(system: System, sender: Signer, book: Book) -> list[Receipt]:
    """Releases every commitment left unrevealed, less what the policy makes it forfeit. Its
    terms and envelope hash are in its `Committed` event, whoever sent it (a contract wallet's
    commitment is forfeited like any other)."""
    if book.phase < Phase.POST:
        raise MarketError(f"round {book.round_id}: the reveal phase has not ended")
    house = system.clearing_house
    sealed = set(book.unrevealed())
    # The event's struct, its fields by name in the ABI's order, goes back in as a tuple.
    return [system.chain.send(house.functions.forfeit(tuple(e.args["terms"].values()),
                                                      e.args["envelopeHash"]), sender)
            for e in events(system, house, "Committed", roundId=book.round_id)
            if bytes(e.args["digest"]) in sealed]


def _batches(system: System, sender: Signer, pending: list[T], max_gas: int | None,
             call: Callable[[list[T]], ContractCall]) -> Iterator[list[T]]:
    """Splits `pending` into runs whose transaction needs at most `max_gas`, halving a run
    until it fits (a run that reverts is sent as it is: the send reports why)."""
    limit = max_gas or system.chain.gas_limit() // 2
    while pending:
        size = len(pending)
        while size > 1 and _gas(system, call(pending[:size]), sender) > limit:
            size //= 2
        yield pending[:size]
        pending = pending[size:]


def _gas(system: System, call: ContractCall, sender: Signer) -> int:
    try:
        return system.chain.estimate_gas(call, sender.address)
    except ChainError:  # a revert: chain.send decodes and reports it
        return 0


def _digest(bid_id: str, book: Book) -> bytes:
    digest = parse_digest(bid_id, "allocation")
    if digest not in book.revealed:
        raise MarketError(f"allocation: {bid_id} is not a bid revealed in round {book.round_id}")
    return digest

