"""What providers and buyers send to a round: asks, sealed bids, reveals, cancellations and
withdrawals. Each is checked against the chain before anything is sent; a failing check
raises MarketError naming the field. A signed bid is kept under $RCM_HOME until it is
revealed: without it (its bundles and salt) the commitment cannot be opened. It is saved before
its commit is sent and removed again if the commit never left the wallet (Ctrl-C included), so
the store holds the bids that were sent, and perhaps one whose commit was cut off in flight:
`reveal` and `cancel` act only on saved bids the chain shows committed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chain.amounts import amount_text, epsilon_text, grouped
from chain.bid import Bid as ChainBid
from chain.bid import Bundle as ChainBundle
from chain.bid import bid_args, bid_digest, bid_domain, envelope_hash, sign_bid, terms_args
from chain.clearing_house import BidRecord, Round, credit_micro_usd, phase_of, refund_micro_usd
from chain.config import rcm_home
from chain.erc20 import allowance, balance_of
from chain.errors import InsufficientBond, InsufficientStake
from chain.ledger import (
    Dataset,
    held_micro_epsilon,
    is_consented,
    registered_categories,
    reserved_delta_atto,
)
from chain.policy import Rules
from chain.settlement import MAX_STAKE_WEI, Phase, Status
from chain.settlement import Ask as ChainAsk
from chain.vault import VaultBalance, stake_to_lock_wei
from market.eligibility import Usage, bid_loss, bundle_loss
from market.errors import MarketError
from market.interrupt import deferred
from market.onchain import AskFile, BidEntry, BidFile, market_bid
from market.readers import read_json_file
from market.result import Loss, LossReason
from market.round_book import (
    auction_market,
    parse_digest,
    posted_asks,
    read_policy,
    require_phase,
    require_round,
    unusable,
)
from market.rubrics import round_rubric
from risk.assess import Assessment, assess
from risk.declaration import Declaration, declaration_hash
from risk.errors import DeclarationError
from risk.rubric import Rubric

if TYPE_CHECKING:
    from chain.contract import Receipt
    from chain.signer import Signer
    from chain.system import System

Earlier = list[tuple[ChainBid, int]]
"""The bids before one in the same list, which commit first, with the stake each locks."""


def read_asks(path: Path) -> list[ChainAsk]:
    return [entry.to_chain() for entry in read_json_file(path, AskFile).asks]


def read_bids(path: Path) -> list[BidEntry]:
    """A bid file's bids, a declaration named by path read from the file's directory."""
    return read_json_file(path, BidFile).relative_to(path.parent).bids


def post_asks(system: System, provider: Signer, round_id: int, asks: list[ChainAsk]
              ) -> Receipt:
    """Posts the provider's asks, once its free bond covers what the round's policy locks per
    unit offered and its item slots are within the policy's cap."""
    house = system.clearing_house
    state = _require_phase(system, round_id, Phase.COMMIT, "post asks")
    rates = _rules(system, state).rates
    needed = sum(ask.capacity for ask in asks) * rates.provider_bond_per_unit_wei
    bonded = VaultBalance.read(system.vault, provider.address).bonded_wei
    if bonded < needed:
        per_unit = amount_text(rates.provider_bond_per_unit_wei, "cst")
        raise InsufficientBond(f"these asks lock {amount_text(needed, 'cst')} CST of bond for the "
                               f"round ({per_unit} per unit offered); "
                               f"{provider.address} has {amount_text(bonded, 'cst')} free")
    call = house.functions.postAsks(round_id, [ask.as_args() for ask in asks])
    return system.chain.send(call, provider)


@dataclass(frozen=True)
class Placed:
    digest: bytes
    deposit_micro_usd: int
    stake_wei: int
    receipt: Receipt


@dataclass(frozen=True)
class Verdict:
    """A bid checked and neither signed nor sent: the score it stakes for, what committing it
    would lock, and why it would be refused if it would be."""

    risk_bps: int
    score_bps: int  # the round's rubric's score of the bid's declaration
    deposit_micro_usd: int
    stake_wei: int
    refusal: MarketError | InsufficientStake | None


@dataclass(frozen=True)
class _Checked:
    bid: ChainBid
    stake_wei: int
    score_bps: int
    refusal: MarketError | InsufficientStake | None


