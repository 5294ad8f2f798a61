"""One adversarial participant in a round run by honest actors through the settlement service:
two providers, four bidders, the auctioneer posting its optimal clearing, a 2-of-3 oracle quorum
pricing it. The attacker holds no role and a small bond. It posts junk and oversized asks,
commits and reveals junk bids (some from a contract wallet whose receiver hook reverts or burns
gas), and challenges with worse, rule-breaking and partial allocations; in a second round it
challenges in the last block of the window, and is answered in the window that reopens.

Each round ends as the same round without the attacker ends (`baseline`): the same fills at the
same payments, the poster's bond back whole with nothing burned, every honest bidder paid out
its refund or change. What the attacker loses is derived: its forfeits, its challenger bond when
answered, and the gas of the transactions it sent — nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

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
from chain.clearing_house import Round, advance_into
from chain.connection import Chain, connect
from chain.contract import Contract, ContractCall, Receipt
from chain.deploy import deploy_system
from chain.events import events
from chain.ledger import dataset_id
from chain.policy import LAUNCH_RATES
from chain.policy_oracle import register
from chain.prices import sign_report
from chain.settlement import Ask, Deadlines, Phase, Status
from chain.system import System
from chain.verdict import verdict_domain
from market import orders, settlement
from market.model import Policy
from market.onchain import AskEntry, BidEntry, policy_to_chain
from market.result import LossReason, PricedClearing
from market.result import Status as SolveStatus
from market.round_book import Book, read_book
from market.wdp import SolveParams
from risk.assess import assess
from risk.declaration import declaration_hash
from risk.rubric import read_rubric
from tests.contracts.settlement_fixtures import through
from tests.support import declaration, event_args, reverts

CST, USD = 10**18, 10**6
BPS = 10_000
PHASE_SECONDS = 600
POLICY = Policy(max_epsilon_micros={"diagnostics": 2_000_000})
RATES = replace(LAUNCH_RATES, provider_bond_per_unit_wei=CST // 100,
                provider_slash_wei=CST // 100, challenger_bond_wei=5 * CST,
                answer_window_seconds=300, max_extension_seconds=600, pricing_window_seconds=600)
PARAMS = SolveParams(time_limit=5.0, workers=1)
NODES = sorted((Account.from_key(bytes([0x50 + i]) * 32) for i in range(3)),
               key=lambda node: int(node.address, 16))
AUCTIONEER_BOND = 2 * RATES.auctioneer_bond_wei
PROVIDER_BOND = 10 * CST
# No role, and a small stake in the market: one challenger bond and a little over.
ATTACKER_BOND = RATES.challenger_bond_wei + CST
BIDDER_USD, BIDDER_STAKE, BIDDER_MICRO_EPSILON = 3_000 * USD, 1_000 * CST, 3_000_000
DATASET_MICRO_EPSILON = 20_000_000
REJECT, BURN_GAS = 1, 2  # HostileReceiver.Mode: its hook reverts, or burns all its gas
SLOT = {"region": "euw1", "slot": "2027-06-07", "slot_seconds": 604_800}


def ask(kind: str, unit: str, tier: str, capacity: int, reserve_usd: int) -> Ask:
    return AskEntry.model_validate({**SLOT, "kind": kind, "unit": unit, "tier": tier,
                                    "capacity": capacity,
                                    "reserve_price": reserve_usd * USD}).to_chain()


# The first provider's GPUs and power (items 0, 1), the second's storage (item 2), then — after
# the attacker has tried to take the round's item slots — the second's confidential GPUs (3).
FIRST_ASKS = [ask("gpu", "gpu-week", "certified", 8, 100), ask("power", "kW-week", "certified",
                                                                10, 10)]
SECOND_ASKS = [ask("storage", "TB-week", "certified", 20, 1)]
LATER_ASK = ask("gpu", "gpu-week", "confidential", 4, 150)
ALL_ITEMS = [*FIRST_ASKS, *SECOND_ASKS, LATER_ASK]
HONEST_ITEMS = len(ALL_ITEMS)


def honest_entries(dataset: int) -> list[BidEntry]:
    """One bid per honest bidder. The optimum fills the first, third and fourth (1,100 + 40 +
    35 USD of welfare); the second wants the first's GPUs, is outbid, and so sets their
    price."""
    def entry(items: dict[str, int], value_usd: int, risk: str = "low", **terms: Any
              ) -> BidEntry:
        job = declaration(terms.get("purpose", "general"), risk)
        return BidEntry.model_validate({"bundles": [{"items": items, "value": value_usd * USD}],
                                        "declaration": job, **terms})

    return [
        entry({"0": 8, "1": 10}, 2_000, "medium", purpose="diagnostics",
              epsilon_micros=1_000_000, delta=1e-6, dataset=dataset, equity_class="research"),
        entry({"0": 6, "1": 8}, 1_200, "medium"),
        entry({"2": 10}, 50),
        entry({"2": 5}, 40, equity_class="public-health"),
    ]


@dataclass
class Market:
    system: System
    auctioneer: LocalAccount  # also governance, the regulator and the treasury
    providers: list[LocalAccount]
    bidders: list[LocalAccount]
    attacker: LocalAccount
    wallet: Contract  # the attacker's HostileReceiver
    owner: LocalAccount  # the dataset's
    dataset: int
    config_digest: bytes

    @property
    def chain(self) -> Chain:
        return self.system.chain

    @property
    def house(self) -> Contract:
        return self.system.clearing_house

    def book(self, round_id: int) -> Book:
        return read_book(self.system, round_id)

    def usd(self, address: str) -> int:
        return int(self.system.usd.functions.balanceOf(address).call())

    def vault(self, address: str) -> tuple[int, ...]:
        """(free, locked, bonded, unbonding, unbondingReadyAt, bondLocked) in the vault."""
        return tuple(self.system.vault.functions.balanceOf(address).call())

    def epsilon(self, address: str) -> int:
        return int(self.system.ledger.functions.balanceOf(address, self.dataset).call())

    def burned(self) -> int:
        return int(self.system.cst.functions.totalBurned().call())


def _fund(system: System, minter: LocalAccount, account: str,
          act: Any, usd: int, stake: int, bonded: int) -> None:
    """USD approved to the clearing house, CST staked and bonded; `act(call)` sends as the
    account."""
    chain = system.chain
    chain.send(system.usd.functions.mint(account, usd), minter)
    chain.send(system.cst.functions.mint(account, stake + bonded), minter)
    act(system.usd.functions.approve(system.clearing_house.address, usd))
    act(system.cst.functions.approve(system.vault.address, stake + bonded))
    if stake:
        act(system.vault.functions.stake(stake))
    if bonded:
        act(system.vault.functions.bond(bonded))


@pytest.fixture(scope="module")
def market() -> Market:
    """Deployed under POLICY with a 2-of-3 oracle set; the auctioneer and providers bonded; four
    bidders, the attacker and its contract wallet funded, each holding ε of a dataset that
    consents to diagnostics."""
    chain = connect()
    auctioneer, first, second, owner, attacker, *bidders = (chain.dev_account(i)
                                                            for i in range(9))
    chain.w3.eth.default_account = auctioneer.address  # view calls: no accounts lookup each
    system = deploy_system(chain, auctioneer, policy=policy_to_chain(POLICY, RATES))
    config_digest = register(system, auctioneer, [n.address for n in NODES], 2)
    for account, bonded in ((auctioneer, AUCTIONEER_BOND), (first, PROVIDER_BOND),
                            (second, PROVIDER_BOND)):
        _fund(system, auctioneer, account.address, lambda call, a=account: chain.send(call, a),
              0, 0, bonded)
    content = b"\x31" * 32
    chain.send(system.ledger.functions.register(content, DATASET_MICRO_EPSILON, 10**13, 10**16,
                                                [purpose_id("diagnostics")], 0), owner)
    dataset = dataset_id(owner.address, content)
    wallet = chain.deploy("HostileReceiver", attacker, attacker.address)
    holders = [(b.address, lambda call, b=b: chain.send(call, b), 0) for b in bidders]
    holders += [(attacker.address, lambda call: chain.send(call, attacker), ATTACKER_BOND),
                (wallet.address, through(chain, wallet, attacker), 0)]
    for address, act, bonded in holders:
        _fund(system, auctioneer, address, act, BIDDER_USD, BIDDER_STAKE, bonded)
        chain.send(system.ledger.functions.safeTransferFrom(
            owner.address, address, dataset, BIDDER_MICRO_EPSILON, b""), owner)
    return Market(system, auctioneer, [first, second], bidders, attacker, wallet, owner, dataset,
                  config_digest)


@pytest.fixture(autouse=True)
def _isolated(market: Market) -> Iterator[None]:
    snapshot = market.chain.snapshot()
    yield
    market.chain.revert_to(snapshot)


# ---- the honest round, step by step ----


def open_round(market: Market) -> int:
    now = int(market.chain.latest_timestamp())
    deadlines = Deadlines.after(now, *(PHASE_SECONDS,) * 4)
    opened = market.chain.send(market.house.functions.openRound(deadlines.as_args()),
                               market.auctioneer)
    (event,) = event_args(market.house, opened, "RoundOpened")
    return int(event["roundId"])


def post_honest_asks(market: Market, round_id: int) -> None:
    for provider, asks in zip(market.providers, (FIRST_ASKS, SECOND_ASKS), strict=True):
        orders.post_asks(market.system, provider, round_id, asks)


def post_later_ask(market: Market, round_id: int) -> int:
    """The second provider's confidential GPUs; their item index, from the `AskPosted` event."""
    receipt = orders.post_asks(market.system, market.providers[1], round_id, [LATER_ASK])
    (posted,) = event_args(market.house, receipt, "AskPosted")
    return int(posted["item"])


