"""A round as the chain records it, and as the auctioneer's market.

Everything comes from the deployment's events and views, so anyone holding the chain rebuilds
the same book: the asks (`AskPosted`), the commitments and their datasets' budgets at commit
(`Committed`), the revealed bids (`Revealed`), the pinned policy (`PolicySet` of the round's
policy id) and the batches of each result (`BatchPosted`). A revealed bid the auctioneer cannot
use becomes a `malformed` loss, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.bid import Bid as ChainBid
from chain.clearing_house import BidRecord, Round, phase_of, round_count
from chain.events import events
from chain.policy import ChainPolicy
from chain.settlement import Ask as ChainAsk
from chain.settlement import Award, Phase, Status, ask_from_event, bid_from_event
from chain.times import unix_and_utc
from market.errors import MarketError
from market.model import Bid, Market
from market.onchain import market_ask, market_bid, market_item, policy_from_chain
from market.result import Loss, LossReason

if TYPE_CHECKING:
    from chain.system import System


@dataclass(frozen=True)
class PostedAsk:
    item: int
    provider: str
    ask: ChainAsk


@dataclass(frozen=True)
class Book:
    """Everything the chain says about one round: its policy, its asks, every commitment's
    record, the bids revealed so far and each dataset's budget as its bids committed."""

    round_id: int
    state: Round
    phase: Phase
    policy: ChainPolicy
    asks: list[PostedAsk]
    records: dict[bytes, BidRecord]
    revealed: dict[bytes, ChainBid]
    budgets: dict[bytes, int]

    def unrevealed(self) -> list[bytes]:
        return [d for d, r in self.records.items() if r.status is Status.COMMITTED]

    @property
    def clearing_time(self) -> int:
        """The round clears as of its reveal deadline, when its book closed."""
        return self.state.deadlines.reveal_timestamp


@dataclass(frozen=True)
class RoundMarket:
    """The round as the auctioneer's market. Bid ids are digests in hex; a model bid keeps only
    the bundles the auctioneer can use, so `bundles[bid][k]` is the chain's index of the bid's
    k-th model bundle; bids with no usable bundle are `malformed`."""

    market: Market
    bundles: dict[str, list[int]]
    malformed: list[Loss]

    def chain_bundle(self, bid_id: str, model_bundle: int) -> int:
        return self.bundles[bid_id][model_bundle]

    def model_bundle(self, bid_id: str, chain_bundle: int) -> int:
        return self.bundles[bid_id].index(chain_bundle)


def require_round(system: System, round_id: int, field: str = "round_id") -> None:
    if not 1 <= round_id <= round_count(system.clearing_house):
        raise MarketError(f"no round {round_id} on this deployment", field=field)


def require_phase(round_id: int, state: Round, actual: Phase, expected: Phase, action: str,
                  field: str = "round_id") -> None:
    """The round in `expected` phase, else an error saying when that phase ended or opens."""
    if actual is expected:
        return
    ends = {Phase.COMMIT: state.deadlines.commit_timestamp,
            Phase.REVEAL: state.deadlines.reveal_timestamp,
            Phase.POST: state.deadlines.post_timestamp,
            Phase.CHALLENGE: state.challenge_end_timestamp}  # the rest end as the round is priced
    when = ""
    if actual > expected and expected in ends:
        when = f", which ended at {unix_and_utc(ends[expected])}"
    elif actual < expected and Phase(expected - 1) in ends:
        when = f", which opens after {unix_and_utc(ends[Phase(expected - 1)])}"
    raise MarketError(f"round {round_id} is in its {actual.name.lower()} phase; "
                      f"{action} needs the {expected.name.lower()} phase{when}", field=field)


def parse_digest(text: str, field: str = "digest") -> bytes:
    """A bid's digest (its record's key, and its future's id) as 0x-hex."""
    try:
        digest = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise MarketError(f"expected 32 bytes in hex, got {text!r}", field=field)
    return digest