def check_bids(system: System, bidder: str, round_id: int, entries: list[BidEntry]
               ) -> list[Verdict]:
    """Every check `place_bids` makes before it signs, bid by bid. A round that takes no bids
    now raises: there is nothing to lock."""
    return [Verdict(c.bid.risk_bps, c.score_bps, c.bid.max_value_micro_usd, c.stake_wei,
                    c.refusal) for c in _checked(system, bidder, round_id, entries)]


def place_bids(system: System, bidder: Signer, round_id: int, entries: list[BidEntry]
               ) -> list[Placed]:
    """Signs each bid, saves it, and commits to it: the deposit, stake and ε in one call. The
    bids are sent all or none: the first refusal among them is raised before any is signed."""
    checked = _checked(system, bidder.address, round_id, entries)
    refusal = next((c.refusal for c in checked if c.refusal is not None), None)
    if refusal is not None:
        raise refusal
    return [_commit(system, bidder, c.bid, c.stake_wei) for c in checked]


def place_bid(system: System, bidder: Signer, round_id: int, entry: BidEntry) -> Placed:
    return place_bids(system, bidder, round_id, [entry])[0]


def _checked(system: System, bidder: str, round_id: int, entries: list[BidEntry]
             ) -> list[_Checked]:
    """Each bid as it would be signed, at the score the round's rubric gives its declaration,
    the stake it locks, and why it would be refused: alone in the round, and short of funds
    once the bids before it have taken theirs."""
    state = _require_phase(system, round_id, Phase.COMMIT, "bid")
    rules = _rules(system, state)
    rubric = round_rubric(system, state.policy_id, round_id)
    categories = registered_categories(system)
    checked: list[_Checked] = []
    for index, entry in enumerate(entries):
        field = f"bids[{index}]"
        declaration = _declaration(entry, field)
        score = assess(declaration, rubric)
        risk_bps = score.risk_bps if entry.risk_bps is None else entry.risk_bps
        bid = entry.to_chain(round_id, bidder, secrets.randbits(64), risk_bps,
                             declaration_hash(declaration))
        stake = _stake_wei(system, bid)
        earlier = [(before.bid, before.stake_wei) for before in checked]
        try:
            _check_risk(entry, declaration, score, rubric, rules, bid, field)
            _check_data(declaration, categories.get(bid.dataset_id, frozenset()), field)
            _check(system, state, entry, bid, stake, field, earlier)
        except (MarketError, InsufficientStake) as refusal:
            checked.append(_Checked(bid, stake, score.risk_bps, refusal))
        else:
            checked.append(_Checked(bid, stake, score.risk_bps, None))
    return checked


def _commit(system: System, bidder: Signer, bid: ChainBid, stake: int) -> Placed:
    house = system.clearing_house
    domain = bid_domain(system.chain.chain_id, house.address)
    # The deposit comes from the bidder's credit first (refunds left in the clearing house,
    # or `deposit`), the rest from its wallet.
    shortfall = max(bid.max_value_micro_usd - credit_micro_usd(house, bidder.address), 0)
    token = system.payment_token
    if shortfall and allowance(token, bidder.address, house.address) < shortfall:
        system.chain.send(token.functions.approve(house.address, shortfall), bidder)
    with _saved_unless_unsent(system, bidder, bid, sign_bid(bidder, domain, bid)):
        receipt = system.chain.send(house.functions.commit(terms_args(bid), envelope_hash(bid)),
                                    bidder)
    return Placed(bid_digest(domain, bid), bid.max_value_micro_usd, stake, receipt)


def reveal(system: System, sender: Signer, round_id: int) -> list[tuple[bytes, Receipt]]:
    """Reveals the sender's saved bids of the round that are still only committed."""
    _require_phase(system, round_id, Phase.REVEAL, "reveal")
    pending = _committed(system, sender, round_id)
    if not pending:
        raise MarketError(f"no committed bid of {sender.address} in round {round_id} "
                          "is waiting to be revealed", field="round_id")
    house = system.clearing_house
    return [(digest, system.chain.send(house.functions.reveal(bid_args(bid), signature), sender))
            for digest, bid, signature in pending]


