"""The settlement service and the wallet's orders against a real round on the embedded chain:
asks and sealed bids as `rcm wallet` sends them, clearing from chain events under the round's
pinned policy, batched and idempotent posting, challenges in batches, the price report every
oracle node recomputes, settlement, forfeits, and every check that stops a bad order before it
is sent — and the auctioneer reading whatever the chain accepted without raising."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

import rcm
from chain.bid import Bid as ChainBid
from chain.bid import Bundle as ChainBundle
from chain.bid import bid_args, bid_domain, envelope_hash, purpose_id, sign_bid, terms_args
from chain.clearing_house import BidRecord, Result, Round, advance_into
from chain.connection import Chain, connect
from chain.deploy import deploy_system
from chain.errors import InsufficientBond, RcmError
from chain.ledger import dataset_id
from chain.policy import LAUNCH_RATES
from chain.policy_oracle import register
from chain.prices import sign_report
from chain.settlement import Deadlines, Phase, Status
from chain.system import System
from chain.times import unix_and_utc, utc_text
from chain.vault import VaultBalance
from chain.verdict import verdict_domain
from market import orders, settlement
from market.errors import MarketError
from market.model import Policy
from market.onchain import AskEntry, BidEntry, policy_to_chain
from market.result import LossReason, PricedClearing
from market.round_book import Book, read_book, round_market
from market.wdp import SolveParams
from tests.support import declaration, role

CST, USD = 10**18, 10**6
PHASE = 600
POLICY = Policy(max_epsilon_micros={"diagnostics": 2_000_000})
RATES = replace(LAUNCH_RATES, provider_bond_per_unit_wei=CST // 100,
                provider_slash_wei=CST // 100, answer_window_seconds=300, max_extension_seconds=600,
                pricing_window_seconds=600)
PARAMS = SolveParams(time_limit=5.0, workers=1)
SLOT = {"region": "euw1", "slot": "2027-06-07", "slot_seconds": 604_800, "tier": "certified"}
ENCLAVE = "e7" * 32  # the GPU's enclave measurement: its futures' jobs must run there
ASKS = [AskEntry.model_validate({**SLOT, "kind": kind, "unit": unit, "capacity": capacity,
                                  "reserve_price": price, "enclave_measurement": enclave})
        for kind, unit, capacity, price, enclave in [("gpu", "gpu-week", 8, 100 * USD, ENCLAVE),
                                                     ("power", "kW-week", 10, 10 * USD, None),
                                                     ("storage", "TB-week", 20, USD, None)]]
NODES = sorted((Account.from_key(bytes([0x60 + i]) * 32) for i in range(3)),
               key=lambda node: int(node.address, 16))


@dataclass
class Market:
    system: System
    governance: LocalAccount
    provider: LocalAccount
    buyers: list[LocalAccount]
    dataset: int
    config_digest: bytes
    round_id: int

    @property
    def chain(self) -> Chain:
        return self.system.chain

    def bid(self, items: dict[str, int], value_usd: int, risk: str = "medium", **terms: Any
            ) -> dict[str, Any]:
        """A bid as a bid file holds it, declaring a job of the `risk` band's minimum."""
        purpose = terms.get("purpose", "diagnostics")
        return {"bundles": [{"items": items, "value": value_usd * USD}],
                "epsilon_micros": 1_000_000, "delta": 1e-6, "dataset": self.dataset,
                "declaration": declaration(purpose, risk), "purpose": purpose,
                "equity_class": "research", **terms}

    def entry(self, items: dict[str, int], value_usd: int, risk: str = "medium", **terms: Any
              ) -> BidEntry:
        return BidEntry.model_validate(self.bid(items, value_usd, risk, **terms))

    def wallet(self, account: LocalAccount) -> rcm.Wallet:
        return rcm.Market(self.system).wallet_of(account)

    def enter(self, phase: Phase) -> None:
        advance_into(self.chain, self.system.clearing_house, self.round_id, phase)

    def book(self) -> Book:
        return read_book(self.system, self.round_id)

    def nonce(self, account: LocalAccount) -> int:
        return int(self.chain.w3.eth.get_transaction_count(account.address))

    def price(self) -> None:
        """What `rcm round price` does, without HTTP: two of the three nodes recompute the
        report from the chain, sign it, and it goes on chain."""
        domain = verdict_domain(self.chain.chain_id, self.system.oracle.address)
        report = settlement.price_report(self.system, self.book(), self.config_digest)
        signatures = [(n.address, sign_report(n, domain, report)) for n in NODES[:2]]
        settlement.submit_prices(self.system, self.governance, report, signatures)


