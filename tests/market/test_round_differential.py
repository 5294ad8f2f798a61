"""Differential test of a whole round: random books, often bad, sent straight to the chain past
every wallet check. Whatever the chain accepts, the auctioneer reads and clears without raising
and gives every revealed bid a fill or exactly one reason; the chain accepts at `post` and at
`challenge` exactly the allocations the auctioneer's eligibility rules accept (refusing the rest
with the error of a rule they break); and every final payment on chain is the pricing rule's for
the final allocation, between the winner's reserve cost and its value.

The rules are checked here from the auctioneer's model (`market.eligibility`), never from what
the chain says, so a rule the two enforce differently fails the test."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import Phase as Stage
from hypothesis import strategies as st

from chain.bid import Bid as ChainBid
from chain.bid import Bundle as ChainBundle
from chain.bid import (
    bid_args,
    bid_digest,
    bid_domain,
    envelope_hash,
    fill_args,
    purpose_id,
    sign_bid,
    terms_args,
)
from chain.clearing_house import BidRecord, advance_into
from chain.connection import Chain, connect
from chain.contract import Contract, ContractCall, Receipt
from chain.deploy import Parameters, deploy_system
from chain.ledger import dataset_id
from chain.policy import LAUNCH_RATES
from chain.policy_oracle import register
from chain.prices import sign_report
from chain.reverts import Reverted
from chain.settlement import (
    MAX_DEPOSIT_MICRO_USD,
    STAKE_UNIT_WEI,
    Ask,
    Award,
    Deadlines,
    Phase,
    SolverStatus,
    Status,
)
from chain.system import System
from chain.verdict import verdict_domain
from market import settlement
from market.eligibility import Usage, explain_losses, screen
from market.errors import MarketError
from market.model import Bid, Market, Policy, Tier
from market.onchain import market_bid, policy_to_chain
from market.pricing import price
from market.result import Clearing, Fill, PricedClearing
from market.result import Status as SolveStatus
from market.round_book import Book, read_book, round_market
from market.wdp import SolveParams
from tests.support import event_args

CST, USD = 10**18, 10**6
PHASE_SECONDS = 600
# Every rule the chain re-checks is live: tier caps, a total cap, a quarter of every item kept
# for the equity classes, and ε limits per purpose ("analytics" is consented to by the dataset
# but has no limit, so any ε for it is over the policy's).
POLICY = Policy(
    max_epsilon_micros={"diagnostics": 2_000_000},
    tier_risk_caps={Tier.CERTIFIED: 24, Tier.CONFIDENTIAL: 40},
    aggregate_risk_cap=48,
    equity_reservation_bps=2_500,
)
RATES = replace(LAUNCH_RATES, provider_bond_per_unit_wei=CST // 100,
                provider_slash_wei=CST // 100, answer_window_seconds=300, max_extension_seconds=600,
                pricing_window_seconds=600)
PARAMS = SolveParams(time_limit=5.0, workers=1)
DATASET_MICRO_EPSILON = 20_000_000
MAX_DELTA_ATTO = 10**13
TOTAL_DELTA_ATTO = 1_000 * MAX_DELTA_ATTO  # never the binding limit here
GRANT_MICRO_EPSILON = 4_000_000  # to each buyer: more than a purpose's limit
BUYER_USD = 2**52  # room for several deposits of the largest the chain takes
BUYER_STAKE = 10**10 * CST  # room for their stakes at 100 % risk
CHALLENGER_BOND = 20 * RATES.challenger_bond_wei
NODES = sorted((Account.from_key(bytes([0x70 + i]) * 32) for i in range(3)),
               key=lambda node: int(node.address, 16))
REVEAL_PURPOSES = ("diagnostics", "analytics")  # what the dataset consents to
BPS = 10_000
CST_WEI_PER_MICRO_USD = Parameters().cst_wei_per_micro_usd
MAX_STAKE_MILLI_CST = 2**32 - 1  # a record keeps its stake in 32 bits of 10^15 wei
DELTA_ONE_ATTO = 10**18
TIERS = KINDS = EQUITY_CLASSES = 3


@dataclass
class Deployment:
    system: System
    auctioneer: LocalAccount  # also the regulator and the treasury
    providers: list[LocalAccount]
    buyers: list[LocalAccount]
    challenger: LocalAccount
    dataset: int
    config_digest: bytes

    @property
    def chain(self) -> Chain:
        return self.system.chain


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    """Deployed under POLICY, a 2-of-3 oracle set, two bonded providers, a bonded challenger,
    four buyers with USD, CST stake and ε of a dataset that consents to diagnostics and
    analytics, each buyer's USD approved to the clearing house once."""
    chain = connect()
    auctioneer, first, second, owner, challenger, *buyers = (chain.dev_account(i)
                                                              for i in range(9))
    chain.w3.eth.default_account = auctioneer.address  # view calls: no accounts lookup each
    system = deploy_system(chain, auctioneer, policy=policy_to_chain(POLICY, RATES))
    house, ledger, vault, cst = (system.clearing_house, system.ledger, system.vault, system.cst)
    config_digest = register(system, auctioneer, [n.address for n in NODES], 2)
    for account, bonded in ((auctioneer, 10 * RATES.auctioneer_bond_wei), (first, 10 * CST),
                            (second, 10 * CST), (challenger, CHALLENGER_BOND)):
        chain.send(cst.functions.mint(account.address, bonded), auctioneer)
        chain.send(cst.functions.approve(vault.address, bonded), account)
        chain.send(vault.functions.bond(bonded), account)
    content = b"\x21" * 32
    chain.send(ledger.functions.register(content, DATASET_MICRO_EPSILON, MAX_DELTA_ATTO,
                                         TOTAL_DELTA_ATTO,
                                         [purpose_id(p) for p in REVEAL_PURPOSES], 0), owner)
    dataset = dataset_id(owner.address, content)
    for buyer in buyers:
        chain.send(cst.functions.mint(buyer.address, BUYER_STAKE), auctioneer)
        chain.send(cst.functions.approve(vault.address, BUYER_STAKE), buyer)
        chain.send(vault.functions.stake(BUYER_STAKE), buyer)
        chain.send(system.usd.functions.mint(buyer.address, BUYER_USD), auctioneer)
        chain.send(system.usd.functions.approve(house.address, BUYER_USD), buyer)
        chain.send(ledger.functions.safeTransferFrom(owner.address, buyer.address, dataset,
                                                     GRANT_MICRO_EPSILON, b""), owner)
    return Deployment(system, auctioneer, [first, second], buyers, challenger, dataset,
                      config_digest)


