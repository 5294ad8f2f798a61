"""ClearingHouse, final phase to verdict: claimable futures, ERC-1155 claims and transfers,
redemption into oracle jobs, verdicts that pay, slash, refund and void — and the attacks through
receiver hooks on mint, transfer and redeem."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from chain.bid import Bid, Bundle, envelope_hash, terms_args
from chain.connection import Chain
from chain.policy_oracle import register, submit
from chain.settlement import STAKE_UNIT_WEI, Phase, Status
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from tests.contracts.settlement_fixtures import (
    BURN_GAS,
    CST,
    REENTER,
    REENTRANT_CALL,
    REJECT,
    USD,
    Market,
    contract_bidder,
    through,
)
from tests.support import event_args, reverts, role

PAYMENT = 10 * USD


@dataclass(frozen=True)
class Delivery:
    """A round in its final phase whose three bids all won, one of them a contract's."""

    round_id: int
    a: Bid  # buyer's
    b: Bid  # rival's
    h: Bid  # the hostile wallet's
    wallet: Contract
    config_digest: bytes


@pytest.fixture(scope="module")
def won(
    market: Market,
    buyer: LocalAccount,
    rival: LocalAccount,
    outsider: LocalAccount,
    governance: LocalAccount,
    oracle_nodes: list[LocalAccount],
) -> Delivery:
    digest = register(market.system, governance, [n.address for n in oracle_nodes[:4]], 3)
    wallet = contract_bidder(market, outsider)
    round_id = market.open_round()
    a = market.bid(buyer, round_id, Bundle((0, 1), (2, 3), 20 * USD))
    b = market.bid(rival, round_id, Bundle((2,), (4,), 12 * USD))
    h = market.bid(wallet, round_id, Bundle((3,), (1,), 11 * USD))
    market.commit(a, buyer)
    market.commit(b, rival)
    through(market.chain, wallet, outsider)(
        market.house.functions.commit(terms_args(h), envelope_hash(h))
    )
    market.enter(round_id, Phase.REVEAL)
    for bid, signer in ((a, buyer), (b, rival), (h, outsider)):
        market.reveal(bid, signer)
    market.enter(round_id, Phase.POST)
    market.post(round_id, *(market.fill(x, 0, PAYMENT) for x in (a, b, h)))
    market.enter(round_id, Phase.FINAL)
    return Delivery(round_id, a, b, h, wallet, digest)


@pytest.fixture
def issued(market: Market, won: Delivery) -> Delivery:
    market.finalise(won.round_id, [market.digest(x) for x in (won.a, won.b, won.h)], [])
    return won


def _id(market: Market, bid: Bid) -> int:
    return int.from_bytes(market.digest(bid), "big")


def _hex(digest: bytes) -> str:
    return "0x" + digest.hex()


def _claim(chain: Chain, market: Market, bid: Bid, holder: LocalAccount) -> None:
    chain.send(market.house.functions.claim([market.digest(bid)]), holder)


def _transfer(chain: Chain, market: Market, bid: Bid, holder: LocalAccount, to: str) -> None:
    call = market.system.futures.functions.safeTransferFrom(
        holder.address, to, _id(market, bid), 1, b""
    )
    chain.send(call, holder)


def _verdict(
    market: Market, won: Delivery, nodes: list[LocalAccount], bid: Bid, fault: Fault
) -> dict:
    compliant = fault is Fault.NONE
    failed = [] if compliant else ["regulator.epsilon_claim"]
    verdict = Verdict(market.digest(bid), compliant, fault, clauses_hash(failed), won.config_digest)
    domain = verdict_domain(market.chain.chain_id, market.system.oracle.address)
    signatures = [(n.address, sign_verdict(n, domain, verdict)) for n in nodes[:3]]
    receipt = submit(market.system, market.governance, verdict, signatures)
    return event_args(market.house, receipt, "VerdictEnforced")[0]


# ---- finalisation and claims ----