@pytest.fixture(scope="module")
def market() -> Market:
    """A round in its commit phase: one provider's three items asked, three funded buyers
    holding ε of a dataset that consents to diagnostics, a 2-of-3 oracle set registered."""
    chain = connect()
    governance, provider, owner, *buyers = (chain.dev_account(i) for i in range(6))
    system = deploy_system(chain, governance, policy=policy_to_chain(POLICY, RATES))
    house, ledger = system.clearing_house, system.ledger
    chain.send(house.functions.grantRole(role(house, "AUCTIONEER_ROLE"), governance.address),
               governance)
    config_digest = register(system, governance, [n.address for n in NODES], 2)
    for account, bonded in ((governance, 200 * CST), (provider, 10 * CST)):
        chain.send(system.cst.functions.mint(account.address, bonded), governance)
        chain.send(system.cst.functions.approve(system.vault.address, bonded), account)
        chain.send(system.vault.functions.bond(bonded), account)
    content = b"\x11" * 32
    chain.send(ledger.functions.register(content, 10_000_000, 10**13, 10**15,
                                         [purpose_id("diagnostics")], 0), owner)
    dataset = dataset_id(owner.address, content)
    for buyer in buyers:
        chain.send(system.cst.functions.mint(buyer.address, 1_000 * CST), governance)
        chain.send(system.usd.functions.mint(buyer.address, 2_000 * USD), governance)
        chain.send(system.cst.functions.approve(system.vault.address, 1_000 * CST), buyer)
        chain.send(system.vault.functions.stake(1_000 * CST), buyer)
        chain.send(system.cst.functions.mint(buyer.address, 100 * CST), governance)
        chain.send(system.cst.functions.approve(system.vault.address, 100 * CST), buyer)
        chain.send(system.vault.functions.bond(100 * CST), buyer)
        chain.send(ledger.functions.safeTransferFrom(owner.address, buyer.address, dataset,
                                                     2_000_000, b""), owner)
    now = int(chain.latest_timestamp())
    chain.send(house.functions.openRound(Deadlines.after(now, *(PHASE,) * 4).as_args()),
               governance)
    orders.post_asks(system, provider, 1, [ask.to_chain() for ask in ASKS])
    return Market(system, governance, provider, buyers, dataset, config_digest, 1)


@pytest.fixture(autouse=True)
def _isolated(market: Market) -> Iterator[None]:
    snapshot = market.chain.snapshot()
    yield
    market.chain.revert_to(snapshot)


def _bid_and_reveal(market: Market) -> list[bytes]:
    """The GPU job outbids a smaller one; a storage job fits beside it."""
    first, second, third = market.buyers
    digests = [orders.place_bid(market.system, buyer, 1, entry).digest for buyer, entry in (
        (first, market.entry({"0": 8, "1": 10}, 1_500)),
        (second, market.entry({"0": 6, "1": 8}, 1_200)),
        (third, market.entry({"2": 10}, 50, risk="low")))]
    market.enter(Phase.REVEAL)
    for buyer in market.buyers:
        orders.reveal(market.system, buyer, 1)
    market.enter(Phase.POST)
    return digests