# ---- what is drawn: asks and bids, often bad ----
#
# Each ask, bundle and bid carries at most one flaw, so that a round mixes usable orders with
# bad ones rather than refusing nearly everything.

SLOT_TIMESTAMP = 2_000_000_000
ASK_FLAWS = ("zero capacity", "unknown tier", "unknown kind")
# The first four are refused at reveal; the two that make a bundle unusable come twice as
# often. A huge value is refused at commit unless the bid's stake fits its record.
BUNDLE_FLAWS = ("zero quantity", "item past the round's", "items out of order", "item twice",
                "more units than offered", "more units than offered", "two providers' items",
                "two providers' items", "huge value", "the largest deposit")
HUGE_MICRO_USD = 40_000_000 * USD  # at the lowest band, a stake of 4M CST: it fits
BID_FLAWS = ("expired", "no deposit", "deposit above the maximum", "risk 0",
             "risk below the bands", "risk above 100 %", "unknown equity class", "δ of 1",
             "δ above the dataset's cap", "ε over its purpose's limit",
             "ε for a purpose with no limit", "a purpose the dataset refuses",
             "ε without a dataset")


def flaw(flaws: tuple[str, ...], clean: int) -> st.SearchStrategy[str | None]:
    """One of `flaws`, or none `clean` times in `clean + len(flaws)`."""
    return st.sampled_from([None] * clean + list(flaws))


@st.composite
def asks(draw: st.DrawFn) -> list[Ask]:
    """A provider's asks."""
    offered = []
    for _ in range(draw(st.integers(1, 3))):
        flawed = draw(flaw(ASK_FLAWS, 12))
        offered.append(Ask(
            kind=KINDS if flawed == "unknown kind" else draw(st.sampled_from([0, 0, 1, 2])),
            region="euw1", unit="unit", slot_start_timestamp=SLOT_TIMESTAMP, slot_seconds=604_800,
            tier=TIERS if flawed == "unknown tier" else draw(st.sampled_from([0, 1, 1, 2, 2])),
            capacity=0 if flawed == "zero capacity" else draw(st.sampled_from([2, 4, 8, 12])),
            reserve_price_micro_usd=draw(st.sampled_from([0, 1, 5, 10, 20])) * USD))
    return offered


def ask_refusals(offered: list[Ask]) -> set[str]:
    """The errors `postAsks` may refuse the whole list with: none when every ask is usable."""
    refusals = set()
    for ask in offered:
        if ask.capacity == 0:
            refusals.add("ZeroCapacity")
        if ask.tier >= TIERS or ask.kind >= KINDS:
            refusals.add("UnknownCode")
    return refusals