@pytest.mark.parametrize("mode", [REJECT, BURN_GAS])
def test_a_winner_whose_hook_reverts_or_burns_gas_cannot_block_finalisation(
    chain: Chain, market: Market, won: Delivery, outsider: LocalAccount, mode: int
) -> None:
    chain.send(won.wallet.functions.arm(mode, won.wallet.address, b""), outsider)
    digests = [market.digest(x) for x in (won.a, won.b, won.h)]
    receipt = market.finalise(won.round_id, digests, [])
    assert event_args(market.house, receipt, "Finalised")[0]["complete"] is True
    assert [market.record(d).status for d in digests] == [Status.FUTURE] * 3
    if mode == REJECT:
        with reverts("Rejected"):
            through(chain, won.wallet, outsider)(market.house.functions.claim([digests[2]]))
    assert market.record(digests[2]).claimed is False


def test_a_winner_claims_its_future_once_and_moves_it_like_any_erc1155_token(
    chain: Chain, market: Market, issued: Delivery, buyer: LocalAccount, rival: LocalAccount
) -> None:
    digest = market.digest(issued.a)
    with reverts("NotBidder", rival.address, buyer.address):
        chain.send(market.house.functions.claim([digest]), rival)
    _claim(chain, market, issued.a, buyer)
    assert market.record(digest).claimed is True
    with reverts("AlreadyClaimed", _hex(digest)):
        _claim(chain, market, issued.a, buyer)
    _transfer(chain, market, issued.a, buyer, rival.address)
    futures = market.system.futures.functions
    assert futures.balanceOf(rival.address, _id(market, issued.a)).call() == 1
    assert futures.balanceOf(buyer.address, _id(market, issued.a)).call() == 0


def test_a_receiver_reentering_while_its_future_is_minted_gets_one(
    chain: Chain, market: Market, issued: Delivery, outsider: LocalAccount
) -> None:
    digest = market.digest(issued.h)
    claim = market.house.functions.claim([digest])
    chain.send(
        issued.wallet.functions.arm(
            REENTER, market.house.address, claim._encode_transaction_data()
        ),
        outsider,
    )
    through(chain, issued.wallet, outsider)(claim)
    assert issued.wallet.functions.reentryResult().call() == REENTRANT_CALL
    assert (
        market.system.futures.functions.balanceOf(
            issued.wallet.address, _id(market, issued.h)
        ).call()
        == 1
    )
    assert market.record(digest).claimed is True