def honest_bids(market: Market, round_id: int) -> list[ChainBid]:
    """Each bidder's bid as the wallet builds it, at the launch rubric's score of its
    declaration, with a fixed nonce and salt (the wallet draws both at random) so that every
    run has the same digests."""
    rubric, _ = read_rubric()

    def signed(entry: BidEntry, bidder: str, number: int) -> ChainBid:
        job = entry.read_declaration()
        return entry.to_chain(round_id, bidder, number, assess(job, rubric).risk_bps,
                              declaration_hash(job))

    return [replace(signed(entry, bidder.address, number), salt=bytes([0xB0 + number]) * 32)
            for number, (bidder, entry) in enumerate(zip(
                market.bidders, honest_entries(market.dataset), strict=True))]


def commit_honest_bids(market: Market, round_id: int) -> list[ChainBid]:
    bids = honest_bids(market, round_id)
    for bid, bidder in zip(bids, market.bidders, strict=True):
        market.chain.send(market.house.functions.commit(terms_args(bid), envelope_hash(bid)),
                          bidder)
    return bids


def reveal_honest_bids(market: Market, bids: list[ChainBid]) -> None:
    domain = bid_domain(market.chain.chain_id, market.house.address)
    signer = {bidder.address: bidder for bidder in market.bidders}
    for bid in bids:
        bidder = signer[bid.bidder]
        market.chain.send(market.house.functions.reveal(bid_args(bid),
                                                        sign_bid(bidder, domain, bid)), bidder)