def test_a_round_clears_posts_once_is_priced_by_the_quorum_and_settles(market: Market) -> None:
    big, small, storage = _bid_and_reveal(market)
    book = market.book()
    result = settlement.clear_round(book, PARAMS)
    assert result.status == "optimal"
    assert {fill.bid for fill in result.allocation} == {"0x" + big.hex(), "0x" + storage.hex()}
    assert [(loss.bid, loss.reason) for loss in result.losing] == [("0x" + small.hex(), "outbid")]
    settlement.save_result(market.system, 1, result)
    assert settlement.load_result(market.system, 1) == result
    assert len(settlement.post(market.system, market.governance, book, result)) == 1
    posted = Result.read(market.system.clearing_house, 1, 1)
    assert (posted.welfare_micro_usd, posted.solver_status, posted.bound_micro_usd) == (
        result.welfare, 1, result.welfare)
    # A retry finds every fill on chain and sends nothing.
    nonce = market.nonce(market.governance)
    assert settlement.post(market.system, market.governance, market.book(), result) == []
    assert market.nonce(market.governance) == nonce

    market.enter(Phase.PRICE)
    market.price()
    settlement.settle(market.system, market.governance, market.book())
    records = market.book().records
    assert [records[d].status for d in (big, small, storage)] == [
        Status.FUTURE, Status.RELEASED, Status.FUTURE]
    paid = {p.winner: p.total for p in result.payments}
    assert records[big].payment_micro_usd == paid["0x" + big.hex()]
    assert settlement.settle(market.system, market.governance, market.book()) == []
    # The loser withdraws its whole deposit; a winner its change; the auctioneer's bond comes
    # back, and of the provider's, all but one slash for each of its two futures.
    assert orders.owed(market.system, market.buyers[1].address)[0] == 1_200 * USD
    assert orders.owed(market.system, market.buyers[0].address)[0] == (
        1_500 * USD - records[big].payment_micro_usd)
    orders.withdraw_owed(market.system, market.buyers[1], orders.owed(
        market.system, market.buyers[1].address)[1])
    assert market.system.usd.functions.balanceOf(market.buyers[1].address).call() == 2_000 * USD
    locked = [VaultBalance.read(market.system.vault, account.address).bond_locked_wei
              for account in (market.governance, market.provider)]
    assert locked == [0, 2 * RATES.provider_slash_wei]


def test_the_quorums_report_is_the_auctioneers_own_pricing(market: Market) -> None:
    big, _, storage = _bid_and_reveal(market)
    result = settlement.clear_round(market.book(), PARAMS)
    settlement.post(market.system, market.governance, market.book(), result)
    market.enter(Phase.PRICE)
    report = settlement.price_report(market.system, market.book(), market.config_digest)
    paid = {p.winner: p.total for p in result.payments}
    order = sorted([big, storage])
    assert report.payments_micro_usd == tuple(paid["0x" + d.hex()] for d in order)
    assert report.item_prices_micro_usd == tuple(result.item_prices[str(i)] for i in range(3))
    assert (report.round_id, report.result_version) == (1, 1)


def test_an_unpriced_round_settles_every_winner_at_its_reserve_cost(market: Market) -> None:
    big, _, storage = _bid_and_reveal(market)
    result = settlement.clear_round(market.book(), PARAMS)
    settlement.post(market.system, market.governance, market.book(), result)
    market.enter(Phase.PRICE)
    market.chain.advance_time(RATES.pricing_window_seconds + 1)
    settlement.settle(market.system, market.governance, market.book())
    records = market.book().records
    reserve = {big: 8 * 100 * USD + 10 * 10 * USD, storage: 10 * USD}
    assert {d: records[d].payment_micro_usd for d in (big, storage)} == reserve


def test_posting_splits_into_batches_under_a_gas_cap_and_gives_the_same_result(
        market: Market) -> None:
    _bid_and_reveal(market)
    book = market.book()
    result = settlement.clear_round(book, PARAMS)
    whole = market.system.clearing_house.functions.post(
        1, [call for _, call in settlement.fills(book, result)], settlement.solver_claim(result))
    cap = market.chain.estimate_gas(whole, market.governance.address) - 1
    receipts = settlement.post(market.system, market.governance, book, result, max_gas=cap)
    assert len(receipts) == 2
    posted = Result.read(market.system.clearing_house, 1, 1)
    assert (posted.batch_count, posted.fill_count, posted.welfare_micro_usd) == (
        2, 2, result.welfare)