Items = list[tuple[int, Ask]]  # the round's items in order: (provider number, ask)


@st.composite
def bundles(draw: st.DrawFn, items: Items, sure: bool = False) -> ChainBundle:
    """Up to three items of one provider, within their capacities, worth about their reserve
    cost; or a bundle with one flaw. A sure bundle has no flaw and is worth more than its
    reserve cost."""
    flawed = None if sure else draw(flaw(BUNDLE_FLAWS, 20))
    providers = sorted({p for p, _ in items})
    if not providers:
        return ChainBundle((0,), (1,), draw(st.integers(1, 250 * USD)))
    provider = draw(st.sampled_from(providers))
    own = [i for i, (p, _) in enumerate(items) if p == provider]
    chosen = sorted(draw(st.lists(st.sampled_from(own), min_size=1, max_size=3, unique=True)))
    quantities = [draw(st.integers(1, min(5, items[i][1].capacity))) for i in chosen]
    reserve = sum(q * items[i][1].reserve_price_micro_usd for i, q in zip(chosen, quantities,
                                                                         strict=True))
    markups = [15, 20, 30] if sure else [9, 10, 15, 20, 30]  # tenths of the reserve cost
    value = reserve * draw(st.sampled_from(markups)) // 10 + draw(st.integers(1, 40 * USD))
    others = [i for i, (p, _) in enumerate(items) if p != provider]
    if flawed == "zero quantity":
        quantities[-1] = 0
    elif flawed == "item past the round's":
        chosen, quantities = [*chosen, len(items)], [*quantities, 1]
    elif flawed == "items out of order" and len(chosen) > 1:
        chosen.reverse()
    elif flawed in ("item twice", "items out of order"):
        chosen, quantities = [*chosen, chosen[-1]], [*quantities, 1]
    elif flawed == "more units than offered":
        quantities[0] = items[chosen[0]][1].capacity + 1
    elif flawed == "two providers' items" and others:
        extra = draw(st.sampled_from(others))
        pairs = sorted([*zip(chosen, quantities, strict=True), (extra, 1)])
        chosen, quantities = [i for i, _ in pairs], [q for _, q in pairs]
    elif flawed == "huge value":
        value = HUGE_MICRO_USD
    elif flawed == "the largest deposit":
        value = MAX_DEPOSIT_MICRO_USD
    return ChainBundle(tuple(chosen), tuple(quantities), value)


@dataclass(frozen=True)
class Terms:
    """A bid's terms before its bidder and round are known."""

    bundles: tuple[ChainBundle, ...]
    max_value_micro_usd: int
    risk_bps: int
    equity_class: int
    delta_atto: int
    uses_dataset: bool
    purpose: str
    epsilon_micros: int
    expiry_offset: int  # from the round's clearing time; negative: expired by then
    revealed: bool
    flaw: str | None


@st.composite
def terms(draw: st.DrawFn, items: Items, sure: bool = False) -> Terms:
    """A bid of one to three bundles, valid or with one flaw in its terms; one in ten is never
    revealed. A sure bid is one every rule lets win on its own: no flaw, revealed, low risk
    (every tier), of an equity class (no reservation), its bundles worth more than their
    reserve cost."""
    flawed = None if sure else draw(flaw(BID_FLAWS, 30))
    count = draw(st.sampled_from([1, 1, 2, 3]))
    envelope = tuple(draw(bundles(items, sure)) for _ in range(count))
    uses_dataset, purpose, epsilon = draw(st.sampled_from([
        (False, "general", 0), (False, "general", 0), (True, "diagnostics", 250_000),
        (True, "diagnostics", POLICY.max_epsilon_micros["diagnostics"])]))
    if flawed == "no deposit":
        envelope = tuple(replace(b, value_micro_usd=0) for b in envelope)
    deposit = max(b.value_micro_usd for b in envelope)
    overrides: dict[str, Any] = {
        "expired": {"expiry_offset": -1},
        "deposit above the maximum": {"max_value_micro_usd": MAX_DEPOSIT_MICRO_USD + 1},
        "risk 0": {"risk_bps": 0},
        "risk below the bands": {"risk_bps": min(POLICY.risk_band_bps.values()) - 1},
        "risk above 100 %": {"risk_bps": BPS + 1},
        "unknown equity class": {"equity_class": EQUITY_CLASSES},
        "δ of 1": {"delta_atto": DELTA_ONE_ATTO},
        "δ above the dataset's cap": {"uses_dataset": True, "purpose": "diagnostics",
                                      "epsilon_micros": 250_000,
                                      "delta_atto": MAX_DELTA_ATTO + 1},
        "ε over its purpose's limit": {
            "uses_dataset": True, "purpose": "diagnostics",
            "epsilon_micros": POLICY.max_epsilon_micros["diagnostics"] + 1},
        "ε for a purpose with no limit": {"uses_dataset": True, "purpose": "analytics",
                                          "epsilon_micros": 100_000},
        "a purpose the dataset refuses": {"uses_dataset": True, "purpose": "general",
                                          "epsilon_micros": 100_000},
        "ε without a dataset": {"uses_dataset": False, "epsilon_micros": 1},
    }.get(flawed, {})
    low = [1_000, 2_000, 2_999]
    drawn = Terms(
        bundles=envelope, max_value_micro_usd=deposit,
        risk_bps=draw(st.sampled_from(low if sure else [*low, 1_000, 3_000, 4_500, 6_000, BPS])),
        equity_class=draw(st.sampled_from([1, 2] if sure else [0, 0, 1, 2])),
        delta_atto=draw(st.sampled_from([0, 10**12])), uses_dataset=uses_dataset,
        purpose=purpose, epsilon_micros=epsilon,
        # at the clearing time itself a bid is still valid
        expiry_offset=draw(st.sampled_from([2**40, 2**40, 0])),
        revealed=sure or draw(st.sampled_from([True] * 9 + [False])), flaw=flawed)
    return replace(drawn, **overrides)