def clear_and_post(market: Market, round_id: int) -> PricedClearing:
    """The auctioneer's optimum, posted; then its forfeit of every commitment left sealed."""
    advance_into(market.chain, market.house, round_id, Phase.POST)
    result = settlement.clear_round(market.book(round_id), PARAMS)
    assert result.status is SolveStatus.OPTIMAL
    settlement.post(market.system, market.auctioneer, market.book(round_id), result)
    settlement.forfeit_unrevealed(market.system, market.auctioneer, market.book(round_id))
    return result


def price_and_settle(market: Market, round_id: int) -> None:
    """Two of three oracle nodes recompute the report from the chain and sign it; then the
    futures are issued, the losers released and the round closed."""
    advance_into(market.chain, market.house, round_id, Phase.PRICE)
    domain = verdict_domain(market.chain.chain_id, market.system.oracle.address)
    report = settlement.price_report(market.system, market.book(round_id), market.config_digest)
    signatures = [(n.address, sign_report(n, domain, report)) for n in NODES[:2]]
    settlement.submit_prices(market.system, market.auctioneer, report, signatures)
    settlement.settle(market.system, market.auctioneer, market.book(round_id))
    assert Phase(market.house.functions.phaseOf(round_id).call()) is Phase.FINAL


def withdraw_honest(market: Market) -> None:
    for bidder in market.bidders:
        amount, bids = orders.owed(market.system, bidder.address)
        assert amount > 0
        orders.withdraw_owed(market.system, bidder, bids)


@dataclass(frozen=True)
class Outcome:
    """How a round ended for the honest: its final fills and payments by digest, the honest
    items' prices, and each honest bidder's USD once it withdrew."""

    round_id: int
    fills: dict[bytes, int]
    payments: dict[bytes, int]
    item_prices: tuple[int, ...]
    usd: dict[str, int]