def cancel(system: System, sender: Signer, round_id: int, digest: str | None
           ) -> list[tuple[bytes, Receipt]]:
    """Cancels the sender's committed bids of the round (or the one `digest` names)."""
    _require_phase(system, round_id, Phase.COMMIT, "cancel")
    wanted = parse_digest(digest) if digest else None
    mine = [(d, bid) for d, bid, _ in _committed(system, sender, round_id) if wanted in (None, d)]
    if not mine:
        what = f"bid {digest}" if digest else f"bid of {sender.address} in round {round_id}"
        raise MarketError(f"no committed {what} saved on this machine", field="digest")
    house = system.clearing_house
    return [(d, system.chain.send(house.functions.cancel(terms_args(bid), envelope_hash(bid)),
                                  sender)) for d, bid in mine]


def owed(system: System, address: str) -> tuple[int, list[bytes]]:
    """What the rounds owe `address`: its credit (proceeds, refunds by fault) and its bids'
    records that owe it money (losers' deposits, winners' change, cancelled bids)."""
    from chain.events import events

    house = system.clearing_house
    refunds = {bytes(e.args["digest"]): refund_micro_usd(house, e.args["digest"])
               for e in events(system, house, "Committed", bidder=address)}
    bids = [digest for digest, amount in refunds.items() if amount]
    return credit_micro_usd(house, address) + sum(refunds.values()), bids


def withdraw_owed(system: System, account: Signer, bids: list[bytes]) -> Receipt:
    return system.chain.send(system.clearing_house.functions.withdraw(bids), account)


# ---- the saved bids ----


def _committed(system: System, sender: Signer, round_id: int
               ) -> list[tuple[bytes, ChainBid, bytes]]:
    """The sender's saved bids of the round whose records are still only committed."""
    return [(digest, bid, signature) for digest, bid, signature in saved_bids(system)
            if bid.round_id == round_id and bid.bidder == sender.address
            and BidRecord.read(system.clearing_house, digest).status is Status.COMMITTED]


def _store(system: System) -> Path:
    house = system.clearing_house.address.lower()
    return rcm_home() / "bids" / f"{system.chain.chain_id}-{house}"


@contextmanager
def _saved_unless_unsent(system: System, bidder: Signer, bid: ChainBid, signature: bytes
                         ) -> Iterator[None]:
    """The bid saved before the block sends its commit (a commitment nobody can open forfeits
    its deposit), and removed if the block fails before the commit left the wallet: its
    pending nonce has not moved."""
    nonce = system.chain.pending_nonce(bidder.address)
    path = save_bid(system, bid, signature)
    try:
        yield
    except BaseException:
        if system.chain.pending_nonce(bidder.address) == nonce:
            path.unlink()
        raise


def save_bid(system: System, bid: ChainBid, signature: bytes) -> Path:
    domain = bid_domain(system.chain.chain_id, system.clearing_house.address)
    path = _store(system) / f"{bid_digest(domain, bid).hex()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"bid": asdict(bid), "signature": signature}
    temporary = path.with_suffix(".tmp")
    with deferred():  # a Ctrl-C leaves the bid saved whole or not at all
        temporary.write_text(json.dumps(document, default=_hex, indent=1))
        temporary.replace(path)
    return path


def saved_bids(system: System) -> list[tuple[bytes, ChainBid, bytes]]:
    store = _store(system)
    found = []
    for path in sorted(store.glob("*.json")) if store.exists() else []:
        document = json.loads(path.read_text())
        raw = document["bid"]
        bundles = tuple(ChainBundle(tuple(b["items"]), tuple(b["quantities"]),
                                    b["value_micro_usd"]) for b in raw.pop("bundles"))
        hashes = {name: bytes.fromhex(raw[name])
                  for name in ("declaration_hash", "purpose", "salt")}
        bid = ChainBid(**{**raw, **hashes, "bundles": bundles})
        found.append((bytes.fromhex(path.stem), bid, bytes.fromhex(document["signature"])))
    return found


# ---- checks ----


def _require_phase(system: System, round_id: int, phase: Phase, action: str) -> Round:
    """The round, once it is in `phase`."""
    house = system.clearing_house
    require_round(system, round_id, "round_id")
    state = Round.read(house, round_id)
    require_phase(round_id, state, phase_of(house, round_id), phase, action, "round_id")
    return state


def _rules(system: System, state: Round) -> Rules:
    """The rules the round pinned: its policy's, which the registry never changes."""
    return Rules.read(system.policies, state.policy_id)