def test_a_better_result_replaces_a_worse_one_in_batches_and_a_worse_one_is_refused(
        market: Market) -> None:
    big, _, _storage = _bid_and_reveal(market)
    best = settlement.clear_round(market.book(), PARAMS)
    worse = _without(best, "0x" + big.hex())
    settlement.post(market.system, market.governance, market.book(), worse)
    market.enter(Phase.CHALLENGE)
    challenger = market.buyers[2]
    needed = worse.welfare + worse.welfare * RATES.min_improvement_bps // 10_000
    with pytest.raises(MarketError, match=rf"does not beat the standing result .* at least "
                                          rf"{needed} is needed"):
        settlement.challenge(market.system, challenger, market.book(), worse)
    whole = market.system.clearing_house.functions.challenge(
        1, 0, [call for _, call in settlement.fills(market.book(), best)], False)
    cap = market.chain.estimate_gas(whole, challenger.address) - 1
    receipts = settlement.challenge(market.system, challenger, market.book(), best,
                                    max_gas=cap)
    assert len(receipts) == 2  # one fill a batch; the second seals the challenge
    state = Round.read(market.system.clearing_house, 1)
    standing = Result.read(market.system.clearing_house, 1, state.standing_version)
    assert (state.standing_version, standing.poster, standing.welfare_micro_usd) == (
        2, challenger.address, best.welfare)


def test_closing_the_book_forfeits_unrevealed_commitments(market: Market) -> None:
    digest = orders.place_bid(market.system, market.buyers[0], 1,
                              market.entry({"2": 1}, 10)).digest
    market.enter(Phase.REVEAL)
    with pytest.raises(MarketError, match="reveal phase has not ended"):
        settlement.forfeit_unrevealed(market.system, market.governance, market.book())
    market.enter(Phase.POST)
    assert len(settlement.forfeit_unrevealed(market.system, market.governance,
                                             market.book())) == 1
    assert market.book().records[digest].status is Status.FORFEITED
    forfeited = RATES.forfeit_fee_micro_usd + 10 * USD * RATES.forfeit_bps // 10_000
    assert market.system.clearing_house.functions.creditOf(
        market.governance.address).call() == min(forfeited, 10 * USD)  # the treasury's


@pytest.mark.parametrize(("terms", "message"), [
    ({"bundles": [{"items": {"0": 1}, "value": 5_000 * USD}]},
     "deposit .* exceeds the 2,000.00 USD of the wallet and its credit"),
    ({"purpose": "advertising", "epsilon_micros": 0}, "purpose: dataset .* does not consent"),
    ({"delta": 1e-4}, r"delta: 0\.0001 is above the dataset's cap"),
    ({"dataset": 5}, "dataset: no dataset 0x5 is registered"),
])
def test_a_bad_bid_is_refused_before_anything_is_sent(market: Market, terms: dict[str, Any],
                                                      message: str) -> None:
    buyer = market.buyers[0]
    nonce = market.nonce(buyer)
    with pytest.raises(RcmError, match=message):
        orders.place_bid(market.system, buyer, 1, market.entry({"0": 1}, 200, **terms))
    assert market.nonce(buyer) == nonce


def test_a_bid_without_the_free_stake_it_locks_is_refused_before_anything_is_sent(
        market: Market) -> None:
    buyer = market.buyers[0]
    market.chain.send(market.system.vault.functions.unstake(900 * CST), buyer)
    nonce = market.nonce(buyer)
    # Medium risk locks 30 % of the deposit at 1 CST per USD: 570 CST, of the 100 left free.
    with pytest.raises(RcmError, match=r"risk_bps: the bid needs 570 CST of free stake"):
        orders.place_bid(market.system, buyer, 1, market.entry({"0": 1}, 1_900))
    assert market.nonce(buyer) == nonce