def outcome(market: Market, round_id: int) -> Outcome:
    book = market.book(round_id)
    futures = {d: r for d, r in book.records.items() if r.status is Status.FUTURE}
    (priced,) = events(market.system, market.house, "Priced", roundId=round_id)
    return Outcome(round_id, {d: r.bundle_index for d, r in futures.items()},
                   {d: r.payment_micro_usd for d, r in futures.items()},
                   tuple(priced.args["itemPricesMicroUsd"][:HONEST_ITEMS]),
                   {b.address: market.usd(b.address) for b in market.bidders})


def honest_round(market: Market) -> tuple[int, list[ChainBid]]:
    """A round through its reveals, with no one but the honest in it."""
    round_id = open_round(market)
    post_honest_asks(market, round_id)
    post_later_ask(market, round_id)
    bids = commit_honest_bids(market, round_id)
    advance_into(market.chain, market.house, round_id, Phase.REVEAL)
    reveal_honest_bids(market, bids)
    return round_id, bids


@pytest.fixture(scope="module")
def baseline(market: Market) -> Outcome:
    """The round without the attacker: the auctioneer's optimum stands, is priced and settles,
    and every honest bidder withdraws."""
    snapshot = market.chain.snapshot()
    try:
        round_id, _ = honest_round(market)
        clear_and_post(market, round_id)
        price_and_settle(market, round_id)
        withdraw_honest(market)
        return outcome(market, round_id)
    finally:
        market.chain.revert_to(snapshot)


def test_the_baseline_fills_the_optimum_and_each_winner_pays_within_its_bid(
        market: Market, baseline: Outcome) -> None:
    """The round the attacked ones are held to: the optimum's three bids win, each paying
    between its reserve cost and its value; every bidder ends with its USD less its payment."""
    first, second, third, fourth = honest_bids(market, baseline.round_id)
    winners = {digest_of(market, bid): bid for bid in (first, third, fourth)}
    assert baseline.fills == dict.fromkeys(winners, 0)
    for digest, bid in winners.items():
        reserve = bid.bundles[0].value_micro_usd - net_usd(bid, ALL_ITEMS)
        assert reserve <= baseline.payments[digest] <= bid.bundles[0].value_micro_usd
    paid = {bid.bidder: baseline.payments.get(digest_of(market, bid), 0)
            for bid in (first, second, third, fourth)}
    assert paid[second.bidder] == 0
    assert baseline.usd == {bidder: BIDDER_USD - payment for bidder, payment in paid.items()}


# ---- the attacker ----


class Attacker:
    """Sends as the attacker (and, by its owner, as its contract wallet), keeping the receipt
    of every transaction it sent: its gas is part of what it loses."""

    def __init__(self, market: Market) -> None:
        self.market, self.account, self.wallet = market, market.attacker, market.wallet
        self.receipts: list[Receipt] = []

    def send(self, call: ContractCall) -> Receipt:
        receipt = self.market.chain.send(call, self.account)
        self.receipts.append(receipt)
        return receipt

    def send_as_wallet(self, call: ContractCall) -> Receipt:
        """`call` from the wallet: its owner sends `execute`, and pays the gas."""
        return self.send(self.wallet.functions.execute(call.address,
                                                       call.data))

    def gas_paid_wei(self) -> int:
        return sum(int(r.gas_used) * int(r.effective_gas_price_wei) for r in self.receipts)

    def refused(self, call: ContractCall, name: str, *args: Any, round_id: int) -> None:
        """`call` refused with exactly this error, and nothing it could touch changed."""
        before = watched(self.market, round_id)
        with reverts(name, *args):
            self.send(call)
        assert watched(self.market, round_id) == before

    def bid(self, round_id: int, nonce: int, *bundles: ChainBundle, **terms: Any) -> ChainBid:
        base = ChainBid(round_id=round_id, bidder=self.account.address,
                        max_value_micro_usd=max(b.value_micro_usd for b in bundles),
                        dataset_id=0, epsilon_micros=0, delta_atto=0, risk_bps=1_000,
                        declaration_hash=bytes(32), purpose=purpose_id("general"),
                        equity_class=0, nonce=nonce,
                        expiry_timestamp=2**63, bundles=bundles, salt=bytes([nonce]) * 32)
        return replace(base, **terms)