# ---- what the chain must refuse, derived from the terms and the model ----


def commit_refusals(bid: ChainBid, clearing_time: int, dataset: int, held_micros: int
                    ) -> set[str]:
    """The errors a commitment may be refused with: the round's checks of the terms, then the
    ledger's on a bid that uses private data (the stake and the deposit are always there)."""
    refusals = set()
    if bid.expiry_timestamp < clearing_time:
        refusals.add("BidExpired")
    if bid.max_value_micro_usd == 0:
        refusals.add("ZeroAmount")
    if bid.max_value_micro_usd > MAX_DEPOSIT_MICRO_USD:
        refusals.add("DepositAboveMax")
    if not min(POLICY.risk_band_bps.values()) <= bid.risk_bps <= BPS:
        refusals.add("RiskOutsideBands")
    elif -(-stake_wei(bid) // STAKE_UNIT_WEI) > MAX_STAKE_MILLI_CST:
        refusals.add("StakeAboveMax")
    if bid.equity_class >= EQUITY_CLASSES:
        refusals.add("UnknownCode")
    if bid.delta_atto >= DELTA_ONE_ATTO:
        refusals.add("DeltaNotBelowOne")
    if bid.dataset_id or bid.epsilon_micros:
        if bid.dataset_id != dataset:
            refusals.add("UnknownDataset")
        elif bid.purpose not in {purpose_id(p) for p in REVEAL_PURPOSES}:
            refusals.add("PurposeNotConsented")
        elif bid.delta_atto > MAX_DELTA_ATTO:
            refusals.add("DeltaAboveCap")
        elif bid.epsilon_micros > held_micros:
            refusals.add("ERC1155InsufficientBalance")
    return refusals


def stake_wei(bid: ChainBid) -> int:
    """`SafetyVault.requiredStake` for a buyer with no reputation discount: the deposit's
    share at risk, in CST at one per USD."""
    return bid.max_value_micro_usd * bid.risk_bps // BPS * CST_WEI_PER_MICRO_USD


def reveal_refusals(bid: ChainBid, item_count: int) -> set[str]:
    """The errors a reveal may be refused with: ε over its purpose's limit, a bundle whose items
    are not strictly ascending or have a zero quantity, an item past the round's."""
    refusals = set()
    limits = {purpose_id(p): limit for p, limit in POLICY.max_epsilon_micros.items()}
    if bid.epsilon_micros > limits.get(bid.purpose, 0):
        refusals.add("EpsilonAboveLimit")
    for bundle in bid.bundles:
        ascending = all(a < b for a, b in zip(bundle.items, bundle.items[1:], strict=False))
        if not ascending or 0 in bundle.quantities:
            refusals.add("MalformedBundle")
        elif bundle.items[-1] >= item_count:
            refusals.add("UnknownItem")
    return refusals


Choice = list[tuple[str, int]]  # (bid id, the chain's bundle index), one per bid


def model_bids(book: Book) -> dict[str, Bid]:
    """Every revealed bid as the auctioneer's model reads it, every bundle kept in the chain's
    numbering, usable or not."""
    return {"0x" + d.hex(): market_bid("0x" + d.hex(), bid, book.policy)
            for d, bid in book.revealed.items()}


def rule_refusals(market: Market, bids: dict[str, Bid], choice: Choice) -> set[str]:
    """The errors the auctioneer's rules say an allocation must be refused with: a bundle of two
    providers' items, an item of a tier its risk may not use, a value under its reserve cost,
    and (as `Usage` tallies the whole allocation) an item over its capacity or into its equity
    reservation, a risk load over a cap. None: the allocation is the rules' to accept."""
    policy, empty, usage = market.policy, Usage(market), Usage(market)
    provider = {ask.item: ask.provider for ask in market.asks}
    refusals = set()
    for bid_id, number in choice:
        bid = bids[bid_id]
        bundle = bid.bundles[number]
        if len({provider[item] for item in bundle.items}) > 1:
            refusals.add("MixedProviders")
        allowed = policy.allowed_tiers.get(market.rating(bid), [])
        if any(market.item_by_id[item].tier not in allowed for item in bundle.items):
            refusals.add("TierNotAllowed")
        if bundle.value < empty.marginal_cost(bundle):
            refusals.add("BelowReserve")
        usage.add(bid, bundle)
    capacity = market.capacity
    if any(units > capacity[item] for item, units in usage.units.items()):
        refusals.add("OverAllocated")
    if any(units > capacity[item] - policy.reserved_units(capacity[item])
           for item, units in usage.unreserved_units.items()):
        refusals.add("ReservationBreached")
    over_total = (policy.aggregate_risk_cap is not None
                  and usage.total_load > policy.aggregate_risk_cap)
    if over_total or any(usage.tier_load[tier] > cap
                         for tier, cap in policy.tier_risk_caps.items()):
        refusals.add("RiskCapExceeded")
    return refusals


def welfare(market: Market, bids: dict[str, Bid], choice: Choice) -> int:
    """Value less reserve cost: one ask per item, so each unit costs its ask's reserve."""
    empty = Usage(market)
    return sum(bids[b].bundles[k].value - empty.marginal_cost(bids[b].bundles[k])
               for b, k in choice)


def needed_to_replace(standing_micro_usd: int) -> int:
    step = standing_micro_usd * RATES.min_improvement_bps // BPS
    return standing_micro_usd + max(step, 1)


def assert_the_rules_accept(book: Book, choice: Choice) -> None:
    """An allocation the chain accepted: every bundle eligible under `screen` and the whole
    within capacity, the equity reservation and the risk caps."""
    rm = round_market(book)
    screening = screen(rm.market, book.clearing_time)
    index = {bid.id: number for number, bid in enumerate(rm.market.bids)}
    for bid_id, chain_bundle in choice:
        assert bid_id in index, f"{bid_id} filled, but the auctioneer reads it as malformed"
        assert chain_bundle in rm.bundles[bid_id], f"{bid_id}'s bundle {chain_bundle} filled"
        assert rm.model_bundle(bid_id, chain_bundle) in screening.eligible.get(index[bid_id], [])
    assert rule_refusals(rm.market, model_bids(book), choice) == set()


def pricing_rule(book: Book, choice: Choice) -> dict[str, int]:
    """What the Ethical Pricing Function charges each winner of `choice` in the round's model,
    the losers' reasons explained against it; winners listed in the model's bid order."""
    rm = round_market(book)
    market, at = rm.market, book.clearing_time
    order = {bid.id: number for number, bid in enumerate(market.bids)}
    filled = {order[b]: rm.model_bundle(b, k) for b, k in choice}
    allocation = [Fill(bid=market.bids[i].id, bundle=k, items=market.bids[i].bundles[k].items)
                  for i, k in sorted(filled.items())]
    net = welfare(market, {bid.id: bid for bid in market.bids},
                  [(f.bid, f.bundle) for f in allocation])
    clearing = Clearing(allocation=allocation,
                        losing=explain_losses(market, screen(market, at), filled),
                        welfare=net, bound=net, gap=0.0, status=SolveStatus.FEASIBLE, seconds=0.0)
    return {p.winner: p.total for p in price(market, clearing, at).payments}


# ---- talking to the chain ----


def outcome(chain: Chain, call: ContractCall, sender: LocalAccount) -> Receipt | Reverted:
    """Sends `call`: its receipt, or the chain's refusal (then nothing was sent)."""
    try:
        return chain.send(call, sender)
    except Reverted as refused:
        return refused


def dry_run(chain: Chain, call: ContractCall, sender: LocalAccount
            ) -> Receipt | Reverted:
    """The chain's verdict on `call` without its effects: sent, then undone."""
    snapshot = chain.snapshot()
    try:
        return outcome(chain, call, sender)
    finally:
        chain.revert_to(snapshot)


def expect(verdict: Receipt | Reverted, refusals: set[str], step: str,
           tally: Counter[str]) -> bool:
    """The chain refused with one of `refusals`, or accepted when there are none; whether it
    accepted."""
    refused = verdict if isinstance(verdict, Reverted) else None
    if refusals:
        assert refused is not None, f"{step}: accepted, but the rules refuse it: {refusals}"
        assert refused.name in refusals, f"{step}: {refused}, expected one of {refusals}"
    else:
        assert refused is None, f"{step}: {refused}, but no rule refuses it"
    tally[f"{step} {'refused' if refused else 'accepted'}"] += 1
    if refused:
        tally[f"{step} refused: {refused.name}"] += 1
    return refused is None


def fills(book: Book, choice: Choice) -> list[tuple[Any, ...]]:
    ordered = sorted((bytes.fromhex(b[2:]), k) for b, k in choice)
    return [fill_args(book.revealed[digest], k) for digest, k in ordered]


def awarded(house: Contract, receipts: list[Receipt]) -> Choice:
    """The fills a result's batches hold, from the `BatchPosted` events of its receipts."""
    return [("0x" + a.bid_digest.hex(), a.bundle_index)
            for receipt in receipts for batch in event_args(house, receipt, "BatchPosted")
            for a in map(Award.from_event, batch["awards"])]


def random_choice(data: st.DataObject, book: Book) -> Choice:
    """One to four revealed bids, a random bundle of each."""
    ids = ["0x" + d.hex() for d in book.revealed]
    if not ids:
        return []
    chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=min(4, len(ids)),
                                unique=True))
    return [(b, data.draw(st.integers(0, len(book.revealed[bytes.fromhex(b[2:])].bundles) - 1)))
            for b in chosen]