def test_a_receiver_redeeming_inside_its_transfer_hook_redeems_once(
    chain: Chain, market: Market, issued: Delivery, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    digest = market.digest(issued.a)
    _claim(chain, market, issued.a, buyer)
    redeem = market.house.functions.redeem(_id(market, issued.a))
    chain.send(
        issued.wallet.functions.arm(
            REENTER, market.house.address, redeem._encode_transaction_data()
        ),
        outsider,
    )
    buyer_free = market.free_stake(buyer.address)
    wallet_locked = market.locked(issued.wallet.address)
    bidder_stake = market.stake_of(digest)
    _transfer(chain, market, issued.a, buyer, issued.wallet.address)
    assert issued.wallet.functions.reentrySucceeded().call() is True
    assert (
        market.system.futures.functions.balanceOf(
            issued.wallet.address, _id(market, issued.a)
        ).call()
        == 0
    )
    assert market.record(digest).status is Status.REDEEMED
    assert market.house.functions.redeemerOf(digest).call() == issued.wallet.address
    # The redeemer's stake replaced the bidder's.
    assert market.locked(issued.wallet.address) == wallet_locked + market.stake_of(digest)
    assert (market.free_stake(buyer.address), market.locked(buyer.address)) == (
        buyer_free + bidder_stake,
        0,
    )
    with reverts("UnexpectedStatus", _hex(digest), Status.FUTURE, Status.REDEEMED):
        chain.send(redeem, buyer)


def test_redeem_runs_no_receiver_hook_and_redeems_once(
    chain: Chain, market: Market, issued: Delivery, outsider: LocalAccount
) -> None:
    digest = market.digest(issued.h)
    act = through(chain, issued.wallet, outsider)
    act(market.house.functions.claim([digest]))
    redeem = market.house.functions.redeem(_id(market, issued.h))
    chain.send(
        issued.wallet.functions.arm(
            REENTER, market.house.address, redeem._encode_transaction_data()
        ),
        outsider,
    )
    act(redeem)
    assert issued.wallet.functions.reentered().call() is False
    assert market.record(digest).status is Status.REDEEMED
    assert market.system.oracle.functions.consumerOf(digest).call() == market.house.address
    with reverts("UnexpectedStatus", _hex(digest), Status.FUTURE, Status.REDEEMED):
        act(redeem)


# ---- redemption ----


def test_a_holder_redeeming_in_the_bidders_place_stakes_in_its_place(
    chain: Chain, market: Market, issued: Delivery, buyer: LocalAccount, rival: LocalAccount
) -> None:
    digest = market.digest(issued.a)
    _claim(chain, market, issued.a, buyer)
    _transfer(chain, market, issued.a, buyer, rival.address)
    required = market.system.vault.functions.requiredStake(
        rival.address, issued.a.risk_bps, 20 * USD
    ).call()
    expected = -(-required // STAKE_UNIT_WEI) * STAKE_UNIT_WEI
    rival_locked, buyer_locked = market.locked(rival.address), market.locked(buyer.address)
    bidder_stake = market.stake_of(digest)
    receipt = chain.send(market.house.functions.redeem(_id(market, issued.a)), rival)
    (redeemed,) = event_args(market.house, receipt, "Redeemed")
    assert (redeemed["redeemer"], redeemed["stakeWei"]) == (rival.address, expected)
    assert market.stake_of(digest) == expected
    assert market.locked(rival.address) == rival_locked + expected
    assert market.locked(buyer.address) == buyer_locked - bidder_stake
    assert market.system.oracle.functions.consumerOf(digest).call() == market.house.address
    assert (
        market.system.futures.functions.balanceOf(rival.address, _id(market, issued.a)).call() == 0
    )


def test_an_unclaimed_future_is_redeemed_by_its_winner_only(
    chain: Chain, market: Market, issued: Delivery, rival: LocalAccount, outsider: LocalAccount
) -> None:
    redeem = market.house.functions.redeem(_id(market, issued.b))
    with reverts("NotBidder", outsider.address, rival.address):
        chain.send(redeem, outsider)
    stake = market.stake_of(market.digest(issued.b))
    receipt = chain.send(redeem, rival)
    assert event_args(market.house, receipt, "Redeemed")[0]["stakeWei"] == stake


# ---- verdicts ----


@pytest.fixture
def redeemed(chain: Chain, market: Market, issued: Delivery, buyer: LocalAccount) -> Delivery:
    chain.send(market.house.functions.redeem(_id(market, issued.a)), buyer)
    return issued


def _ledger_state(market: Market) -> tuple[int, int]:
    ledger = market.system.ledger.functions
    return ledger.reservedOf(market.dataset).call(), ledger.datasetOf(market.dataset).call()[3]


def test_a_compliant_verdict_pays_the_provider_releases_the_stake_and_spends_epsilon(
    market: Market, redeemed: Delivery, buyer: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    digest = market.digest(redeemed.a)
    stake, free = market.stake_of(digest), market.free_stake(buyer.address)
    reserved, consumed = _ledger_state(market)
    event = _verdict(market, redeemed, oracle_nodes, redeemed.a, Fault.NONE)
    assert (event["paid"], event["paidMicroUsd"], event["burnedWei"]) == (
        market.provider.address,
        PAYMENT,
        0,
    )
    assert market.house.functions.creditOf(market.provider.address).call() == PAYMENT
    assert (market.locked(buyer.address), market.free_stake(buyer.address)) == (0, free + stake)
    epsilon = redeemed.a.epsilon_micros
    assert _ledger_state(market) == (reserved - epsilon, consumed + epsilon)
    assert market.record(digest).status is Status.SETTLED
    assert market.system.reputation.functions.scoreOf(buyer.address).call() == 100


def test_a_buyer_fault_burns_the_stake_and_still_pays_the_provider(
    market: Market, redeemed: Delivery, buyer: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    digest = market.digest(redeemed.a)
    stake, supply = market.stake_of(digest), market.system.cst.functions.totalSupply().call()
    event = _verdict(market, redeemed, oracle_nodes, redeemed.a, Fault.BUYER)
    assert (event["paid"], event["burnedWei"]) == (market.provider.address, stake)
    assert market.system.cst.functions.totalSupply().call() == supply - stake
    assert market.record(digest).status is Status.VOIDED
    assert market.system.reputation.functions.scoreOf(market.provider.address).call() == 100


def test_a_provider_fault_slashes_its_bond_refunds_the_buyer_and_voids_the_future(
    chain: Chain,
    market: Market,
    redeemed: Delivery,
    buyer: LocalAccount,
    oracle_nodes: list[LocalAccount],
) -> None:
    digest = market.digest(redeemed.a)
    stake, free = market.stake_of(digest), market.free_stake(buyer.address)
    event = _verdict(market, redeemed, oracle_nodes, redeemed.a, Fault.PROVIDER)
    # The penalty is 50 CST; the provider had bonded 10 and loses all of it.
    assert (event["paid"], event["paidMicroUsd"], event["burnedWei"]) == (
        buyer.address,
        PAYMENT,
        10 * CST,
    )
    assert market.system.vault.functions.balanceOf(market.provider.address).call()[2] == 0
    assert (market.locked(buyer.address), market.free_stake(buyer.address)) == (0, free + stake)
    before = market.usd(buyer.address)
    chain.send(market.house.functions.withdraw([digest]), buyer)
    assert market.usd(buyer.address) == before + 20 * USD  # the change and the refunded payment
    with reverts("UnexpectedStatus", _hex(digest), Status.FUTURE, Status.VOIDED):
        chain.send(market.house.functions.redeem(_id(market, redeemed.a)), buyer)


def test_only_the_policy_oracle_delivers_verdicts(
    chain: Chain, market: Market, redeemed: Delivery, outsider: LocalAccount
) -> None:
    digest = market.digest(redeemed.a)
    with reverts("NotPolicyOracle", outsider.address):
        chain.send(market.house.functions.onVerdict(digest, True, 0, bytes(32)), outsider)
    assert market.record(digest).status is Status.REDEEMED


def test_the_provider_withdraws_its_proceeds(
    chain: Chain, market: Market, redeemed: Delivery, oracle_nodes: list[LocalAccount]
) -> None:
    _verdict(market, redeemed, oracle_nodes, redeemed.a, Fault.NONE)
    before = market.usd(market.provider.address)
    chain.send(market.house.functions.withdraw([]), market.provider)
    assert market.usd(market.provider.address) == before + PAYMENT
    with reverts("NothingToWithdraw", market.provider.address):
        chain.send(market.house.functions.withdraw([]), market.provider)


def test_the_regulator_sets_bonds_and_penalties(
    chain: Chain, market: Market, governance: LocalAccount, outsider: LocalAccount
) -> None:
    parameters = (1, 2, 3, 4)
    receipt = chain.send(market.house.functions.setParameters(parameters), governance)
    assert (
        tuple(event_args(market.house, receipt, "ParametersSet")[0]["parameters"].values())
        == parameters
    )
    assert market.house.functions.parameters().call() == parameters
    with reverts(
        "AccessControlUnauthorizedAccount", outsider.address, role(market.house, "REGULATOR_ROLE")
    ):
        chain.send(market.house.functions.setParameters(parameters), outsider)
