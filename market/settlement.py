"""The settlement service: a round's book read from the chain, cleared and priced by the
auctioneer, posted and finalised in batches that fit a block.

Every step reads the chain before it writes and sends only what is missing, so it is safe to
retry after a crash or a dropped transaction. The cleared result is saved before anything is
posted and reused on a retry: a second solve under a time limit could find another allocation,
and half of one result posted over half of another would be neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from chain.bid import Bid as ChainBid
from chain.bid import fill_args
from chain.config import rcm_home
from chain.events import events
from chain.settlement import Ask as ChainAsk
from chain.settlement import (
    BidRecord,
    Deadlines,
    Phase,
    Status,
    ask_from_event,
    bid_from_event,
)
from market.errors import MarketError
from market.model import Market, Policy
from market.onchain import market_ask, market_bid, market_item
from market.readers import read_json_file
from market.result import PricedClearing

T = TypeVar("T")

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3.contract.contract import ContractFunction
    from web3.types import TxReceipt

    from chain.system import System
    from market.wdp import SolveParams


@dataclass(frozen=True)
class RoundState:
    """`IClearingHouse.Round` as `roundOf` returns it."""

    deadlines: Deadlines
    poster: str
    fill_count: int
    issued_count: int
    item_count: int
    result_version: int
    welfare_micro_usd: int
    forfeit_fee_micro_usd: int

    @classmethod
    def from_call(cls, raw: Any) -> RoundState:
        deadlines, poster, fills, issued, items, version, welfare, fee = raw
        return cls(Deadlines(*deadlines), poster, fills, issued, items, version, welfare, fee)


@dataclass(frozen=True)
class PostedAsk:
    item: int
    provider: str
    ask: ChainAsk


@dataclass(frozen=True)
class Book:
    """Everything the chain says about one round: its asks, every commitment's record and the
    bids revealed so far."""

    round_id: int
    state: RoundState
    phase: Phase
    asks: list[PostedAsk]
    records: dict[bytes, BidRecord]
    revealed: dict[bytes, ChainBid]

    def unrevealed(self) -> list[bytes]:
        return [d for d, r in self.records.items() if r.status is Status.COMMITTED]

    def in_result(self, record: BidRecord) -> bool:
        return record.status is Status.FILLED and record.result_version == self.state.result_version


def require_round(system: System, round_id: int, field: str = "round") -> None:
    if not 1 <= round_id <= system.clearing_house.functions.roundCount().call():
        raise MarketError(f"{field}: no round {round_id} on this deployment")


def require_phase(round_id: int, actual: Phase, expected: Phase, action: str,
                  field: str = "round") -> None:
    if actual is not expected:
        raise MarketError(f"{field}: round {round_id} is in its {actual.name.lower()} phase; "
                          f"{action} needs the {expected.name.lower()} phase")


def parse_digest(text: str, field: str = "digest") -> bytes:
    """A bid's digest (its record's key, and its future's id) as 0x-hex."""
    try:
        digest = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise MarketError(f"{field}: expected 32 bytes in hex, got {text!r}")
    return digest


def read_book(system: System, round_id: int) -> Book:
    house = system.clearing_house
    require_round(system, round_id)
    asks = [PostedAsk(e["args"]["item"], e["args"]["provider"], ask_from_event(e["args"]["ask"]))
            for e in events(system, house, "AskPosted", roundId=round_id)]
    digests = [bytes(e["args"]["digest"]) for e in events(system, house, "Committed",
                                                           roundId=round_id)]
    revealed = {bytes(e["args"]["digest"]): bid_from_event(e["args"]["bid"])
                for e in events(system, house, "Revealed", roundId=round_id)}
    records = {d: BidRecord.read(house, d) for d in digests}
    return Book(round_id, RoundState.from_call(house.functions.roundOf(round_id).call()),
                Phase(house.functions.phaseOf(round_id).call()), asks, records, revealed)


def market_of(system: System, book: Book, policy: Policy) -> Market:
    """The round as the auctioneer's market: one item per ask, the revealed bids by digest,
    each dataset's remaining budget from the ledger."""
    purposes = ["general", *policy.max_epsilon_micros]
    datasets = {bid.dataset_id for bid in book.revealed.values() if bid.dataset_id}
    remaining = {}
    for dataset in datasets:
        _, _, total, consumed = system.ledger.functions.datasetOf(dataset).call()
        remaining[str(dataset)] = total - consumed
    return Market(
        items=[market_item(a.item, a.ask) for a in book.asks],
        asks=[market_ask(a.item, a.provider, a.ask) for a in book.asks],
        bids=[market_bid(_hex(d), bid, purposes) for d, bid in book.revealed.items()],
        policy=policy, remaining_budget_micros=remaining)


def clear_round(system: System, book: Book, policy: Policy, params: SolveParams,
                say: Callable[[str], None] = lambda _: None) -> PricedClearing:
    """Clears and prices the round as of its reveal deadline, when its book closed: anyone
    holding the events recomputes the same market."""
    from market.pricing import price
    from market.wdp import clear

    market = market_of(system, book, policy)
    at = book.state.deadlines.reveal_timestamp
    return price(market, clear(market, at, params, progress=say), at)


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


# ---- posting and finalising ----