def gas_cap(data: st.DataObject) -> int | None:
    """The service's default batches (half a block), or now and then one fill to a batch:
    results that span batches are priced and issued batch by batch. (Each split costs an
    estimate of gas, a dozen executions on the embedded chain.)"""
    return data.draw(st.sampled_from([None, None, None, 1]))


def without_one(result: PricedClearing, data: st.DataObject) -> PricedClearing:
    """The optimal result less one winner, claimed feasible with the optimum as its bound: an
    honest but weaker post that a challenge can beat."""
    dropped = data.draw(st.sampled_from([f.bid for f in result.allocation]))
    kept = [f for f in result.allocation if f.bid != dropped]
    return result.model_copy(update={"allocation": kept, "status": SolveStatus.FEASIBLE,
                                     "bound": result.welfare})


# ---- the round, step by step ----


def open_round(d: Deployment) -> tuple[int, int]:
    """A new round's id (from its `RoundOpened` event) and clearing time."""
    house = d.system.clearing_house
    now = int(d.chain.latest_timestamp())
    deadlines = Deadlines.after(now, *(PHASE_SECONDS,) * 4)
    opened = d.chain.send(house.functions.openRound(deadlines.as_args()), d.auctioneer)
    return event_args(house, opened, "RoundOpened")[0]["roundId"], deadlines.reveal_timestamp