# Issue 18: each of these was committed, its deposit and stake locked until the round was
# final, though no allocation could fill it. The reasons are the auctioneer's own.
@pytest.mark.parametrize(("terms", "field", "reason"), [
    ({"bundles": [{"items": {"7": 1}, "value": 200 * USD}]},
     "bids[0].bundles[0].items", "round 1 has no item 7 (it has 3)"),
    ({"bundles": [{"items": {"0": 1_000}, "value": 200_000 * USD}]},
     "bids[0].bundles[0].items",
     "can never win (malformed): needs 1000 units of item 0, which offers 8"),
    ({"bundles": [{"items": {"0": 1}, "value": 0}]},
     "bids[0].bundles[0].value", "Input should be greater than 0"),
    ({"bundles": [{"items": {"0": 1}, "value": 10 * USD}]}, "bids[0].bundles[0].value",
     "can never win (below_reserve): value 10.00 USD is below the reserve cost 100.00 USD of its "
     "units"),
    ({"bundles": [{"items": {"0": 1}, "value": 200 * USD},
                  {"items": {"1": 2}, "value": 5 * USD}]}, "bids[0].bundles[1].value",
     "can never win (below_reserve): value 5.00 USD is below the reserve cost 20.00 USD of its "
     "units"),
    ({"epsilon_micros": 2_000_001}, "bids[0].epsilon_micros",
     "can never win (epsilon_over_policy): ε 2.000001 exceeds the policy's 2 for purpose "
     "'diagnostics'"),
    ({"purpose": "advertising"}, "bids[0].epsilon_micros",
     "can never win (epsilon_over_policy): ε 1 exceeds the policy's 0 for purpose "
     "'advertising'"),
    ({"expiry": 1}, "bids[0].expiry", "can never win (expired): expired at 1 (1970-01-01 "
                                      "00:00:01 UTC), cleared at {cleared}"),
    ({"purpose": "analytics", "epsilon_micros": 0}, "bids[0].purpose",
     "dataset {dataset:#x} does not consent to it"),
])
def test_a_bid_that_can_never_win_is_refused_with_the_auctioneers_reason(
        market: Market, terms: dict[str, Any], field: str, reason: str) -> None:
    buyer = market.buyers[0]
    cleared = Round.read(market.system.clearing_house, 1).deadlines.reveal_timestamp
    nonce = market.nonce(buyer)
    with pytest.raises(RcmError) as raised:
        market.wallet(buyer).bid(1, market.bid({"0": 1}, 200, **terms))
    assert (raised.value.field, raised.value.reason) == (
        field, reason.format(cleared=unix_and_utc(cleared), dataset=market.dataset))
    assert market.nonce(buyer) == nonce


def test_a_bundle_on_a_tier_its_risk_may_not_use_is_refused(market: Market) -> None:
    _second_provider(market, ASKS[0].model_copy(update={"tier": "standard"}))
    buyer = market.buyers[0]
    nonce = market.nonce(buyer)
    with pytest.raises(RcmError) as raised:
        market.wallet(buyer).bid(1, market.bid({"3": 1}, 200))
    assert (raised.value.field, raised.value.reason) == (
        "bids[0].bundles[0].items.3",
        "can never win (ineligible_tier): a medium-risk job may not run on the standard tier")
    assert market.nonce(buyer) == nonce