def _declaration(entry: BidEntry, field: str) -> Declaration:
    try:
        return entry.read_declaration()
    except DeclarationError as exc:
        inner = "" if exc.field in (None, "declaration") else f".{exc.field}"
        raise MarketError(exc.reason, field=f"{field}.declaration{inner}") from None


def _check_risk(entry: BidEntry, declaration: Declaration, score: Assessment, rubric: Rubric,
                rules: Rules, bid: ChainBid, field: str) -> None:
    """The declaration is this bid's, the rubric allows the job, and the bid stakes for at
    least its score, inside the round's bands: the chain cannot run the rubric, so the client
    refuses an understated bid before signing it (the oracle checks what ran)."""
    if declaration.purpose != entry.purpose:
        raise MarketError(f"{declaration.purpose!r} is not the bid's purpose {entry.purpose!r}",
                          field=f"{field}.declaration.purpose")
    ineligible = score.ineligibility(rubric)
    if ineligible:
        raise MarketError(ineligible, field=f"{field}.declaration.practices")
    if bid.risk_bps < score.risk_bps:
        raise MarketError(f"below the rubric's score {score.risk_bps}", field=f"{field}.risk_bps")
    lowest = rules.band_min_bps[0]
    if rules.band_of(bid.risk_bps) is None:
        raise MarketError(f"{bid.risk_bps} is below the round's lowest risk band ({lowest}): "
                          f"state at least {lowest}", field=f"{field}.risk_bps")


def _check_data(declaration: Declaration, registered: frozenset[str], field: str) -> None:
    undeclared = declaration.undeclared_data(registered)
    if undeclared:
        raise MarketError(undeclared, field=f"{field}.declaration.data_categories")


def _stake_wei(system: System, bid: ChainBid) -> int:
    return stake_to_lock_wei(system.vault, bid.bidder, bid.risk_bps, bid.max_value_micro_usd)


def _check(system: System, state: Round, entry: BidEntry, bid: ChainBid, stake_wei: int,
           field: str, earlier: Earlier) -> None:
    _check_items(bid, state, field)
    _check_winnable(system, state, entry, bid, field)
    _check_funds(system, bid, stake_wei, field, earlier)


def _check_items(bid: ChainBid, state: Round, field: str) -> None:
    """Every item one the round has: the chain refuses the reveal of any other, and the bid
    forfeits."""
    for number, bundle in enumerate(bid.bundles):
        unknown = [item for item in bundle.items if item >= state.item_count]
        if unknown:
            raise MarketError(f"round {bid.round_id} has no item {unknown[0]} (it has "
                              f"{state.item_count})", field=f"{field}.bundles[{number}].items")


def _check_winnable(system: System, state: Round, entry: BidEntry, bid: ChainBid, field: str
                    ) -> None:
    """The bid as the auctioneer will read it from the round, refused with the first reason
    the auctioneer gives (market/round_book.py, market/eligibility.py) that it, or one of its
    bundles, could not be filled even alone in the round: committed, it would lock its
    deposit, stake and ε until the round is final for nothing. A bundle that can never be
    filled is refused even beside one that can: it is a mistake, and may set the deposit."""
    asks = posted_asks(system, bid.round_id)
    by_item = {ask.item: ask for ask in asks}
    for number, bundle in enumerate(bid.bundles):
        problem = unusable(bundle.items, bundle.quantities, by_item)
        if problem:
            raise _cannot_win(LossReason.MALFORMED, problem, f"{field}.bundles[{number}].items")
    policy = read_policy(system, state.policy_id)
    # The purpose by the name the buyer gave, which the chain keeps only as a hash.
    model = market_bid("bid", bid, policy).model_copy(update={"purpose": entry.purpose})
    market = auction_market(asks, policy, [model])
    empty = Usage(market)
    losses = [bid_loss(market, model, state.deadlines.reveal_timestamp),
              *(bundle_loss(market, model, number, empty) for number in range(len(bid.bundles)))]
    loss = next((loss for loss in losses if loss is not None), None)
    if loss is not None:
        raise _cannot_win(loss.reason, loss.detail, _field_of(loss, field))


def _field_of(loss: Loss, field: str) -> str:
    """The entry field a loss is about: a term of the bid, or a bundle's value or items."""
    if loss.bundle is None:
        return f"{field}.{'expiry' if loss.reason is LossReason.EXPIRED else 'epsilon_micros'}"
    bundle = f"{field}.bundles[{loss.bundle}]"
    if loss.reason is LossReason.BELOW_RESERVE:
        return f"{bundle}.value"
    return f"{bundle}.items" + (f".{loss.item}" if loss.item else "")