def watched(market: Market, round_id: int) -> dict[str, Any]:
    """What a refused step of the attacker's could have changed: the round (items, results,
    window), the attacker's vault, USD and ε, and the clearing house's USD."""
    attacker = market.attacker.address
    return {"round": Round.read(market.house, round_id), "vault": market.vault(attacker),
            "usd": market.usd(attacker), "epsilon": market.epsilon(attacker),
            "house_usd": market.usd(market.house.address)}


def code_field(name: str) -> str:
    """`UnknownCode`'s field as `Reverted` decodes it: a short name as bytes32, in hex."""
    return "0x" + name.encode().ljust(32, b"\0").hex()


def digest_of(market: Market, bid: ChainBid) -> bytes:
    return bid_digest(bid_domain(market.chain.chain_id, market.house.address), bid)


def fills_of(book: Book, chosen: list[tuple[bytes, int]]) -> list[tuple[Any, ...]]:
    """`Fill`s of (digest, bundle index) pairs, in the ascending digest order a result takes."""
    return [fill_args(book.revealed[digest], index) for digest, index in sorted(chosen)]


def net_usd(bid: ChainBid, asks: list[Ask]) -> int:
    """Welfare of a one-bundle bid's fill: its value less its units at the reserve prices."""
    bundle = bid.bundles[0]
    reserve = sum(q * asks[i].reserve_price_micro_usd
                  for i, q in zip(bundle.items, bundle.quantities, strict=True))
    return bundle.value_micro_usd - reserve