def test_a_dry_run_sends_nothing_and_reports_the_stake_a_real_bid_then_locks(
        market: Market) -> None:
    buyer, vault = market.buyers[0], market.system.vault
    wallet = market.wallet(buyer)
    nonce, locked = market.nonce(buyer), VaultBalance.read(vault, buyer.address).locked_wei
    verdict = wallet.bid(1, market.bid({"0": 1, "1": 1}, 200), dry_run=True)
    assert (verdict.refusal, verdict.deposit_micro_usd) == (None, 200 * USD)
    assert market.nonce(buyer) == nonce  # not even an approval
    refused = wallet.bid(1, market.bid({"0": 1}, 10), dry_run=True)
    assert refused.refusal is not None and refused.refusal.field == "bids[0].bundles[0].value"
    assert (refused.deposit_micro_usd, refused.stake_wei) == (10 * USD, verdict.stake_wei // 20)
    assert market.nonce(buyer) == nonce
    placed = wallet.bid(1, market.bid({"0": 1, "1": 1}, 200))
    assert placed.stake_wei == verdict.stake_wei > 0
    assert VaultBalance.read(vault, buyer.address).locked_wei - locked == verdict.stake_wei


def test_the_bids_of_one_file_are_sent_all_or_none(market: Market) -> None:
    """Each bid alone is fine, but the buyer holds 2 ε of the dataset: the third would find
    none left once the first two reserved theirs, so none is signed."""
    buyer = market.buyers[0]
    wallet, nonce = market.wallet(buyer), market.nonce(buyer)
    saved = wallet.committed(1)  # by the tests before, on this machine
    bids = [market.bid({"1": 1}, 20) for _ in range(3)]
    verdicts = wallet.bids(1, bids, dry_run=True)
    assert [v.refusal is None for v in verdicts] == [True, True, False]
    with pytest.raises(RcmError) as raised:
        wallet.bids(1, bids)
    assert (raised.value.field, raised.value.reason) == (
        "bids[2].epsilon_micros", "ε 1; ε 3 with the bids before it exceeds the 2 ε of "
        f"dataset {market.dataset:#x} that {buyer.address} holds")
    assert market.nonce(buyer) == nonce and wallet.committed(1) == saved
    assert len(wallet.bids(1, bids[:2])) == 2


def test_a_bid_on_a_dataset_with_no_delta_left_for_a_job_is_refused_before_sending(
        market: Market) -> None:
    """A dataset with δ for one job at its cap of 1e-5: the second bid finds none left."""
    chain, ledger, buyer = market.chain, market.system.ledger, market.buyers[0]
    owner = chain.dev_account(2)  # the fixture's data owner
    content = b"\x12" * 32
    chain.send(ledger.functions.register(content, 10_000_000, 10**13, 10**13,
                                         [purpose_id("diagnostics")], 0), owner)
    small = dataset_id(owner.address, content)
    chain.send(ledger.functions.safeTransferFrom(owner.address, buyer.address, small, 2_000_000,
                                                 b""), owner)
    orders.place_bid(market.system, buyer, 1, market.entry({"0": 1}, 200, dataset=small))
    nonce = market.nonce(buyer)
    with pytest.raises(MarketError, match=rf"dataset: {small:#x} has 0 of its δ budget left; "
                                          r"every job is charged its cap 1e-05"):
        orders.place_bid(market.system, buyer, 1, market.entry({"1": 1}, 10, dataset=small))
    assert market.nonce(buyer) == nonce


def test_orders_out_of_phase_or_without_a_bond_are_refused(market: Market) -> None:
    stranger = market.chain.dev_account(8)
    with pytest.raises(InsufficientBond, match=r"these asks lock 0\.08 CST of bond"):
        orders.post_asks(market.system, stranger, 1, [ASKS[0].to_chain()])
    with pytest.raises(MarketError, match="round_id: no round 9"):
        orders.place_bid(market.system, market.buyers[0], 9, market.entry({"0": 1}, 200))
    bidding = Round.read(market.system.clearing_house, 1).deadlines.commit_timestamp
    with pytest.raises(MarketError) as early:
        orders.reveal(market.system, market.buyers[0], 1)
    assert early.value.reason == (
        "round 1 is in its commit phase; reveal needs the reveal phase, which opens after "
        f"{bidding} ({utc_text(bidding)})")
    market.enter(Phase.REVEAL)
    with pytest.raises(MarketError) as late:
        orders.place_bid(market.system, market.buyers[0], 1, market.entry({"0": 1}, 200))
    assert late.value.reason == (
        "round 1 is in its reveal phase; bid needs the commit phase, which ended at "
        f"{bidding} ({utc_text(bidding)})")
    with pytest.raises(MarketError, match=r"no committed bid .* is waiting to be revealed"):
        orders.reveal(market.system, market.buyers[0], 1)


def test_a_cancelled_bid_comes_back_whole_and_a_bid_on_no_data_reserves_no_budget(
        market: Market) -> None:
    buyer, system = market.buyers[0], market.system
    free = VaultBalance.read(system.vault, buyer.address).free_wei
    digest = orders.place_bid(system, buyer, 1, market.entry(
        {"2": 1}, 10, dataset=0, epsilon_micros=0, purpose="analytics")).digest
    assert system.ledger.functions.balanceOf(buyer.address, market.dataset).call() == 2_000_000
    assert VaultBalance.read(system.vault, buyer.address).free_wei < free
    orders.cancel(system, buyer, 1, "0x" + digest.hex())
    assert BidRecord.read(system.clearing_house, digest).status is Status.CANCELLED
    assert VaultBalance.read(system.vault, buyer.address).free_wei == free
    assert orders.owed(system, buyer.address)[0] == 10 * USD
    with pytest.raises(MarketError, match="digest: no committed bid 0x"):
        orders.cancel(system, buyer, 1, "0x" + digest.hex())
    with pytest.raises(MarketError, match="digest: expected 32 bytes in hex"):
        orders.cancel(system, buyer, 1, "0x12")


def test_a_bundle_across_two_providers_is_refused(market: Market) -> None:
    other = _second_provider(market)
    providers = ", ".join(sorted((market.provider.address, other.address)))
    with pytest.raises(MarketError) as raised:
        orders.place_bid(market.system, market.buyers[0], 1,
                         market.entry({"0": 1, "3": 1}, 300))
    assert (raised.value.field, raised.value.reason) == (
        "bids[0].bundles[0].items",
        f"can never win (malformed): its items are offered by 2 providers ({providers})")


def test_the_round_read_back_keeps_every_term_of_the_bid(market: Market) -> None:
    _bid_and_reveal(market)
    rm = round_market(market.book())
    assert next((b.risk_bps, b.purpose, b.equity_class, b.delta, b.epsilon_micros)
                for b in rm.market.bids) == (3_000, "diagnostics", "research", 1e-6, 1_000_000)
    assert rm.market.remaining_budget_micros == {str(market.dataset): 10_000_000}
    assert rm.market.policy.max_epsilon_micros == POLICY.max_epsilon_micros
    assert [ask.enclave_measurement for ask in rm.market.asks] == [ENCLAVE, None, None]
    assert rm.malformed == []


def test_what_the_chain_accepts_but_no_fill_can_use_is_a_malformed_loss(market: Market) -> None:
    """Sent straight to the chain, past the wallet's checks: a bundle spanning two providers and
    one asking for more units than the item has are revealed; the auctioneer clears the rest and
    reports each as `malformed`, and a bid with one usable bundle keeps competing with it."""
    _second_provider(market)
    spans = _raw_bid(market, market.buyers[0], ChainBundle((0, 3), (1, 1), 900 * USD))
    too_many = _raw_bid(market, market.buyers[1], ChainBundle((2,), (21,), 30 * USD))
    mixed = _raw_bid(market, market.buyers[2], ChainBundle((0, 3), (1, 1), 500 * USD),
                     ChainBundle((2,), (5,), 40 * USD))
    market.enter(Phase.REVEAL)
    for bid, buyer in zip((spans, too_many, mixed), market.buyers, strict=True):
        signature = sign_bid(buyer, _domain(market), bid)
        market.chain.send(market.system.clearing_house.functions.reveal(bid_args(bid), signature),
                          buyer)
    market.enter(Phase.POST)
    result = settlement.clear_round(market.book(), PARAMS)
    reasons = {loss.bid: loss.reason for loss in result.losing}
    digests = {name: "0x" + market.system.clearing_house.functions.bidDigest(
        terms_args(bid), envelope_hash(bid)).call().hex() for name, bid in
        (("spans", spans), ("too_many", too_many), ("mixed", mixed))}
    assert reasons[digests["spans"]] is LossReason.MALFORMED
    assert reasons[digests["too_many"]] is LossReason.MALFORMED
    assert [(f.bid, f.bundle) for f in result.allocation] == [(digests["mixed"], 1)]
    assert len(settlement.post(market.system, market.governance, market.book(), result)) == 1


def test_an_allocation_that_leaves_a_fitting_bid_unfilled_still_prices(market: Market) -> None:
    """A challenger's allocation need not be maximal; the oracle nodes still price it, the bid
    it left out counting as `unselected` against the prices."""
    big, _, storage = _bid_and_reveal(market)
    best = settlement.clear_round(market.book(), PARAMS)
    settlement.post(market.system, market.governance, market.book(),
                    _without(best, "0x" + storage.hex(), welfare=1_500 * USD - 900 * USD))
    market.enter(Phase.PRICE)
    report = settlement.price_report(market.system, market.book(), market.config_digest)
    assert len(report.payments_micro_usd) == 1
    assert report.payments_micro_usd[0] >= 900 * USD
    assert big in market.book().revealed


def _second_provider(market: Market, ask: AskEntry = ASKS[0]) -> LocalAccount:
    other = market.chain.dev_account(7)
    system = market.system
    system.chain.send(system.cst.functions.mint(other.address, 10 * CST), market.governance)
    system.chain.send(system.cst.functions.approve(system.vault.address, 10 * CST), other)
    system.chain.send(system.vault.functions.bond(10 * CST), other)
    orders.post_asks(system, other, 1, [ask.to_chain()])
    return other


def _domain(market: Market) -> Any:
    return bid_domain(market.chain.chain_id, market.system.clearing_house.address)


def _raw_bid(market: Market, buyer: LocalAccount, *bundles: ChainBundle) -> ChainBid:
    """A bid committed straight to the chain (no wallet check), on no private data."""
    state = Round.read(market.system.clearing_house, 1)
    bid = ChainBid(round_id=1, bidder=buyer.address,
                   max_value_micro_usd=max(b.value_micro_usd for b in bundles), dataset_id=0,
                   epsilon_micros=0, delta_atto=0, risk_bps=state.min_risk_bps,
                   declaration_hash=bytes(32), purpose=purpose_id("general"), equity_class=0,
                   nonce=7,
                   expiry_timestamp=2**63, bundles=bundles)
    house = market.system.clearing_house
    market.chain.send(market.system.usd.functions.approve(house.address, bid.max_value_micro_usd),
                      buyer)
    market.chain.send(house.functions.commit(terms_args(bid), envelope_hash(bid)), buyer)
    return bid


def _without(result: PricedClearing, bid: str, welfare: int = 50 * USD - 10 * USD
             ) -> PricedClearing:
    """`result` less one winner, its welfare recounted by the chain's rule (by default the
    storage job alone: its value less its reserve cost)."""
    kept = [fill for fill in result.allocation if fill.bid != bid]
    return result.model_copy(update={
        "allocation": kept, "welfare": welfare, "bound": welfare,
        "payments": [p for p in result.payments if p.winner != bid]})


def test_a_bid_cut_off_before_its_commit_left_is_not_kept_and_one_sent_is(
        market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while `wallet bid` sends: the store keeps a signed bid only if its commit left
    the wallet, so every kept bid can be revealed and none is a commitment never made."""
    buyer, chain = market.buyers[0], market.chain
    send = chain.send

    def cut_off(before_broadcast: bool) -> Any:
        def sending(call: Any, sender: Any, value: int = 0) -> Any:
            if call.function.name != "commit":
                return send(call, sender, value)
            if before_broadcast:
                raise KeyboardInterrupt
            send(call, sender, value)
            raise KeyboardInterrupt  # waiting for the receipt
        return sending

    kept = {digest for digest, _, _ in orders.saved_bids(market.system)}
    monkeypatch.setattr(chain, "send", cut_off(before_broadcast=True))
    with pytest.raises(KeyboardInterrupt):
        orders.place_bid(market.system, buyer, 1, market.entry({"0": 1}, 200))
    assert {digest for digest, _, _ in orders.saved_bids(market.system)} == kept
    monkeypatch.setattr(chain, "send", cut_off(before_broadcast=False))
    with pytest.raises(KeyboardInterrupt):
        orders.place_bid(market.system, buyer, 1, market.entry({"0": 1}, 200))
    monkeypatch.setattr(chain, "send", send)
    [sent] = {digest for digest, _, _ in orders.saved_bids(market.system)} - kept
    assert BidRecord.read(market.system.clearing_house, sent).status is Status.COMMITTED
    market.enter(Phase.REVEAL)
    assert [digest for digest, _ in orders.reveal(market.system, buyer, 1)] == [sent]