def post_asks(d: Deployment, data: st.DataObject, round_id: int, tally: Counter[str]) -> Items:
    """Each provider's asks; a list the chain refuses is refused whole, and the provider then
    posts its usable asks alone."""
    house, items = d.system.clearing_house, []
    for number, provider in enumerate(d.providers):
        offered = data.draw(asks())
        verdict = outcome(d.chain, house.functions.postAsks(
            round_id, [a.as_args() for a in offered]), provider)
        accepted = expect(verdict, ask_refusals(offered), "postAsks", tally)
        usable = [a for a in offered if not ask_refusals([a])]
        if usable and not accepted:
            d.chain.send(house.functions.postAsks(round_id, [a.as_args() for a in usable]),
                         provider)
        items += [(number, ask) for ask in usable]
    return items


def commit_and_reveal(d: Deployment, data: st.DataObject, round_id: int, clearing_time: int,
                      items: Items, tally: Counter[str]) -> tuple[int, list[bytes]]:
    """A sure bid and one to three others committed, then revealed (one in ten is not): how
    many the chain took, and the digests it revealed."""
    chain, house = d.chain, d.system.clearing_house
    domain = bid_domain(chain.chain_id, house.address)
    held = {buyer.address: GRANT_MICRO_EPSILON for buyer in d.buyers}
    committed = []
    drawn_bids = [data.draw(terms(items, sure=True)),
                  *data.draw(st.lists(terms(items), min_size=1, max_size=3))]
    for nonce, drawn in enumerate(drawn_bids):
        tally[f"bid flaw: {drawn.flaw}"] += 1
        buyer = data.draw(st.sampled_from(d.buyers))
        bid = ChainBid(round_id=round_id, bidder=buyer.address,
                       max_value_micro_usd=drawn.max_value_micro_usd,
                       dataset_id=d.dataset if drawn.uses_dataset else 0,
                       epsilon_micros=drawn.epsilon_micros, delta_atto=drawn.delta_atto,
                       risk_bps=drawn.risk_bps, declaration_hash=bytes(32),
                       purpose=purpose_id(drawn.purpose),
                       equity_class=drawn.equity_class, nonce=nonce,
                       expiry_timestamp=clearing_time + drawn.expiry_offset,
                       bundles=drawn.bundles)
        verdict = outcome(chain, house.functions.commit(terms_args(bid), envelope_hash(bid)),
                          buyer)
        if expect(verdict, commit_refusals(bid, clearing_time, d.dataset, held[buyer.address]),
                  "commit", tally):
            held[buyer.address] -= bid.epsilon_micros if bid.dataset_id else 0
            committed.append((bid, buyer, drawn.revealed))
    advance_into(chain, house, round_id, Phase.REVEAL)
    revealed = []
    for bid, buyer, revealing in committed:
        if revealing:
            call = house.functions.reveal(bid_args(bid), sign_bid(buyer, domain, bid))
            if expect(outcome(chain, call, buyer), reveal_refusals(bid, len(items)), "reveal",
                      tally):
                revealed.append(bid_digest(domain, bid))
    advance_into(chain, house, round_id, Phase.POST)
    return len(committed), revealed