def needed_to_replace(standing_micro_usd: int) -> int:
    return standing_micro_usd + max(standing_micro_usd * RATES.min_improvement_bps // BPS, 1)


def forfeit_micro_usd(deposit_micro_usd: int) -> int:
    return min(RATES.forfeit_fee_micro_usd + deposit_micro_usd * RATES.forfeit_bps // BPS,
               deposit_micro_usd)


def next_block_at(market: Market, timestamp: int) -> None:
    """Sets the clock so that the next transaction is mined in a block stamped `timestamp`."""
    now = int(market.chain.latest_timestamp())
    market.chain.advance_time(timestamp - now)


def timestamp_of(market: Market, receipt: Receipt) -> int:
    return int(market.chain.w3.eth.get_block(receipt.block_number)["timestamp"])


def awarded(house: Contract, receipt: Receipt) -> list[tuple[bytes, int]]:
    return [(bytes(a["bidDigest"]), int(a["bundleIndex"]))
            for batch in event_args(house, receipt, "BatchPosted") for a in batch["awards"]]


def assert_honest_round_unharmed(market: Market, round_id: int, baseline: Outcome,
                                 poster: str, poster_vault: tuple[int, ...],
                                 burned: int) -> None:
    """Same fills, payments and honest item prices as without the attacker; every honest
    bidder withdrew and holds its USD less its payment; the poster's bond back whole; no CST
    burned."""
    withdraw_honest(market)
    assert outcome(market, round_id) == baseline
    for bid in honest_bids(market, round_id):
        paid = baseline.payments.get(digest_of(market, bid), 0)
        assert market.usd(bid.bidder) == BIDDER_USD - paid
    assert market.vault(poster) == poster_vault
    assert market.burned() == burned


# ---- the attacks ----


def test_junk_asks_junk_bids_hostile_receivers_and_bad_challenges_leave_the_optimum_standing(
        market: Market, baseline: Outcome) -> None:
    """The attacker's every step in one round, among the honest actors' own: each refusal
    exact and changing nothing, each accepted junk order handled by the auctioneer, and the
    round ending as it does without the attacker."""
    attacker, house, me = Attacker(market), market.house, market.attacker.address
    usd, eth, vault = market.usd(me), market.chain.w3.eth.get_balance(me), market.vault(me)
    poster_vault, burned = market.vault(market.auctioneer.address), market.burned()
    round_id = open_round(market)
    post_honest_asks(market, round_id)

    # Asks: junk codes, zero capacity, more units than its bond covers, more item slots than
    # one provider may hold. The honest provider still posts; the attacker's one valid ask
    # (a unit nobody wants) waits behind it.
    junk_asks = [
        (replace(LATER_ASK, capacity=0), ("ZeroCapacity", 0)),
        (replace(LATER_ASK, tier=9), ("UnknownCode", code_field("tier"), 9)),
        (replace(LATER_ASK, kind=7), ("UnknownCode", code_field("kind"), 7)),
        (replace(LATER_ASK, capacity=2**32 - 1),
         ("InsufficientBond", me, (2**32 - 1) * RATES.provider_bond_per_unit_wei, ATTACKER_BOND)),
    ]
    for junk, (name, *args) in junk_asks:
        attacker.refused(house.functions.postAsks(round_id, [junk.as_args()]), name, *args,
                         round_id=round_id)
    flood = [replace(LATER_ASK, capacity=1).as_args()] * (RATES.max_items_per_provider + 1)
    attacker.refused(house.functions.postAsks(round_id, flood), "TooManyItemsOfProvider",
                     round_id, me, RATES.max_items_per_provider + 1,
                     RATES.max_items_per_provider, round_id=round_id)
    assert post_later_ask(market, round_id) == HONEST_ITEMS - 1
    attacker.send(house.functions.postAsks(round_id, [replace(
        LATER_ASK, capacity=1, reserve_price_micro_usd=10_000 * USD).as_args()]))

    # Bids: refused at commit; committed but refused at reveal (so forfeited); revealed but
    # unusable (two providers' items, more units than offered); and a bid below its reserve
    # cost from the contract wallet, on private data.
    bids = commit_honest_bids(market, round_id)
    clearing = Round.read(house, round_id).deadlines.reveal_timestamp
    five_tb = ChainBundle((2,), (5,), 10 * USD)
    for nonce, terms, error in [
        (0, {"risk_bps": 0}, ("RiskOutsideBands", 0, 1_000, BPS)),
        (1, {"expiry_timestamp": clearing - 1}, ("BidExpired", clearing - 1, clearing)),
        (2, {"equity_class": 7}, ("UnknownCode", code_field("equityClass"), 7)),
    ]:
        junk = attacker.bid(round_id, nonce, five_tb, **terms)
        attacker.refused(house.functions.commit(terms_args(junk), envelope_hash(junk)),
                         *error, round_id=round_id)
    diagnostics = purpose_id("diagnostics")
    sealed = [
        (attacker.bid(round_id, 3, ChainBundle((2,), (0,), 10 * USD)), ("MalformedBundle", 0)),
        (attacker.bid(round_id, 4, ChainBundle((HONEST_ITEMS + 1,), (1,), 10 * USD)),
         ("UnknownItem", round_id, HONEST_ITEMS + 1)),
        (attacker.bid(round_id, 5, five_tb, dataset_id=market.dataset, purpose=diagnostics,
                      epsilon_micros=2_000_001),
         ("EpsilonAboveLimit", "0x" + diagnostics.hex(), 2_000_001, 2_000_000)),
    ]
    mixed = attacker.bid(round_id, 6, ChainBundle((1, 2), (1, 1), 20 * USD))
    hoard = attacker.bid(round_id, 7, ChainBundle((2,), (SECOND_ASKS[0].capacity + 1,),
                                                  30 * USD))
    cheap = replace(attacker.bid(round_id, 8, ChainBundle((2,), (5,), 4 * USD),
                                 dataset_id=market.dataset, purpose=diagnostics,
                                 epsilon_micros=100_000),
                    bidder=market.wallet.address)
    for bid in [b for b, _ in sealed] + [mixed, hoard]:
        attacker.send(house.functions.commit(terms_args(bid), envelope_hash(bid)))
    attacker.send_as_wallet(house.functions.commit(terms_args(cheap), envelope_hash(cheap)))

    advance_into(market.chain, house, round_id, Phase.REVEAL)
    reveal_honest_bids(market, bids)
    domain = bid_domain(market.chain.chain_id, house.address)
    for bid, error in sealed:
        attacker.refused(house.functions.reveal(bid_args(bid), sign_bid(
            market.attacker, domain, bid)), *error, round_id=round_id)
    for bid in (mixed, hoard, cheap):  # the wallet's bid is signed by its owner (ERC-1271)
        attacker.send(house.functions.reveal(bid_args(bid), sign_bid(market.attacker, domain,
                                                                        bid)))

    # The auctioneer reads all of it, clears the honest optimum and posts it.
    result = clear_and_post(market, round_id)
    reasons = {loss.bid: loss.reason for loss in result.losing}
    assert [reasons["0x" + digest_of(market, b).hex()] for b in (mixed, hoard, cheap)] == [
        LossReason.MALFORMED, LossReason.MALFORMED, LossReason.BELOW_RESERVE]
    optimum = [(bytes.fromhex(f.bid[2:]), f.bundle) for f in result.allocation]
    assert dict(optimum) == baseline.fills

    # Challenges: worse than the optimum, breaking a rule, and a part of one never sealed.
    advance_into(market.chain, house, round_id, Phase.CHALLENGE)
    book = market.book(round_id)
    by_digest = {digest_of(market, bid): bid for bid in bids}
    standing = sum(net_usd(by_digest[d], ALL_ITEMS) for d, _ in optimum)
    needed = needed_to_replace(standing)
    for dropped in optimum:
        kept = [fill for fill in optimum if fill != dropped]
        attacker.refused(house.functions.challenge(round_id, 0, fills_of(book, kept), True),
                         "WelfareNotHigher", round_id,
                         standing - net_usd(by_digest[dropped[0]], ALL_ITEMS), needed,
                         round_id=round_id)
    p1, p2 = (p.address for p in market.providers)
    attacker.refused(house.functions.challenge(round_id, 0, fills_of(
        book, [*optimum, (digest_of(market, mixed), 0)]), True),
        "MixedProviders", "0x" + digest_of(market, mixed).hex(), p1, p2, round_id=round_id)
    storage = [fill for fill in optimum if book.revealed[fill[0]].bundles[0].items == (2,)]
    storage.append((digest_of(market, hoard), 0))
    allocated = sum(book.revealed[d].bundles[0].quantities[0] for d, _ in storage)
    attacker.refused(house.functions.challenge(round_id, 0, fills_of(book, storage), True),
        "OverAllocated", round_id, 2, allocated, SECOND_ASKS[0].capacity, round_id=round_id)
    draft = attacker.send(house.functions.challenge(round_id, 0, fills_of(book, optimum[:1]),
                                                    False))
    (batch,) = event_args(house, draft, "BatchPosted")
    version = int(batch["version"])
    assert Round.read(house, round_id).standing_version == 1
    attacker.refused(house.functions.challenge(round_id, version, [], True), "WelfareNotHigher",
                     round_id, net_usd(book.revealed[optimum[0][0]], ALL_ITEMS), needed,
                     round_id=round_id)
    attacker.refused(house.functions.challenge(round_id, 1, [], True), "NotAChallenge",
                     round_id, 1, round_id=round_id)

    # A hostile receiver blocks nothing. Its hook is live (it rejects a token sent to it);
    # armed to burn all the gas it is given, the round still settles and the wallet's ε comes
    # back: the ledger returns a reservation without calling a receiver hook.
    attacker.send(market.wallet.functions.arm(REJECT, market.wallet.address, b""))
    with reverts("Rejected"):
        market.chain.send(market.system.ledger.functions.safeTransferFrom(
            market.owner.address, market.wallet.address, market.dataset, 1, b""), market.owner)
    attacker.send(market.wallet.functions.arm(BURN_GAS, market.wallet.address, b""))
    price_and_settle(market, round_id)
    assert market.epsilon(market.wallet.address) == BIDDER_MICRO_EPSILON
    assert_honest_round_unharmed(market, round_id, baseline, market.auctioneer.address,
                                 poster_vault, burned)

    # What the attacker lost: its three forfeits and its gas. Its unusable bids' deposits, the
    # rest of the forfeited ones', its wallet's deposit, stakes and bond all came back.
    forfeits = sum(forfeit_micro_usd(bid.max_value_micro_usd) for bid, _ in sealed)
    deposits = sum(bid.max_value_micro_usd for bid in [b for b, _ in sealed] + [mixed, hoard])
    owed, records = orders.owed(market.system, me)
    assert owed == deposits - forfeits
    attacker.send(house.functions.withdraw(records))
    attacker.send_as_wallet(house.functions.withdraw([digest_of(market, cheap)]))
    assert market.usd(me) == usd - forfeits
    assert market.usd(market.wallet.address) == BIDDER_USD
    assert market.vault(me) == vault
    assert market.chain.w3.eth.get_balance(me) == eth - attacker.gas_paid_wei()


def test_a_challenge_in_the_last_block_is_answered_in_the_window_it_reopens(
        market: Market, baseline: Outcome) -> None:
    """The auctioneer's solver stopped at its time limit without the third bid, and posts what
    it had, claiming the optimum's welfare as its bound (a gap of 3.5 %). In the window's last
    block the attacker replaces that with a better allocation that is still not the best; the
    window reopens for an answer, the auctioneer answers with the optimum, and takes the
    attacker's bond."""
    attacker, house = Attacker(market), market.house
    me, auctioneer = market.attacker.address, market.auctioneer.address
    eth, poster_vault, burned = (market.chain.w3.eth.get_balance(me), market.vault(auctioneer),
                                 market.burned())
    round_id, bids = honest_round(market)
    advance_into(market.chain, house, round_id, Phase.POST)
    book = market.book(round_id)
    optimum = settlement.clear_round(book, PARAMS)
    first, _, third, fourth = (digest_of(market, bid) for bid in bids)
    stopped = optimum.model_copy(update={
        "allocation": [f for f in optimum.allocation if f.bid != "0x" + third.hex()],
        "status": SolveStatus.FEASIBLE,
        "welfare": optimum.welfare - net_usd(bids[2], ALL_ITEMS)})
    settlement.post(market.system, market.auctioneer, book, stopped)

    advance_into(market.chain, house, round_id, Phase.CHALLENGE)
    deadline = Round.read(house, round_id).deadlines.challenge_timestamp
    next_block_at(market, deadline)
    sniped = attacker.send(house.functions.challenge(round_id, 0, fills_of(
        book, [(first, 0), (third, 0)]), True))
    assert timestamp_of(market, sniped) == deadline
    (replaced,) = event_args(house, sniped, "ResultReplaced")
    assert replaced["challengeEndTimestamp"] == deadline + RATES.answer_window_seconds
    # Beaten within the bound it claimed, the auctioneer's bond is released whole.
    assert replaced["slashedWei"] == 0
    assert market.vault(auctioneer) == poster_vault
    wallet_cst = int(market.system.cst.functions.balanceOf(auctioneer).call())

    next_block_at(market, deadline + RATES.answer_window_seconds)
    (answered,) = settlement.challenge(market.system, market.auctioneer, market.book(round_id),
                                       optimum)
    assert timestamp_of(market, answered) == deadline + RATES.answer_window_seconds
    (answer,) = event_args(house, answered, "ResultReplaced")
    assert (answer["replacedVersion"], answer["slashedWei"]) == (
        replaced["version"], RATES.challenger_bond_wei)
    assert sorted(awarded(house, answered)) == sorted([(first, 0), (third, 0), (fourth, 0)])
    # The attacker's bond is paid to the answer.
    assert int(market.system.cst.functions.balanceOf(auctioneer).call()) == (
        wallet_cst + RATES.challenger_bond_wei)

    price_and_settle(market, round_id)
    # The answer's own bond came back at close: the poster's vault is as before the round.
    assert_honest_round_unharmed(market, round_id, baseline, auctioneer, poster_vault, burned)
    # What the attacker lost: its challenger bond and its gas.
    assert market.vault(me) == (BIDDER_STAKE, 0, ATTACKER_BOND - RATES.challenger_bond_wei,
                                0, 0, 0)
    assert market.chain.w3.eth.get_balance(me) == eth - attacker.gas_paid_wei()


def test_a_bid_kept_sealed_through_a_contract_wallet_is_forfeited_like_any_other(
        market: Market) -> None:
    """Reveal as an option, from a contract wallet: the attacker's wallet commits a bid and
    keeps it sealed, as one honest bidder forgets to reveal its own. After the reveal phase the
    auctioneer forfeits every commitment left sealed; each forfeits the policy's fee and share
    of its deposit to the treasury."""
    attacker, house = Attacker(market), market.house
    round_id = open_round(market)
    post_honest_asks(market, round_id)
    post_later_ask(market, round_id)
    honest = commit_honest_bids(market, round_id)
    sealed = replace(attacker.bid(round_id, 9, ChainBundle((2,), (5,), 10 * USD)),
                     bidder=market.wallet.address)
    attacker.send_as_wallet(house.functions.commit(terms_args(sealed), envelope_hash(sealed)))
    advance_into(market.chain, house, round_id, Phase.REVEAL)
    reveal_honest_bids(market, honest[:-1])
    advance_into(market.chain, house, round_id, Phase.POST)
    treasury = int(house.functions.creditOf(market.auctioneer.address).call())

    settlement.forfeit_unrevealed(market.system, market.auctioneer, market.book(round_id))

    records = market.book(round_id).records
    kept = [honest[-1], sealed]
    assert [records[digest_of(market, bid)].status for bid in kept] == [Status.FORFEITED] * 2
    assert int(house.functions.creditOf(market.auctioneer.address).call()) == treasury + sum(
        forfeit_micro_usd(bid.max_value_micro_usd) for bid in kept)