def read_policy(system: System, policy_id: int) -> ChainPolicy:
    """A registered policy, from its `PolicySet` event."""
    found = events(system, system.policies, "PolicySet", policyId=policy_id)
    if not found:
        raise MarketError(f"no policy {policy_id} is registered", field="policy_id")
    return ChainPolicy.from_event(found[0].args["policy"])


def posted_asks(system: System, round_id: int) -> list[PostedAsk]:
    """The round's asks, in item order."""
    return [PostedAsk(e.args["item"], e.args["provider"], ask_from_event(e.args["ask"]))
            for e in events(system, system.clearing_house, "AskPosted", roundId=round_id)]


def read_book(system: System, round_id: int) -> Book:
    house = system.clearing_house
    require_round(system, round_id)
    state = Round.read(house, round_id)
    asks = posted_asks(system, round_id)
    committed = {bytes(e.args["digest"]): int(e.args["datasetRemainingMicros"])
                 for e in events(system, house, "Committed", roundId=round_id)}
    revealed = {bytes(e.args["digest"]): bid_from_event(e.args["bid"])
                for e in events(system, house, "Revealed", roundId=round_id)}
    records = {d: BidRecord.read(house, d) for d in committed}
    return Book(round_id, state, phase_of(house, round_id),
                read_policy(system, state.policy_id), asks, records, revealed, committed)


def read_batches(system: System, round_id: int, version: int) -> list[list[Award]]:
    """The awards of each batch of a result, in batch order."""
    posted = events(system, system.clearing_house, "BatchPosted", roundId=round_id,
                    version=version)
    ordered = sorted(posted, key=lambda e: int(e.args["batch"]))
    return [[Award.from_event(a) for a in e.args["awards"]] for e in ordered]


def round_market(book: Book) -> RoundMarket:
    """The round as the auctioneer's market under its pinned policy: one item per ask, the
    revealed bids by digest, each dataset's remaining budget as the least its bids saw at
    commit (the latest state any of them recorded)."""
    asks = {a.item: a for a in book.asks}
    bids, bundles, malformed = [], {}, []
    remaining: dict[str, int] = {}
    for digest, bid in book.revealed.items():
        bid_id = "0x" + digest.hex()
        problems = {k: problem for k, bundle in enumerate(bid.bundles)
                    if (problem := unusable(bundle.items, bundle.quantities, asks))}
        usable = [k for k in range(len(bid.bundles)) if k not in problems]
        if not usable:
            first = min(problems)
            malformed.append(Loss(bid=bid_id, reason=LossReason.MALFORMED, bundle=first,
                                  detail=problems[first]))
            continue
        bids.append(market_bid(bid_id, bid, book.policy, usable))
        bundles[bid_id] = usable
        if bid.dataset_id:
            dataset = str(bid.dataset_id)
            remaining[dataset] = min(book.budgets[digest], remaining.get(dataset, 2**256))
    return RoundMarket(auction_market(book.asks, book.policy, bids, remaining), bundles,
                       malformed)


def auction_market(asks: list[PostedAsk], policy: ChainPolicy, bids: list[Bid],
                   remaining_budget_micros: dict[str, int] | None = None) -> Market:
    """The auctioneer's market of a round's asks and `bids` under its pinned policy."""
    return Market(items=[market_item(a.item, a.ask) for a in asks],
                  asks=[market_ask(a.item, a.provider, a.ask) for a in asks],
                  bids=bids, policy=policy_from_chain(policy),
                  remaining_budget_micros=remaining_budget_micros or {})


def unusable(items: tuple[int, ...], quantities: tuple[int, ...],
              asks: dict[int, PostedAsk]) -> str | None:
    """Why a revealed bundle can never be filled, if it cannot: the chain fills no bundle that
    spans two providers (one provider's enclave runs the job) and no more units than an ask
    offers, but it accepts both at reveal, before it knows which fills will be asked for."""
    providers = sorted({asks[item].provider for item in items})
    if len(providers) > 1:
        return f"its items are offered by {len(providers)} providers ({', '.join(providers)})"
    for item, quantity in zip(items, quantities, strict=True):
        if quantity > asks[item].ask.capacity:
            return f"needs {quantity} units of item {item}, which offers {asks[item].ask.capacity}"
    return None