def check_post(d: Deployment, data: st.DataObject, book: Book, result: PricedClearing,
               tally: Counter[str]) -> tuple[Choice, bool]:
    """Random allocations tried at `post` (and undone), then the auctioneer's: its optimum, or
    that less a winner. The chain accepts exactly what the rules accept; returns the fills it
    holds and whether the post fell short of the optimum."""
    house, rm, bids = d.system.clearing_house, round_market(book), model_bids(book)
    for _ in range(2):
        choice = random_choice(data, book)
        call = house.functions.post(book.round_id, fills(book, choice),
                                    (SolverStatus.OPTIMAL, 0))
        expect(dry_run(d.chain, call, d.auctioneer), rule_refusals(rm.market, bids, choice),
               "random post", tally)
    weaker = bool(result.allocation) and data.draw(st.booleans())
    posted = without_one(result, data) if weaker else result
    receipts = settlement.post(d.system, d.auctioneer, book, posted, max_gas=gas_cap(data))
    standing = awarded(house, receipts)
    assert sorted(standing) == sorted((f.bid, f.bundle) for f in posted.allocation)
    assert_the_rules_accept(book, standing)
    tally["fills posted"] += len(standing)
    tally["posts of less than the optimum"] += weaker
    tally["posts in several batches"] += len(receipts) > 1
    return standing, weaker


def check_challenges(d: Deployment, data: st.DataObject, book: Book, standing: Choice,
                     result: PricedClearing | None, tally: Counter[str]) -> Choice:
    """Random allocations sealed as challenges: the chain accepts one exactly when the rules
    accept it and it beats the standing result by the policy's step. Then, if given, the
    auctioneer's optimum, sent as the service sends a challenge. Returns the final
    allocation."""
    house, rm, bids = d.system.clearing_house, round_market(book), model_bids(book)
    advance_into(d.chain, house, book.round_id, Phase.CHALLENGE)
    for choice in [random_choice(data, book) for _ in range(2)]:
        refusals = rule_refusals(rm.market, bids, choice)
        short = (welfare(rm.market, bids, choice)
                 < needed_to_replace(welfare(rm.market, bids, standing)))
        call = house.functions.challenge(book.round_id, 0, fills(book, choice), True)
        verdict = outcome(d.chain, call, d.challenger)
        if expect(verdict, refusals or ({"WelfareNotHigher"} if short else set()), "challenge",
                  tally):
            standing = awarded(house, [verdict])
            assert sorted(standing) == sorted(choice)
            assert_the_rules_accept(book, standing)
    if result is None:
        return standing
    optimum = [(f.bid, f.bundle) for f in result.allocation]
    if welfare(rm.market, bids, optimum) < needed_to_replace(welfare(rm.market, bids, standing)):
        with pytest.raises(MarketError, match="does not beat the standing result"):
            settlement.challenge(d.system, d.challenger, read_book(d.system, book.round_id),
                                 result)
        tally["optimum not an improvement"] += 1
        return standing
    receipts = settlement.challenge(d.system, d.challenger, read_book(d.system, book.round_id),
                                    result)
    standing = awarded(house, receipts)
    assert sorted(standing) == sorted(optimum)
    assert_the_rules_accept(book, standing)
    tally["challenge accepted"] += 1
    tally["optimum answered a weaker result"] += 1
    return standing