def _cannot_win(reason: LossReason, detail: str, field: str) -> MarketError:
    return MarketError(f"can never win ({reason}): {detail}", field=field)


def _check_funds(system: System, bid: ChainBid, stake: int, field: str, earlier: Earlier
                 ) -> None:
    """The deposit, the stake and the ε the commitment will take, each there in full once the
    bids `earlier` in the same list, which commit first, have taken theirs."""
    bidder, deposit = bid.bidder, bid.max_value_micro_usd
    usd = (balance_of(system.payment_token, bidder)
           + credit_micro_usd(system.clearing_house, bidder))
    deposits = deposit + sum(before.max_value_micro_usd for before, _ in earlier)
    if usd < deposits:
        needed = _with_earlier(f"{amount_text(deposit, 'usd')} USD",
                               f"{amount_text(deposits, 'usd')} USD")
        raise MarketError(f"the deposit (the largest bundle value, {needed}) exceeds the "
                          f"{amount_text(usd, 'usd')} USD of the wallet and its credit",
                          field=f"{field}.bundles")
    if stake > MAX_STAKE_WEI:
        raise MarketError(f"the bid's stake, {amount_text(stake, 'cst')} CST, is above "
                          f"the {grouped(MAX_STAKE_WEI, 'cst', 0)} CST one record can hold",
                          field=f"{field}.bundles")
    free = VaultBalance.read(system.vault, bidder).free_wei
    stakes = stake + sum(locked for _, locked in earlier)
    if stakes > free:
        needed = _with_earlier(f"{amount_text(stake, 'cst')} CST",
                               f"{amount_text(stakes, 'cst')} CST")
        raise InsufficientStake(f"the bid needs {needed} of free stake, {bidder} has "
                                f"{amount_text(free, 'cst')}",
                                field=f"{field}.risk_bps")
    if bid.dataset_id or bid.epsilon_micros:
        _check_budget(system, bid, field, [b for b, _ in earlier if b.dataset_id == bid.dataset_id])


def _with_earlier(own: str, total: str) -> str:
    """An amount, and the total with the bids before it where they add to it."""
    return own if total == own else f"{own}; {total} with the bids before it"


def _check_budget(system: System, bid: ChainBid, field: str, earlier: list[ChainBid]) -> None:
    """The dataset's consent and budgets, once the bids `earlier` on the same dataset have
    reserved their jobs and ε."""
    ledger = system.ledger
    dataset = Dataset.read(ledger, bid.dataset_id)
    if not dataset.registered:
        raise MarketError(f"no dataset {bid.dataset_id:#x} is registered", field=f"{field}.dataset")
    if not is_consented(ledger, bid.dataset_id, bid.purpose):
        raise MarketError(f"dataset {bid.dataset_id:#x} does not consent to it",
        field=f"{field}.purpose")
    cap = dataset.max_delta_atto
    if bid.delta_atto > cap:
        raise MarketError(f"{bid.delta_atto / 1e18:g} is above the dataset's cap "
                          f"{cap / 1e18:g}", field=f"{field}.delta")
    left = (dataset.total_delta_atto - dataset.consumed_delta_atto
            - reserved_delta_atto(ledger, bid.dataset_id) - cap * len(earlier))
    if cap > left:
        after = f" after the {len(earlier)} bids before it" if earlier else ""
        raise MarketError(f"{bid.dataset_id:#x} has {max(left, 0) / 1e18:g} of its δ budget "
                          f"left{after}; every job is charged its cap {cap / 1e18:g}",
                          field=f"{field}.dataset")
    held = held_micro_epsilon(ledger, bid.bidder, bid.dataset_id)
    epsilon = bid.epsilon_micros + sum(before.epsilon_micros for before in earlier)
    if held < epsilon:
        wanted = _with_earlier(f"ε {epsilon_text(bid.epsilon_micros)}",
                               f"ε {epsilon_text(epsilon)}")
        raise MarketError(f"{wanted} exceeds the {epsilon_text(held)} ε of dataset "
                          f"{bid.dataset_id:#x} that {bid.bidder} holds",
                          field=f"{field}.epsilon_micros")


def _hex(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot save {type(value).__name__}")
