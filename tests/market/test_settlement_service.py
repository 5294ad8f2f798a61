"""The settlement service and the wallet's orders against a real round on the embedded chain:
asks and sealed bids as `rcm wallet` sends them, clearing from chain events, batched and
idempotent posting and finalisation, forfeits, challenges, and every check that stops a bad
order before it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import purpose_id
from chain.connection import Chain, connect
from chain.deploy import deploy_system
from chain.settlement import BidRecord, Deadlines, Phase, Status, advance_into, dataset_id
from chain.system import System
from market import orders, settlement
from market.errors import MarketError
from market.model import Policy
from market.onchain import AskEntry, BidEntry
from market.result import PricedClearing
from market.wdp import SolveParams
from tests.support import role

CST, USD = 10**18, 10**6
PHASE = 600
POLICY = Policy(max_epsilon_micros={"diagnostics": 2_000_000})
PARAMS = SolveParams(time_limit=5.0, workers=1)
SLOT = {"region": "euw1", "slot": "2026-12-07", "slot_seconds": 604_800, "tier": "certified"}
ASKS = [AskEntry.model_validate({**SLOT, "kind": kind, "unit": unit, "capacity": capacity,
                                  "reserve_price": price})
        for kind, unit, capacity, price in [("gpu", "gpu-week", 8, 100 * USD),
                                            ("power", "kW-week", 10, 10 * USD),
                                            ("storage", "TB-week", 20, USD)]]


@dataclass
class Round:
    system: System
    governance: LocalAccount
    provider: LocalAccount
    buyers: list[LocalAccount]
    dataset: int
    round_id: int

    @property
    def chain(self) -> Chain:
        return self.system.chain

    def entry(self, items: dict[str, int], value_usd: int, **terms: Any) -> BidEntry:
        return BidEntry.model_validate({
            "bundles": [{"items": items, "value": value_usd * USD}], "epsilon_micros": 1_000_000,
            "delta": 1e-6, "dataset": self.dataset, "risk_rating": "medium",
            "purpose": "diagnostics", "equity_class": "research", **terms})

    def enter(self, phase: Phase) -> None:
        advance_into(self.chain, self.system.clearing_house, self.round_id, phase)

    def book(self) -> settlement.Book:
        return settlement.read_book(self.system, self.round_id)

    def nonce(self, account: LocalAccount) -> int:
        return int(self.chain.w3.eth.get_transaction_count(account.address))


@pytest.fixture(scope="module")
def market() -> Round:
    """A round in its commit phase: one provider's three items asked, three funded buyers
    holding ε of a dataset that consents to diagnostics."""
    chain = connect()
    governance, provider, owner, *buyers = (chain.dev_account(i) for i in range(6))
    system = deploy_system(chain, governance)
    house, ledger = system.clearing_house, system.ledger
    chain.send(house.functions.grantRole(role(house, "AUCTIONEER_ROLE"), governance.address),
               governance)
    for account, bonded in ((governance, 100 * CST), (provider, 10 * CST)):
        chain.send(system.cst.functions.mint(account.address, bonded), governance)
        chain.send(system.cst.functions.approve(system.vault.address, bonded), account)
        chain.send(system.vault.functions.bond(bonded), account)
    content = b"\x11" * 32
    chain.send(ledger.functions.register(content, 10_000_000, 10**13,
                                         [purpose_id("diagnostics")]), owner)
    dataset = dataset_id(owner.address, content)
    for buyer in buyers:
        chain.send(system.cst.functions.mint(buyer.address, 1_000 * CST), governance)
        chain.send(system.usd.functions.mint(buyer.address, 2_000 * USD), governance)
        chain.send(system.cst.functions.approve(system.vault.address, 1_000 * CST), buyer)
        chain.send(system.vault.functions.stake(1_000 * CST), buyer)
        chain.send(ledger.functions.safeTransferFrom(owner.address, buyer.address, dataset,
                                                     2_000_000, b""), owner)
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    chain.send(house.functions.openRound(Deadlines.after(now, *(PHASE,) * 4).as_args(), USD),
               governance)
    orders.post_asks(system, provider, 1, [ask.to_chain() for ask in ASKS])
    return Round(system, governance, provider, buyers, dataset, 1)


@pytest.fixture(autouse=True)
def _isolated(market: Round) -> Iterator[None]:
    snapshot = market.chain.snapshot()
    yield
    market.chain.revert_to(snapshot)


def _bid_and_reveal(market: Round) -> list[bytes]:
    """The GPU job outbids a smaller one; a storage job fits beside it."""
    first, second, third = market.buyers
    digests = [orders.place_bid(market.system, buyer, 1, entry).digest for buyer, entry in (
        (first, market.entry({"0": 8, "1": 10}, 1_500)),
        (second, market.entry({"0": 6, "1": 8}, 1_200)),
        (third, market.entry({"2": 10}, 50, risk_rating="low")))]
    market.enter(Phase.REVEAL)
    for buyer in market.buyers:
        orders.reveal(market.system, buyer, 1)
    market.enter(Phase.POST)
    return digests


def test_a_round_clears_from_chain_events_posts_once_and_finalises(market: Round) -> None:
    big, small, storage = _bid_and_reveal(market)
    book = market.book()
    result = settlement.clear_round(market.system, book, POLICY, PARAMS)
    assert result.status == "optimal"
    assert {fill.bid for fill in result.allocation} == {"0x" + big.hex(), "0x" + storage.hex()}
    assert [(loss.bid, loss.reason) for loss in result.losing] == [("0x" + small.hex(), "outbid")]
    settlement.save_result(market.system, 1, result)
    assert settlement.load_result(market.system, 1) == result
    assert len(settlement.post(market.system, market.governance, book, result)) == 1
    # A retry finds every fill on chain and sends nothing.
    nonce = market.nonce(market.governance)
    assert settlement.post(market.system, market.governance, market.book(), result) == []
    assert market.nonce(market.governance) == nonce

    market.enter(Phase.FINAL)
    settlement.finalise(market.system, market.governance, market.book())
    records = market.book().records
    assert [records[d].status for d in (big, small, storage)] == [
        Status.FUTURE, Status.RELEASED, Status.FUTURE]
    assert settlement.finalise(market.system, market.governance, market.book()) == []
    # The loser withdraws its whole deposit; a winner its change.
    amount, _ = orders.owed(market.system, market.buyers[1].address)
    assert amount == 1_200 * USD
    paid = records[big].payment_micro_usd
    assert orders.owed(market.system, market.buyers[0].address)[0] == 1_500 * USD - paid
    orders.withdraw_owed(market.system, market.buyers[1], orders.owed(
        market.system, market.buyers[1].address)[1])
    assert market.system.usd.functions.balanceOf(market.buyers[1].address).call() == 2_000 * USD


def test_posting_splits_into_batches_under_a_gas_cap_and_gives_the_same_result(
        market: Round) -> None:
    digests = _bid_and_reveal(market)
    book = market.book()
    result = settlement.clear_round(market.system, book, POLICY, PARAMS)
    whole = market.system.clearing_house.functions.post(
        1, [call for _, call in settlement.fills(book, result)])
    cap = whole.estimate_gas({"from": market.governance.address}) - 1
    receipts = settlement.post(market.system, market.governance, book, result, max_gas=cap)
    assert len(receipts) == 2
    records = market.book().records
    assert {d for d in digests if records[d].status is Status.FILLED} == {digests[0], digests[2]}
    assert market.book().state.welfare_micro_usd == result.welfare


def test_every_payment_stays_between_the_reserve_cost_and_the_bundle_value(
        market: Round) -> None:
    _bid_and_reveal(market)
    book = market.book()
    result = settlement.clear_round(market.system, book, POLICY, PARAMS)
    cut = [payment.model_copy(update={"total": 1}) for payment in result.payments]
    for _, call in settlement.fills(book, result.model_copy(update={"payments": cut})):
        _digest, _index, payment, bundle, _ = call
        reserve = sum(q * ASKS[i].reserve_price for i, q in zip(bundle[0], bundle[1],
                                                                 strict=True))
        assert payment == reserve <= bundle[2]


def test_a_better_result_replaces_a_worse_one_and_a_worse_one_is_refused(market: Round) -> None:
    big, _, _storage = _bid_and_reveal(market)
    book = market.book()
    best = settlement.clear_round(market.system, book, POLICY, PARAMS)
    worse = _without(best, "0x" + big.hex())
    settlement.post(market.system, market.governance, book, worse)
    market.enter(Phase.CHALLENGE)
    challenger = market.buyers[2]
    with pytest.raises(MarketError, match=r"welfare .* is not above"):
        settlement.challenge(market.system, challenger, market.book(), worse)
    settlement.challenge(market.system, challenger, market.book(), best)
    state = market.book().state
    assert (state.poster, state.welfare_micro_usd) == (challenger.address, best.welfare)


def test_closing_the_book_forfeits_unrevealed_commitments(market: Round) -> None:
    digest = orders.place_bid(market.system, market.buyers[0], 1,
                              market.entry({"2": 1}, 10)).digest
    market.enter(Phase.REVEAL)
    with pytest.raises(MarketError, match="reveal phase has not ended"):
        settlement.forfeit_unrevealed(market.system, market.governance, market.book())
    market.enter(Phase.POST)
    assert len(settlement.forfeit_unrevealed(market.system, market.governance,
                                             market.book())) == 1
    assert market.book().records[digest].status is Status.FORFEITED
    assert market.system.clearing_house.functions.creditOf(
        market.governance.address).call() == USD  # the treasury's forfeit fee


@pytest.mark.parametrize(("terms", "message"), [
    ({"bundles": [{"items": {"7": 1}, "value": 10}]}, r"bids\[0\].bundles\[0\].items: round 1 "
                                                       "has no item 7"),
    ({"expiry": 1}, r"bids\[0\].expiry: 1 is already past"),
    ({"bundles": [{"items": {"0": 1}, "value": 5_000 * USD}]},
     "deposit .* exceeds the 2,000.00 USD of the wallet and its credit"),
    ({"risk_rating": "high", "bundles": [{"items": {"0": 1}, "value": 1_900 * USD}]},
     r"risk_rating: the bid needs 1,140\.0000 CST of free stake"),
    ({"epsilon_micros": 2_000_001}, "epsilon_micros: 2000001 exceeds the 2000000 micro-ε"),
    ({"purpose": "advertising"}, "purpose: dataset .* does not consent"),
    ({"delta": 1e-4}, r"delta: 0\.0001 is above the dataset's cap"),
    ({"dataset": 5}, "dataset: no dataset 0x5 is registered"),
])
def test_a_bad_bid_is_refused_before_anything_is_sent(market: Round, terms: dict[str, Any],
                                                      message: str) -> None:
    buyer = market.buyers[0]
    nonce = market.nonce(buyer)
    with pytest.raises(MarketError, match=message):
        orders.place_bid(market.system, buyer, 1, market.entry({"0": 1}, 10, **terms))
    assert market.nonce(buyer) == nonce


def test_orders_out_of_phase_or_without_a_bond_are_refused(market: Round) -> None:
    with pytest.raises(MarketError, match="bond: posting asks needs a reputation bond of 10"):
        orders.post_asks(market.system, market.buyers[0], 1, [ASKS[0].to_chain()])
    with pytest.raises(MarketError, match="--round: no round 9"):
        orders.place_bid(market.system, market.buyers[0], 9, market.entry({"0": 1}, 10))
    with pytest.raises(MarketError, match="reveal needs the reveal phase"):
        orders.reveal(market.system, market.buyers[0], 1)
    market.enter(Phase.REVEAL)
    with pytest.raises(MarketError, match="is in its reveal phase; bid needs the commit phase"):
        orders.place_bid(market.system, market.buyers[0], 1, market.entry({"0": 1}, 10))
    with pytest.raises(MarketError, match=r"no committed bid .* is waiting to be revealed"):
        orders.reveal(market.system, market.buyers[0], 1)


def test_a_cancelled_bid_comes_back_whole_and_a_bid_on_no_data_reserves_no_budget(
        market: Round) -> None:
    buyer, system = market.buyers[0], market.system
    free = system.vault.functions.balanceOf(buyer.address).call()[0]
    digest = orders.place_bid(system, buyer, 1, market.entry(
        {"2": 1}, 10, dataset=0, epsilon_micros=0, purpose="analytics")).digest
    assert system.ledger.functions.balanceOf(buyer.address, market.dataset).call() == 2_000_000
    assert system.vault.functions.balanceOf(buyer.address).call()[0] < free
    orders.cancel(system, buyer, 1, "0x" + digest.hex())
    assert BidRecord.read(system.clearing_house, digest).status is Status.CANCELLED
    assert system.vault.functions.balanceOf(buyer.address).call()[0] == free
    assert orders.owed(system, buyer.address)[0] == 10 * USD
    with pytest.raises(MarketError, match="digest: no committed bid 0x"):
        orders.cancel(system, buyer, 1, "0x" + digest.hex())
    with pytest.raises(MarketError, match="digest: expected 32 bytes in hex"):
        orders.cancel(system, buyer, 1, "0x12")


def test_a_bundle_across_two_providers_is_refused(market: Round) -> None:
    other = market.chain.dev_account(7)
    system = market.system
    system.chain.send(system.cst.functions.mint(other.address, 10 * CST), market.governance)
    system.chain.send(system.cst.functions.approve(system.vault.address, 10 * CST), other)
    system.chain.send(system.vault.functions.bond(10 * CST), other)
    orders.post_asks(system, other, 1, [ASKS[0].to_chain()])
    with pytest.raises(MarketError, match="items of 2 providers"):
        orders.place_bid(system, market.buyers[0], 1, market.entry({"0": 1, "3": 1}, 10))


def test_the_round_read_back_keeps_every_term_of_the_bid(market: Round) -> None:
    _bid_and_reveal(market)
    bids = settlement.market_of(market.system, market.book(), POLICY).bids
    assert next((b.risk_rating, b.purpose, b.equity_class, b.delta, b.epsilon_micros)
            for b in bids) == ("medium", "diagnostics", "research", 1e-6, 1_000_000)
    assert settlement.market_of(market.system, market.book(), POLICY).remaining_budget_micros \
        == {str(market.dataset): 10_000_000}


def _without(result: PricedClearing, bid: str) -> PricedClearing:
    """`result` less one winner, its welfare recounted by the chain's rule."""
    kept = [fill for fill in result.allocation if fill.bid != bid]
    welfare = 50 * USD - 10 * USD  # the storage job: value less its reserve cost
    return result.model_copy(update={
        "allocation": kept, "welfare": welfare,
        "payments": [p for p in result.payments if p.winner != bid]})