def price_and_settle(d: Deployment, round_id: int, final: Choice) -> None:
    """The quorum's report, as two of three nodes recompute it from the chain, then settling;
    a round with nothing standing has nothing to price."""
    chain, system = d.chain, d.system
    advance_into(chain, system.clearing_house, round_id, Phase.PRICE)
    book = read_book(system, round_id)
    if final:
        report = settlement.price_report(system, book, d.config_digest)
        domain = verdict_domain(chain.chain_id, system.oracle.address)
        signatures = [(n.address, sign_report(n, domain, report)) for n in NODES[:2]]
        settlement.submit_prices(system, d.auctioneer, report, signatures)
        book = read_book(system, round_id)
    else:
        assert book.phase is Phase.FINAL
    settlement.settle(system, d.auctioneer, book)


def play(d: Deployment, data: st.DataObject, tally: Counter[str]) -> None:
    """One round from its asks to its settled futures, checked at each step against the
    auctioneer's rules."""
    house = d.system.clearing_house
    round_id, clearing_time = open_round(d)
    items = post_asks(d, data, round_id, tally)
    committed, revealed = commit_and_reveal(d, data, round_id, clearing_time, items, tally)

    # (a) The auctioneer reads whatever the chain accepted, accounts for every revealed bid,
    # and forfeits every commitment left sealed (those the reveal refused among them).
    book = read_book(d.system, round_id)
    assert sorted(book.revealed) == sorted(revealed)
    rm = round_market(book)
    result = settlement.clear_round(book, PARAMS)
    accounted = Counter([f.bid for f in result.allocation] + [loss.bid for loss in result.losing])
    assert accounted == Counter("0x" + digest.hex() for digest in revealed)
    tally["malformed"] += len(rm.malformed)
    forfeited = settlement.forfeit_unrevealed(d.system, d.auctioneer, book)
    assert len(forfeited) == committed - len(revealed)

    # (b) What the chain accepts at post and challenge, the rules accept, and the converse.
    standing, weaker = check_post(d, data, book, result, tally)
    optimal = [(f.bid, f.bundle) for f in result.allocation]
    final = check_challenges(d, data, book, standing, result if weaker else None, tally)

    # (c) Every final payment is the pricing rule's, between reserve cost and value.
    price_and_settle(d, round_id, final)
    expected = pricing_rule(book, final)
    bids, empty = model_bids(book), Usage(rm.market)
    for bid_id, number in final:
        record = BidRecord.read(house, bytes.fromhex(bid_id[2:]))
        bundle = bids[bid_id].bundles[number]
        assert record.status is Status.FUTURE
        assert record.payment_micro_usd == expected[bid_id]
        assert empty.marginal_cost(bundle) <= record.payment_micro_usd <= bundle.value
    if sorted(final) == sorted(optimal):
        # the auctioneer's own pricing of its result is what the chain charged
        assert expected == {p.winner: p.total for p in result.payments}
    tally["payments checked"] += len(final)
    tally["rounds with futures"] += bool(final)


EXAMPLES = 15


def test_what_the_chain_accepts_the_auctioneer_reads_and_the_rules_and_pricing_agree(
        deployment: Deployment) -> None:
    """EXAMPLES whole rounds of random, often bad, asks and bids; `tally` counts what the chain
    accepted and refused at each step."""
    tally: Counter[str] = Counter()

    # No shrinking: a round is seconds of chain work; a failure prints its draws as they were.
    # Derandomized: the tally's checks below must not depend on luck (a random run of 15 once
    # drew no refused reveal).
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=(Stage.explicit, Stage.generate),
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def a_round(data: st.DataObject) -> None:
        snapshot = deployment.chain.snapshot()
        try:
            play(deployment, data, tally)
            tally["rounds"] += 1
        finally:
            deployment.chain.revert_to(snapshot)

    a_round()
    # Rounds get somewhere: fills posted and futures priced, not only refusals. (A round
    # without futures is one whose every ask the chain refused.)
    assert tally["rounds"] == EXAMPLES
    assert tally["rounds with futures"] >= EXAMPLES * 2 // 3, tally
    for step in ("postAsks", "commit", "reveal", "random post", "challenge"):
        assert tally[f"{step} accepted"] and tally[f"{step} refused"], (step, tally)