def fills(book: Book, result: PricedClearing) -> list[tuple[bytes, tuple[Any, ...]]]:
    """The result's fills as the ClearingHouse takes them. A payment never goes below the
    reserve cost of its bundle (the contract guarantees providers their reserve, so an equity
    discount stops there) nor above the bundle's value."""
    reserve = {a.item: a.ask.reserve_price_micro_usd for a in book.asks}
    paid = {p.winner: p.total for p in result.payments}
    calls: list[tuple[bytes, tuple[Any, ...]]] = []
    for fill in result.allocation:
        digest = _digest(fill.bid, book)
        bid = book.revealed[digest]
        bundle = bid.bundles[fill.bundle]
        floor = sum(q * reserve[i] for i, q in zip(bundle.items, bundle.quantities, strict=True))
        payment = min(max(paid.get(fill.bid, floor), floor), bundle.value_micro_usd)
        calls.append((digest, fill_args(digest, bid, fill.bundle, payment)))
    return calls


def post(system: System, sender: LocalAccount, book: Book, result: PricedClearing,
         max_gas: int | None = None) -> list[TxReceipt]:
    """Posts the fills not on chain yet, in as few transactions as fit `max_gas` each (half
    the block gas limit by default)."""
    house = system.clearing_house
    require_phase(book.round_id, book.phase, Phase.POST, "posting")
    pending = [call for digest, call in fills(book, result)
               if not book.in_result(book.records[digest])]
    return [system.chain.send(house.functions.post(book.round_id, batch), sender)
            for batch in _batches(system, sender, pending, max_gas,
                                  lambda batch: house.functions.post(book.round_id, batch))]


def challenge(system: System, sender: LocalAccount, book: Book, result: PricedClearing
              ) -> TxReceipt:
    """Replaces the posted result with `result`, whole, in one transaction."""
    require_phase(book.round_id, book.phase, Phase.CHALLENGE, "a challenge")
    if result.welfare <= book.state.welfare_micro_usd:
        raise MarketError(f"result: welfare {result.welfare} micro-USD is not above the posted "
                          f"{book.state.welfare_micro_usd}")
    calls = [call for _, call in fills(book, result)]
    call = system.clearing_house.functions.challenge(book.round_id, calls)
    return system.chain.send(call, sender)


def finalise(system: System, sender: LocalAccount, book: Book, max_gas: int | None = None
             ) -> list[TxReceipt]:
    """Credits the winners their futures and releases the losers, those not done yet."""
    require_phase(book.round_id, book.phase, Phase.FINAL, "finalising")
    winners = [d for d, r in book.records.items() if book.in_result(r)]
    losers = [d for d, r in book.records.items()
              if r.status is Status.REVEALED or (r.status is Status.FILLED and not
                                                 book.in_result(r))]
    tagged = [(d, True) for d in winners] + [(d, False) for d in losers]
    house = system.clearing_house

    def call(batch: list[tuple[bytes, bool]]) -> ContractFunction:
        return house.functions.finalise(book.round_id, [d for d, won in batch if won],
                                        [d for d, won in batch if not won])

    return [system.chain.send(call(batch), sender)
            for batch in _batches(system, sender, tagged, max_gas, call)]


def forfeit_unrevealed(system: System, sender: LocalAccount, book: Book) -> list[TxReceipt]:
    """Releases every commitment left unrevealed, less the round's forfeit fee. A commitment's
    terms are public from its transaction's calldata."""
    if book.phase < Phase.POST:
        raise MarketError(f"round {book.round_id}: the reveal phase has not ended")
    house = system.clearing_house
    committed = {bytes(e["args"]["digest"]): e["transactionHash"]
                 for e in events(system, house, "Committed", roundId=book.round_id)}
    receipts = []
    for digest in book.unrevealed():
        transaction = system.chain.w3.eth.get_transaction(committed[digest])
        _, arguments = house.decode_function_input(transaction["input"])
        call = house.functions.forfeit(arguments["terms"], arguments["envelopeHash"])
        receipts.append(system.chain.send(call, sender))
    return receipts


def _batches(system: System, sender: LocalAccount, pending: list[T], max_gas: int | None,
             call: Callable[[list[T]], ContractFunction]) -> Iterator[list[T]]:
    """Splits `pending` into runs whose transaction needs at most `max_gas`, halving a run
    until it fits (a run that reverts is sent as it is: the send reports why)."""
    limit = max_gas or int(system.chain.w3.eth.get_block("latest")["gasLimit"]) // 2
    while pending:
        size = len(pending)
        while size > 1 and _gas(call(pending[:size]), sender) > limit:
            size //= 2
        yield pending[:size]
        pending = pending[size:]


def _gas(call: ContractFunction, sender: LocalAccount) -> int:
    try:
        return int(call.estimate_gas({"from": sender.address}))
    except Exception:  # a revert: chain.send decodes and reports it
        return 0


# ---- decoding ----


def _hex(digest: bytes) -> str:
    return "0x" + digest.hex()


def _digest(bid_id: str, book: Book) -> bytes:
    digest = parse_digest(bid_id, "allocation")
    if digest not in book.revealed:
        raise MarketError(f"allocation: {bid_id} is not a bid revealed in round {book.round_id}")
    return digest
