"""ClearingHouse, final phase to verdict: a round settled through post, price, finalise, release
and close; futures claimed as ERC-1155 tokens and moved; redemption into oracle jobs; verdicts
that pay, burn, slash and refund; withdrawals — and the attacks through receiver hooks on mint,
transfer and redeem. Every refusal names its custom error and leaves the books as they were."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import Bid, Bundle, envelope_hash, terms_args
from chain.clearing_house import CLAIMED, REFUNDED, ProviderBond
from chain.connection import Chain
from chain.contract import Contract
from chain.ledger import Dataset, reserved_delta_atto, reserved_micro_epsilon
from chain.policy import ChainPolicy
from chain.policy_oracle import submit
from chain.settlement import STAKE_UNIT_WEI, Phase, Status
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from tests.contracts.round_support import last_to_end
from tests.contracts.settlement_fixtures import (
    ASKS,
    AUCTIONEER_BOND,
    BURN_GAS,
    CST,
    DECLARATION_HASH,
    MAX_DELTA_ATTO,
    ORACLE_THRESHOLD,
    POLICY,
    PROVIDER_BOND_PER_UNIT,
    PROVIDER_SLASH,
    REENTER,
    REENTRANT_CALL,
    REJECT,
    USD,
    VERDICT_WINDOW,
    Market,
    contract_bidder,
    fund_and_bond,
    through,
)
from tests.support import event_args, reverts
from tokens.errors import TokensError
from tokens.futures import end_deliveries, redeem

PROVIDER_BOND = 10 * CST  # what build_market bonds the provider
AUCTIONEER_BONDED = 2 * AUCTIONEER_BOND  # what build_market bonds the auctioneer


@dataclass(frozen=True)
class Settled:
    """A round whose result fills three bids, one of them a contract wallet's, and leaves a
    fourth revealed bid out."""

    round_id: int
    a: Bid  # buyer's: items 0 and 1, 2 and 3 units, for 20 USD
    b: Bid  # rival's: item 2, 4 units, for 12 USD
    h: Bid  # the hostile wallet's: item 3, 1 unit, for 11 USD
    lost: Bid  # rival's: item 0, 9 units, for 9 USD; 2 + 9 would overfill item 0
    wallet: Contract

    @property
    def winners(self) -> tuple[Bid, Bid, Bid]:
        return self.a, self.b, self.h


@pytest.fixture(scope="module")
def final(
    chain: Chain, market: Market, buyer: LocalAccount, rival: LocalAccount, outsider: LocalAccount
) -> Settled:
    """The round priced and in its final phase, no future issued yet."""
    wallet = contract_bidder(market, outsider)
    round_id = market.open_round()
    settled = Settled(
        round_id,
        market.bid(buyer, round_id, Bundle((0, 1), (2, 3), 20 * USD)),
        market.bid(rival, round_id, Bundle((2,), (4,), 12 * USD)),
        market.bid(wallet, round_id, Bundle((3,), (1,), 11 * USD)),
        market.bid(rival, round_id, Bundle((0,), (9,), 9 * USD), nonce=1),
        wallet,
    )
    market.commit(settled.a, buyer)
    market.commit(settled.b, rival)
    market.commit(settled.lost, rival)
    commit = market.house.functions.commit(terms_args(settled.h), envelope_hash(settled.h))
    through(chain, wallet, outsider)(commit)
    market.enter(round_id, Phase.REVEAL)
    for bid, signer in (
        (settled.a, buyer),
        (settled.b, rival),
        (settled.lost, rival),
        (settled.h, outsider),
    ):
        market.reveal(bid, signer)
    market.enter(round_id, Phase.POST)
    market.post(round_id, *((bid, 0) for bid in settled.winners))
    market.enter(round_id, Phase.PRICE)
    market.price(round_id)
    market.enter(round_id, Phase.FINAL)
    return settled


@pytest.fixture
def issued(market: Market, final: Settled) -> Settled:
    """Every future issued, the loser released, the round closed."""
    market.finalise(final.round_id)
    market.release(final.round_id, [market.digest(final.lost)])
    market.close(final.round_id)
    return final


@pytest.fixture
def redeemed(chain: Chain, market: Market, issued: Settled, buyer: LocalAccount) -> Settled:
    """The buyer's future redeemed by the buyer into an oracle job."""
    chain.send(market.house.functions.redeem(_id(market, issued.a), DECLARATION_HASH), buyer)
    return issued


# ---- helpers ----


def _id(market: Market, bid: Bid) -> int:
    return int.from_bytes(market.digest(bid), "big")


def _hex(digest: bytes) -> str:
    return "0x" + digest.hex()


def _reserve_cost(bid: Bid) -> int:
    """The first bundle's units at the asks' reserve prices."""
    bundle = bid.bundles[0]
    return sum(
        q * ASKS[i].reserve_price_micro_usd
        for i, q in zip(bundle.items, bundle.quantities, strict=True)
    )


def _payment(bid: Bid) -> int:
    """What a winner pays: the fixture's price report charges its reserve cost plus one."""
    return _reserve_cost(bid) + 1


def _books(market: Market, *accounts: str) -> dict[str, Any]:
    """Every balance a refused call must leave as it was: each account's USD, credit, vault
    balance, ε and futures of the round's winners; the clearing house's USD; CST supply."""
    return {
        "house": market.usd(market.house.address),
        "supply": market.system.cst.functions.totalSupply().call(),
        **{
            account: (
                market.usd(account),
                market.credit(account),
                market.vault_balance(account),
                market.budget(account),
            )
            for account in accounts
        },
    }


def _records(market: Market, settled: Settled) -> list[Any]:
    return [market.record(market.digest(bid)) for bid in (*settled.winners, settled.lost)]


def _claim(chain: Chain, market: Market, bid: Bid, holder: LocalAccount) -> Any:
    return chain.send(market.house.functions.claim([market.digest(bid)]), holder)


def _transfer(chain: Chain, market: Market, bid: Bid, holder: LocalAccount, to: str) -> None:
    call = market.system.futures.functions.safeTransferFrom(
        holder.address, to, _id(market, bid), 1, b""
    )
    chain.send(call, holder)


def _held(market: Market, holder: str, bid: Bid) -> int:
    return int(market.system.futures.functions.balanceOf(holder, _id(market, bid)).call())


def _verdict(market: Market, bid: Bid, fault: Fault) -> dict[str, Any]:
    """Submits the oracle quorum's verdict on the bid's job; returns `VerdictEnforced`."""
    compliant = fault is Fault.NONE
    failed = [] if compliant else ["regulator.epsilon_claim"]
    verdict = Verdict(
        market.digest(bid), compliant, fault, clauses_hash(failed), market.config_digest
    )
    domain = verdict_domain(market.chain.chain_id, market.system.oracle.address)
    signatures: list[tuple[str, bytes]] = [
        (n.address, sign_verdict(n, domain, verdict)) for n in market.nodes[:ORACLE_THRESHOLD]
    ]
    receipt = submit(market.system, market.governance, verdict, signatures)
    return event_args(market.house, receipt, "VerdictEnforced")[0]


def _bond(market: Market, account: str) -> tuple[int, int]:
    """The account's bond in the vault: (bonded, bondLocked)."""
    balance = market.vault_balance(account)
    return balance.bonded_wei, balance.bond_locked_wei


def _ledger(market: Market) -> tuple[int, int]:
    """The dataset's reserved and consumed ε."""
    ledger = market.system.ledger
    return (reserved_micro_epsilon(ledger, market.dataset),
            Dataset.read(ledger, market.dataset).consumed_micro_epsilon)


def _delta(market: Market) -> tuple[int, int]:
    """The dataset's reserved and consumed δ: the cap for each job, whatever its own δ."""
    ledger = market.system.ledger
    return (reserved_delta_atto(ledger, market.dataset),
            Dataset.read(ledger, market.dataset).consumed_delta_atto)


def _worth(market: Market, digest: bytes) -> int:
    record = market.record(digest)
    worth = record.payment_micro_usd * record.risk_bps // 10_000
    assert worth > 0
    return worth


def _score(market: Market, account: str) -> int:
    return int(market.system.reputation.functions.scoreOf(account).call())


# ---- settlement ----


def test_a_settled_round_leaves_each_winner_a_future_and_each_loser_its_deposit(
    market: Market, issued: Settled, rival: LocalAccount
) -> None:
    for bid in issued.winners:
        record = market.record(market.digest(bid))
        assert (record.status, record.bundle_index, record.provider_item) == (
            Status.FUTURE,
            0,
            last_to_end(bid.bundles[0], ASKS),
        )
        assert record.payment_micro_usd == _payment(bid)
        assert market.house.functions.refundOf(market.digest(bid)).call() == (
            bid.max_value_micro_usd - _payment(bid)
        )
    lost = market.record(market.digest(issued.lost))
    assert lost.status is Status.RELEASED
    assert market.house.functions.refundOf(market.digest(issued.lost)).call() == (
        issued.lost.max_value_micro_usd
    )
    # The loser's stake and ε are free again; the winners' are held until their verdicts.
    assert market.locked(rival.address) == market.stake_of(market.digest(issued.b))
    assert _ledger(market) == (sum(bid.epsilon_micros for bid in issued.winners), 0)
    assert _delta(market) == (MAX_DELTA_ATTO * len(issued.winners), 0)


def test_closing_the_round_releases_every_bond_it_held_once(
    chain: Chain, market: Market, final: Settled
) -> None:
    auctioneer, provider = market.auctioneer.address, market.provider.address
    market.finalise(final.round_id)
    market.release(final.round_id, [market.digest(final.lost)])
    asked_wei = sum(a.capacity for a in ASKS) * PROVIDER_BOND_PER_UNIT
    assert _bond(market, provider) == (PROVIDER_BOND - asked_wei, asked_wei)
    assert _bond(market, auctioneer) == (AUCTIONEER_BONDED - AUCTIONEER_BOND, AUCTIONEER_BOND)
    receipt = market.close(final.round_id)
    assert event_args(market.house, receipt, "Closed") == [{"roundId": final.round_id}]
    # One slash stays committed to each of the provider's three futures.
    held = len(final.winners) * PROVIDER_SLASH
    assert event_args(market.system.vault, receipt, "BondReleased") == [
        {"account": auctioneer, "amount": AUCTIONEER_BOND},
        {"account": provider, "amount": asked_wei - held},
    ]
    assert _bond(market, provider) == (PROVIDER_BOND - held, held)
    assert _bond(market, auctioneer) == (AUCTIONEER_BONDED, 0)
    assert market.round(final.round_id).closed is True
    before = _books(market, auctioneer, provider)
    with reverts("RoundClosed", final.round_id):
        market.close(final.round_id)
    assert _books(market, auctioneer, provider) == before


@pytest.mark.parametrize("mode", [REJECT, BURN_GAS], ids=["rejecting", "gas-burning"])
def test_a_winner_whose_hook_reverts_or_burns_gas_cannot_block_finalisation(
    chain: Chain, market: Market, final: Settled, outsider: LocalAccount, mode: int
) -> None:
    chain.send(final.wallet.functions.arm(mode, final.wallet.address, b""), outsider)
    receipts = market.finalise(final.round_id)
    issued = [e["futureId"] for r in receipts for e in event_args(market.house, r, "Issued")]
    assert sorted(issued) == sorted(market.digest(bid) for bid in final.winners)
    assert [market.record(market.digest(b)).status for b in final.winners] == [Status.FUTURE] * 3
    assert market.round(final.round_id).issued_count == len(final.winners)


def test_a_winner_whose_hook_rejects_the_mint_cannot_claim_but_keeps_its_future(
    chain: Chain, market: Market, issued: Settled, outsider: LocalAccount
) -> None:
    chain.send(issued.wallet.functions.arm(REJECT, issued.wallet.address, b""), outsider)
    digest = market.digest(issued.h)
    before = market.record(digest)
    with reverts("Rejected"):
        through(chain, issued.wallet, outsider)(market.house.functions.claim([digest]))
    assert market.record(digest) == before
    assert (before.status, before.claimed) == (Status.FUTURE, False)
    assert _held(market, issued.wallet.address, issued.h) == 0


# ---- claims ----


def test_a_winner_claims_its_future_once_and_moves_it_like_any_erc1155_token(
    chain: Chain, market: Market, issued: Settled, buyer: LocalAccount, rival: LocalAccount
) -> None:
    digest = market.digest(issued.a)
    before = market.record(digest)
    with reverts("NotBidder", rival.address, buyer.address):
        _claim(chain, market, issued.a, rival)
    assert market.record(digest) == before
    receipt = _claim(chain, market, issued.a, buyer)
    (minted,) = event_args(market.system.futures, receipt, "TransferSingle")
    assert (minted["from"], minted["to"], minted["id"], minted["value"]) == (
        "0x" + "00" * 20,
        buyer.address,
        _id(market, issued.a),
        1,
    )
    assert market.record(digest).claimed is True
    claimed = market.record(digest)
    with reverts("AlreadyClaimed", _hex(digest)):
        _claim(chain, market, issued.a, buyer)
    assert (market.record(digest), _held(market, buyer.address, issued.a)) == (claimed, 1)
    _transfer(chain, market, issued.a, buyer, rival.address)
    assert (_held(market, rival.address, issued.a), _held(market, buyer.address, issued.a)) == (
        1,
        0,
    )


def test_a_records_flags_are_the_contracts_claimed_and_refunded_bits(
    chain: Chain, market: Market, issued: Settled, buyer: LocalAccount, rival: LocalAccount
) -> None:
    """`ClearingHouseBase` keeps CLAIMED and REFUNDED internal, so `chain.clearing_house`'s
    copies are checked by what sets them: a claim, and a released loser's withdrawal."""
    _claim(chain, market, issued.a, buyer)
    chain.send(market.house.functions.withdraw([market.digest(issued.lost)]), rival)
    assert market.record(market.digest(issued.a)).flags == CLAIMED
    assert market.record(market.digest(issued.lost)).flags == REFUNDED


def test_a_future_listed_twice_in_one_claim_is_minted_once(
    chain: Chain, market: Market, issued: Settled, buyer: LocalAccount
) -> None:
    digest = market.digest(issued.a)
    with reverts("AlreadyClaimed", _hex(digest)):
        chain.send(market.house.functions.claim([digest, digest]), buyer)
    assert market.record(digest).claimed is False
    assert _held(market, buyer.address, issued.a) == 0


def test_only_an_issued_future_is_claimed(
    chain: Chain, market: Market, final: Settled, buyer: LocalAccount, rival: LocalAccount
) -> None:
    digest = market.digest(final.a)
    with reverts("UnexpectedStatus", _hex(digest), Status.FUTURE, Status.REVEALED):
        _claim(chain, market, final.a, buyer)
    market.finalise(final.round_id)
    market.release(final.round_id, [market.digest(final.lost)])
    lost = market.digest(final.lost)
    with reverts("UnexpectedStatus", _hex(lost), Status.FUTURE, Status.RELEASED):
        _claim(chain, market, final.lost, rival)
    unknown = b"\x01" * 32
    with reverts("UnexpectedStatus", _hex(unknown), Status.FUTURE, Status.NONE):
        chain.send(market.house.functions.claim([unknown]), rival)
    assert _held(market, rival.address, final.lost) == 0
    assert market.record(lost).claimed is False


def test_a_receiver_reentering_while_its_future_is_minted_gets_one(
    chain: Chain, market: Market, issued: Settled, outsider: LocalAccount
) -> None:
    digest = market.digest(issued.h)
    claim = market.house.functions.claim([digest])
    chain.send(
        issued.wallet.functions.arm(
            REENTER, market.house.address, claim.data
        ),
        outsider,
    )
    through(chain, issued.wallet, outsider)(claim)
    assert issued.wallet.functions.reentered().call() is True
    assert issued.wallet.functions.reentryResult().call() == REENTRANT_CALL
    assert _held(market, issued.wallet.address, issued.h) == 1
    assert market.record(digest).claimed is True


# ---- redemption ----


def test_a_receiver_redeeming_inside_its_transfer_hook_redeems_once(
    chain: Chain, market: Market, issued: Settled, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    digest = market.digest(issued.a)
    _claim(chain, market, issued.a, buyer)
    redeem = market.house.functions.redeem(_id(market, issued.a), DECLARATION_HASH)
    chain.send(
        issued.wallet.functions.arm(
            REENTER, market.house.address, redeem.data
        ),
        outsider,
    )
    buyer_free = market.free_stake(buyer.address)
    wallet_locked = market.locked(issued.wallet.address)
    bidder_stake = market.stake_of(digest)
    _transfer(chain, market, issued.a, buyer, issued.wallet.address)
    assert issued.wallet.functions.reentrySucceeded().call() is True
    assert _held(market, issued.wallet.address, issued.a) == 0
    assert market.record(digest).status is Status.REDEEMED
    assert market.house.functions.redeemerOf(digest).call() == issued.wallet.address
    # The redeemer's stake replaced the bidder's.
    assert market.locked(issued.wallet.address) == wallet_locked + market.stake_of(digest)
    assert (market.free_stake(buyer.address), market.locked(buyer.address)) == (
        buyer_free + bidder_stake,
        0,
    )
    redeemed = market.record(digest)
    with reverts("UnexpectedStatus", _hex(digest), Status.FUTURE, Status.REDEEMED):
        chain.send(redeem, buyer)
    assert market.record(digest) == redeemed


def test_redeem_runs_no_receiver_hook_and_redeems_once(
    chain: Chain, market: Market, issued: Settled, outsider: LocalAccount
) -> None:
    digest = market.digest(issued.h)
    act = through(chain, issued.wallet, outsider)
    act(market.house.functions.claim([digest]))
    redeem = market.house.functions.redeem(_id(market, issued.h), DECLARATION_HASH)
    chain.send(
        issued.wallet.functions.arm(
            REENTER, market.house.address, redeem.data
        ),
        outsider,
    )
    receipt = act(redeem)
    assert issued.wallet.functions.reentered().call() is False
    assert event_args(market.house, receipt, "Redeemed") == [
        {"futureId": digest, "redeemer": issued.wallet.address, "stakeWei": market.stake_of(digest),
         "declarationHash": DECLARATION_HASH}
    ]
    assert market.record(digest).status is Status.REDEEMED
    assert market.system.oracle.functions.consumerOf(digest).call() == market.house.address
    with reverts("UnexpectedStatus", _hex(digest), Status.FUTURE, Status.REDEEMED):
        act(redeem)


def test_a_holder_redeeming_in_the_bidders_place_stakes_in_its_place(
    chain: Chain, market: Market, issued: Settled, buyer: LocalAccount, rival: LocalAccount
) -> None:
    digest = market.digest(issued.a)
    _claim(chain, market, issued.a, buyer)
    _transfer(chain, market, issued.a, buyer, rival.address)
    required = market.system.vault.functions.requiredStake(
        rival.address, issued.a.risk_bps, issued.a.max_value_micro_usd
    ).call()
    expected = -(-required // STAKE_UNIT_WEI) * STAKE_UNIT_WEI
    rival_locked, buyer_locked = market.locked(rival.address), market.locked(buyer.address)
    bidder_stake = market.stake_of(digest)
    receipt = chain.send(market.house.functions.redeem(_id(market, issued.a), DECLARATION_HASH),
                         rival)
    (redeemed,) = event_args(market.house, receipt, "Redeemed")
    assert (redeemed["redeemer"], redeemed["stakeWei"]) == (rival.address, expected)
    assert market.stake_of(digest) == expected
    assert market.locked(rival.address) == rival_locked + expected
    assert market.locked(buyer.address) == buyer_locked - bidder_stake
    assert market.system.oracle.functions.consumerOf(digest).call() == market.house.address
    assert _held(market, rival.address, issued.a) == 0


def test_an_unclaimed_future_is_redeemed_by_its_winner_only(
    chain: Chain, market: Market, issued: Settled, rival: LocalAccount, outsider: LocalAccount
) -> None:
    digest = market.digest(issued.b)
    redeem = market.house.functions.redeem(_id(market, issued.b), DECLARATION_HASH)
    before = _books(market, rival.address, outsider.address), market.record(digest)
    with reverts("NotBidder", outsider.address, rival.address):
        chain.send(redeem, outsider)
    assert (_books(market, rival.address, outsider.address), market.record(digest)) == before
    receipt = chain.send(redeem, rival)
    assert event_args(market.house, receipt, "Redeemed") == [
        {"futureId": digest, "redeemer": rival.address, "stakeWei": market.stake_of(digest),
         "declarationHash": DECLARATION_HASH}
    ]
    assert market.house.functions.redeemerOf(digest).call() == rival.address


def test_a_claimed_future_is_redeemed_by_its_holder_not_its_bidder(
    chain: Chain, market: Market, issued: Settled, buyer: LocalAccount, rival: LocalAccount
) -> None:
    digest = market.digest(issued.a)
    _claim(chain, market, issued.a, buyer)
    _transfer(chain, market, issued.a, buyer, rival.address)
    before = _books(market, buyer.address, rival.address), market.record(digest)
    with reverts("ERC1155InsufficientBalance", buyer.address, 0, 1, _id(market, issued.a)):
        chain.send(market.house.functions.redeem(_id(market, issued.a), DECLARATION_HASH), buyer)
    assert (_books(market, buyer.address, rival.address), market.record(digest)) == before
    assert _held(market, rival.address, issued.a) == 1


# ---- verdicts ----


def test_a_compliant_verdict_pays_the_provider_releases_the_stake_and_spends_epsilon(
    market: Market, redeemed: Settled, buyer: LocalAccount
) -> None:
    digest = market.digest(redeemed.a)
    stake, free = market.stake_of(digest), market.free_stake(buyer.address)
    reserved, consumed = _ledger(market)
    reserved_delta, consumed_delta = _delta(market)
    event = _verdict(market, redeemed.a, Fault.NONE)
    assert event == {
        "jobId": digest,
        "compliant": True,
        "fault": Fault.NONE,
        "paid": market.provider.address,
        "paidMicroUsd": _payment(redeemed.a),
        "burnedWei": 0,
    }
    assert market.credit(market.provider.address) == _payment(redeemed.a)
    assert (market.locked(buyer.address), market.free_stake(buyer.address)) == (0, free + stake)
    epsilon = redeemed.a.epsilon_micros
    assert _ledger(market) == (reserved - epsilon, consumed + epsilon)
    assert _delta(market) == (reserved_delta - MAX_DELTA_ATTO, consumed_delta + MAX_DELTA_ATTO)
    assert market.record(digest).status is Status.SETTLED
    # An audit is worth the job's payment at its risk score, to each party.
    worth = _worth(market, digest)
    assert (_score(market, buyer.address), _score(market, market.provider.address)) == (
        worth, worth)


def test_a_buyer_fault_burns_the_stake_and_still_pays_the_provider(
    market: Market, redeemed: Settled, buyer: LocalAccount
) -> None:
    digest = market.digest(redeemed.a)
    stake = market.stake_of(digest)
    supply = market.system.cst.functions.totalSupply().call()
    provider_bond = market.vault_balance(market.provider.address)
    event = _verdict(market, redeemed.a, Fault.BUYER)
    assert (event["paid"], event["paidMicroUsd"], event["burnedWei"]) == (
        market.provider.address,
        _payment(redeemed.a),
        stake,
    )
    assert market.system.cst.functions.totalSupply().call() == supply - stake
    assert market.locked(buyer.address) == 0
    assert market.vault_balance(market.provider.address) == provider_bond
    assert market.credit(market.provider.address) == _payment(redeemed.a)
    assert market.record(digest).status is Status.VOIDED
    assert (_score(market, buyer.address), _score(market, market.provider.address)) == (
        0, _worth(market, digest))


def test_a_provider_fault_burns_the_policys_slash_from_its_bond_and_refunds_the_buyer(
    chain: Chain, market: Market, redeemed: Settled, buyer: LocalAccount, governance: LocalAccount
) -> None:
    fund_and_bond(market.system, governance, market.provider, 100 * CST)
    digest = market.digest(redeemed.a)
    stake, free = market.stake_of(digest), market.free_stake(buyer.address)
    bonded, _ = _bond(market, market.provider.address)
    supply = market.system.cst.functions.totalSupply().call()
    event = _verdict(market, redeemed.a, Fault.PROVIDER)
    assert (event["paid"], event["paidMicroUsd"], event["burnedWei"]) == (
        buyer.address,
        _payment(redeemed.a),
        PROVIDER_SLASH,
    )
    # Burned from what the round holds for the provider's futures; two are still open.
    assert _bond(market, market.provider.address) == (bonded, 2 * PROVIDER_SLASH)
    assert ProviderBond.read(market.house, redeemed.round_id, market.provider.address) == (
        ProviderBond(2 * PROVIDER_SLASH, 2))
    assert market.system.cst.functions.totalSupply().call() == supply - PROVIDER_SLASH
    assert (market.locked(buyer.address), market.free_stake(buyer.address)) == (0, free + stake)
    assert market.credit(market.provider.address) == 0
    assert market.record(digest).status is Status.VOIDED
    assert (_score(market, buyer.address), _score(market, market.provider.address)) == (
        _worth(market, digest), 0)
    # The change and the refunded payment: the whole deposit back.
    before = market.usd(buyer.address)
    chain.send(market.house.functions.withdraw([digest]), buyer)
    assert market.usd(buyer.address) == before + redeemed.a.max_value_micro_usd
    voided = market.record(digest)
    with reverts("UnexpectedStatus", _hex(digest), Status.FUTURE, Status.VOIDED):
        chain.send(market.house.functions.redeem(_id(market, redeemed.a), DECLARATION_HASH), buyer)
    assert market.record(digest) == voided


def test_a_provider_who_unbonds_and_withdraws_after_the_round_still_pays_its_fault_slash(
    chain: Chain, market: Market, redeemed: Settled
) -> None:
    """Issue 16, finding 1: the provider unbonds everything it can after the round and
    withdraws it after the unbonding delay, before the job's verdict; the slash is still there,
    committed to the future since the round closed."""
    vault = market.system.vault.functions
    provider = market.provider
    free, held = _bond(market, provider.address)
    assert held == len(redeemed.winners) * PROVIDER_SLASH
    chain.send(vault.unbond(free), provider)
    with reverts("InsufficientBond", provider.address, 1, 0):
        chain.send(vault.unbond(1), provider)
    chain.advance_time(int(vault.unbondingDelaySeconds().call()) + 1)
    chain.send(vault.withdraw(), provider)
    assert _bond(market, provider.address) == (0, held)
    supply = market.system.cst.functions.totalSupply().call()
    event = _verdict(market, redeemed.a, Fault.PROVIDER)
    assert event["burnedWei"] == PROVIDER_SLASH
    assert market.system.cst.functions.totalSupply().call() == supply - PROVIDER_SLASH
    assert _bond(market, provider.address) == (0, held - PROVIDER_SLASH)


def test_a_provider_fault_slashes_by_the_rounds_policy_not_the_current_one(
    chain: Chain, market: Market, redeemed: Settled, governance: LocalAccount
) -> None:
    lenient = ChainPolicy(
        replace(POLICY.rules, rates=replace(POLICY.rules.rates,
                                            provider_slash_wei=PROVIDER_SLASH // 5)),
        POLICY.epsilon_limits,
        POLICY.pricing,
        POLICY.rubric_hash,
    )
    chain.send(market.system.policies.functions.setPolicy(lenient.as_args()), governance)
    fund_and_bond(market.system, governance, market.provider, 100 * CST)
    event = _verdict(market, redeemed.a, Fault.PROVIDER)
    assert event["burnedWei"] == PROVIDER_SLASH != lenient.rules.rates.provider_slash_wei


def test_a_provider_cannot_shield_its_bond_from_a_fault_slash_by_offering_it_in_a_new_round(
    market: Market, redeemed: Settled, governance: LocalAccount
) -> None:
    # The provider offers its whole bond, 110 CST at 0.1 CST a unit, in the next round's asks:
    # what an active provider does every round. The verdict on its earlier job arrives then.
    fund_and_bond(market.system, governance, market.provider, 100 * CST)
    units = _bond(market, market.provider.address)[0] // PROVIDER_BOND_PER_UNIT
    market.open_round(asks=(replace(ASKS[0], capacity=units),))
    assert _bond(market, market.provider.address) == (0, PROVIDER_BOND + 100 * CST)
    event = _verdict(market, redeemed.a, Fault.PROVIDER)
    assert event["burnedWei"] == PROVIDER_SLASH


def test_only_the_policy_oracle_delivers_verdicts(
    chain: Chain, market: Market, redeemed: Settled, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    digest = market.digest(redeemed.a)
    before = _books(market, buyer.address, market.provider.address), market.record(digest)
    for caller in (outsider, buyer):
        with reverts("NotPolicyOracle", caller.address):
            chain.send(market.house.functions.onVerdict(digest, True, 0, bytes(32)), caller)
    assert (_books(market, buyer.address, market.provider.address), market.record(digest)) == before


# ---- withdrawals ----


def test_the_provider_withdraws_its_proceeds_once(
    chain: Chain, market: Market, redeemed: Settled
) -> None:
    _verdict(market, redeemed.a, Fault.NONE)
    provider = market.provider
    before = market.usd(provider.address)
    receipt = chain.send(market.house.functions.withdraw([]), provider)
    assert event_args(market.house, receipt, "Withdrawn") == [
        {"account": provider.address, "amountMicroUsd": _payment(redeemed.a), "bids": []}
    ]
    assert market.usd(provider.address) == before + _payment(redeemed.a)
    paid = _books(market, provider.address)
    with reverts("NothingToWithdraw", provider.address):
        chain.send(market.house.functions.withdraw([]), provider)
    assert _books(market, provider.address) == paid


def test_a_winner_withdraws_its_change_and_a_loser_its_deposit_each_once(
    chain: Chain, market: Market, issued: Settled, buyer: LocalAccount, rival: LocalAccount
) -> None:
    a, b, lost = (market.digest(bid) for bid in (issued.a, issued.b, issued.lost))
    before = _books(market, buyer.address, rival.address), _records(market, issued)
    with reverts("NotBidder", rival.address, buyer.address):
        chain.send(market.house.functions.withdraw([a]), rival)
    assert (_books(market, buyer.address, rival.address), _records(market, issued)) == before
    rival_usd = market.usd(rival.address)
    receipt = chain.send(market.house.functions.withdraw([b, lost]), rival)
    owed = issued.b.max_value_micro_usd - _payment(issued.b) + issued.lost.max_value_micro_usd
    assert event_args(market.house, receipt, "Withdrawn") == [
        {"account": rival.address, "amountMicroUsd": owed, "bids": [b, lost]}
    ]
    assert market.usd(rival.address) == rival_usd + owed
    assert [market.house.functions.refundOf(d).call() for d in (b, lost)] == [0, 0]
    assert market.record(b).status is Status.FUTURE  # its payment stays for the provider
    paid = _books(market, rival.address)
    with reverts("NothingToWithdraw", rival.address):
        chain.send(market.house.functions.withdraw([b, lost]), rival)
    assert _books(market, rival.address) == paid


def test_a_commit_after_a_verdict_sees_the_budget_the_verdict_consumed(
    chain: Chain, market: Market, redeemed: Settled, buyer: LocalAccount
) -> None:
    _verdict(market, redeemed.a, Fault.NONE)
    dataset = Dataset.read(market.system.ledger, market.dataset)
    assert dataset.consumed_micro_epsilon == redeemed.a.epsilon_micros
    round_id = market.open_round()
    bid = market.bid(buyer, round_id, Bundle((0,), (1,), USD))
    receipt = chain.send(market.house.functions.commit(terms_args(bid), envelope_hash(bid)), buyer)
    assert event_args(market.house, receipt, "Committed")[0]["datasetRemainingMicros"] == (
        dataset.total_micro_epsilon - dataset.consumed_micro_epsilon
    )


# ---- deadlines: every lock ends ----


def _delivery_end(bid: Bid) -> int:
    item = ASKS[last_to_end(bid.bundles[0], ASKS)]
    return item.slot_start_timestamp + item.slot_seconds


def _past(chain: Chain, market: Market, timestamp: int) -> None:
    chain.advance_time(timestamp + 1 - market.now())


def _expire(chain: Chain, market: Market, *expiries: tuple[Bid, str]) -> Any:
    call = market.house.functions.expire([(market.digest(bid), holder) for bid, holder in expiries])
    return chain.send(call, market.governance)


def test_a_future_is_redeemed_once_its_round_is_closed_and_before_its_delivery_ends(
    chain: Chain, market: Market, final: Settled, buyer: LocalAccount, rival: LocalAccount
) -> None:
    market.finalise(final.round_id)
    digest = market.digest(final.a)
    before = _books(market, buyer.address), market.record(digest)
    with reverts("RoundNotClosed", final.round_id):
        chain.send(market.house.functions.redeem(_id(market, final.a), DECLARATION_HASH), buyer)
    assert (_books(market, buyer.address), market.record(digest)) == before
    market.release(final.round_id, [market.digest(final.lost)])
    market.close(final.round_id)
    chain.send(market.house.functions.redeem(_id(market, final.a), DECLARATION_HASH), buyer)
    assert market.record(digest).status is Status.REDEEMED
    _past(chain, market, _delivery_end(final.b))
    late = market.record(market.digest(final.b))
    with reverts("DeliveryOver", _hex(market.digest(final.b)), _delivery_end(final.b)):
        chain.send(market.house.functions.redeem(_id(market, final.b), DECLARATION_HASH), rival)
    assert market.record(market.digest(final.b)) == late


def test_an_unredeemed_future_expires_paying_its_provider_and_giving_its_epsilon_to_its_holder(
    chain: Chain, market: Market, issued: Settled, buyer: LocalAccount, rival: LocalAccount,
    outsider: LocalAccount,
) -> None:
    """The rival's future was claimed and sold on to the outsider; the buyer's never left it."""
    _claim(chain, market, issued.b, rival)
    _transfer(chain, market, issued.b, rival, outsider.address)
    b = market.digest(issued.b)
    with reverts("DeliveryNotOver", _hex(b), _delivery_end(issued.b)):
        _expire(chain, market, (issued.b, outsider.address))
    _past(chain, market, max(_delivery_end(issued.a), _delivery_end(issued.b)))
    before = _books(market, rival.address, outsider.address), market.record(b)
    with reverts("ERC1155InsufficientBalance", rival.address, 0, 1, _id(market, issued.b)):
        _expire(chain, market, (issued.b, rival.address))
    assert (_books(market, rival.address, outsider.address), market.record(b)) == before
    provider = market.provider.address
    credit = market.credit(provider)
    budgets = market.budget(buyer.address), market.budget(outsider.address)
    stakes = market.locked(buyer.address), market.locked(rival.address)
    reserved, consumed = _ledger(market)
    reserved_delta, consumed_delta = _delta(market)
    # The holder given for an unclaimed future is ignored: its bidder holds it.
    receipt = _expire(chain, market, (issued.a, outsider.address), (issued.b, outsider.address))
    assert event_args(market.house, receipt, "Expired") == [
        {"futureId": market.digest(issued.a), "holder": buyer.address,
         "paidMicroUsd": _payment(issued.a)},
        {"futureId": b, "holder": outsider.address, "paidMicroUsd": _payment(issued.b)},
    ]
    assert [market.record(market.digest(bid)).status for bid in (issued.a, issued.b)] == [
        Status.EXPIRED, Status.EXPIRED]
    assert market.credit(provider) == credit + _payment(issued.a) + _payment(issued.b)
    assert (market.locked(buyer.address), market.locked(rival.address)) == (
        stakes[0] - market.stake_of(market.digest(issued.a)),
        stakes[1] - market.stake_of(b))
    assert (market.budget(buyer.address), market.budget(outsider.address)) == (
        budgets[0] + issued.a.epsilon_micros, budgets[1] + issued.b.epsilon_micros)
    assert _ledger(market) == (
        reserved - issued.a.epsilon_micros - issued.b.epsilon_micros, consumed)
    assert _delta(market) == (reserved_delta - 2 * MAX_DELTA_ATTO, consumed_delta)
    assert _held(market, outsider.address, issued.b) == 0
    # The hostile wallet's future is still open: the provider's bond stays held for it.
    assert ProviderBond.read(market.house, issued.round_id, provider) == (
        ProviderBond(len(issued.winners) * PROVIDER_SLASH, 1))
    expired = market.record(b)
    with reverts("UnexpectedStatus", _hex(b), Status.FUTURE, Status.EXPIRED):
        _expire(chain, market, (issued.b, outsider.address))
    with reverts("UnexpectedStatus", _hex(b), Status.FUTURE, Status.EXPIRED):
        chain.send(market.house.functions.redeem(_id(market, issued.b), DECLARATION_HASH), outsider)
    assert market.record(b) == expired


def test_a_job_without_a_verdict_by_its_deadline_times_out_as_each_partys_worst_verdict(
    chain: Chain, market: Market, redeemed: Settled, buyer: LocalAccount
) -> None:
    digest = market.digest(redeemed.a)
    deadline = _delivery_end(redeemed.a) + VERDICT_WINDOW
    _past(chain, market, deadline - 1)
    before = _books(market, buyer.address, market.provider.address), market.record(digest)
    with reverts("VerdictNotOverdue", _hex(digest), deadline):
        chain.send(market.house.functions.timeOut([digest]), market.governance)
    assert (_books(market, buyer.address, market.provider.address), market.record(digest)) == (
        before)
    _past(chain, market, deadline)
    treasury = market.credit(market.governance.address)
    stake = market.stake_of(digest)
    supply = market.system.cst.functions.totalSupply().call()
    reserved, consumed = _ledger(market)
    reserved_delta, consumed_delta = _delta(market)
    receipt = chain.send(market.house.functions.timeOut([digest]), market.governance)
    assert event_args(market.house, receipt, "TimedOut") == [{
        "jobId": digest, "paymentMicroUsd": _payment(redeemed.a), "burnedStakeWei": stake,
        "burnedBondWei": PROVIDER_SLASH}]
    assert market.record(digest).status is Status.TIMED_OUT
    # The buyer pays and loses its stake, as at its own fault; the provider is unpaid and
    # slashed, as at its own: the payment goes to the treasury.
    assert market.credit(market.governance.address) == treasury + _payment(redeemed.a)
    assert market.credit(market.provider.address) == 0
    assert market.locked(buyer.address) == 0
    assert market.system.cst.functions.totalSupply().call() == supply - stake - PROVIDER_SLASH
    assert _ledger(market) == (reserved - redeemed.a.epsilon_micros,
                               consumed + redeemed.a.epsilon_micros)
    assert _delta(market) == (reserved_delta - MAX_DELTA_ATTO, consumed_delta + MAX_DELTA_ATTO)
    assert (_score(market, buyer.address), _score(market, market.provider.address)) == (0, 0)
    # A verdict arriving now finds no job to enforce.
    with reverts("UnknownJob", _hex(digest)):
        _verdict(market, redeemed.a, Fault.NONE)


def test_once_every_future_of_a_round_has_ended_the_round_holds_nothing(
    chain: Chain, market: Market, redeemed: Settled, buyer: LocalAccount, rival: LocalAccount,
    outsider: LocalAccount,
) -> None:
    """One future judged, one expired, one timed out: no stake, bond or ε stays locked, and the
    clearing house's USD is exactly what its accounts may withdraw."""
    _verdict(market, redeemed.a, Fault.PROVIDER)
    wallet_future = _id(market, redeemed.h)
    through(chain, redeemed.wallet, outsider)(
        market.house.functions.redeem(wallet_future, DECLARATION_HASH))
    _past(chain, market, max(_delivery_end(bid) for bid in redeemed.winners) + VERDICT_WINDOW)
    _expire(chain, market, (redeemed.b, rival.address))
    chain.send(market.house.functions.timeOut([market.digest(redeemed.h)]), market.governance)
    assert [market.record(market.digest(bid)).status for bid in redeemed.winners] == [
        Status.VOIDED, Status.EXPIRED, Status.TIMED_OUT]
    provider = market.provider.address
    assert ProviderBond.read(market.house, redeemed.round_id, provider) == ProviderBond(0, 0)
    assert _bond(market, provider)[1] == 0
    for account in (buyer.address, rival.address, redeemed.wallet.address):
        assert market.locked(account) == 0
    assert (_ledger(market)[0], _delta(market)[0]) == (0, 0)
    accounts = {buyer.address, rival.address, redeemed.wallet.address, provider,
                market.governance.address}
    bids = [*redeemed.winners, redeemed.lost]
    owed = sum(market.credit(a) for a in accounts) + sum(
        market.house.functions.refundOf(market.digest(bid)).call() for bid in bids)
    assert market.usd(market.house.address) == owed


def test_end_deliveries_expires_and_times_out_whatever_is_due_and_nothing_else(
    chain: Chain, market: Market, redeemed: Settled, rival: LocalAccount, outsider: LocalAccount
) -> None:
    _claim(chain, market, redeemed.b, rival)
    _transfer(chain, market, redeemed.b, rival, outsider.address)
    nothing = end_deliveries(market.system, market.governance, redeemed.round_id)
    assert (nothing.expired, nothing.timed_out, nothing.receipts) == ([], [], [])
    # Past every delivery, not yet past the redeemed job's verdict deadline.
    _past(chain, market, max(_delivery_end(bid) for bid in redeemed.winners))
    ended = end_deliveries(market.system, market.governance, redeemed.round_id)
    assert sorted(ended.expired) == sorted(market.digest(b) for b in (redeemed.b, redeemed.h))
    assert ended.timed_out == []
    assert _held(market, outsider.address, redeemed.b) == 0
    _past(chain, market, _delivery_end(redeemed.a) + VERDICT_WINDOW)
    ended = end_deliveries(market.system, market.governance, redeemed.round_id)
    assert (ended.expired, ended.timed_out) == ([], [market.digest(redeemed.a)])
    assert [market.record(market.digest(bid)).status for bid in redeemed.winners] == [
        Status.TIMED_OUT, Status.EXPIRED, Status.EXPIRED]


def test_the_wallet_refuses_to_redeem_before_the_round_closes_or_after_delivery(
    chain: Chain, market: Market, final: Settled, buyer: LocalAccount
) -> None:
    market.finalise(final.round_id)
    digest = market.digest(final.a)
    with pytest.raises(TokensError, match=f"round {final.round_id} is not closed yet"):
        redeem(market.system, buyer, digest, DECLARATION_HASH)
    market.release(final.round_id, [market.digest(final.lost)])
    market.close(final.round_id)
    _past(chain, market, _delivery_end(final.a))
    with pytest.raises(TokensError, match="delivery ended at"):
        redeem(market.system, buyer, digest, DECLARATION_HASH)
    assert market.record(digest).status is Status.FUTURE


def test_a_future_expires_only_once_its_round_is_closed(
    chain: Chain, market: Market, final: Settled, buyer: LocalAccount
) -> None:
    """Expiring a round's only open future before the close would release its provider's whole
    ask bond, and the futures issued after it would be closed with no slash held (found by the
    stateful machine)."""
    market.finalise(final.round_id)
    _past(chain, market, _delivery_end(final.a))
    digest = market.digest(final.a)
    before = _books(market, buyer.address, market.provider.address), market.record(digest)
    with reverts("RoundNotClosed", final.round_id):
        _expire(chain, market, (final.a, buyer.address))
    nothing = end_deliveries(market.system, market.governance, final.round_id)
    assert (nothing.expired, nothing.timed_out, nothing.receipts) == ([], [], [])
    assert (_books(market, buyer.address, market.provider.address), market.record(digest)) == (
        before)
    market.release(final.round_id, [market.digest(final.lost)])
    market.close(final.round_id)
    assert end_deliveries(market.system, market.governance, final.round_id).expired == [digest]
    assert market.record(digest).status is Status.EXPIRED


def test_a_redeemed_or_expired_future_cannot_move_or_be_claimed_again(
    chain: Chain, market: Market, issued: Settled, buyer: LocalAccount, rival: LocalAccount,
    outsider: LocalAccount
) -> None:
    """Redeeming or expiring a claimed future burns its token, so ComputeFutures itself refuses
    to move it; an unclaimed one can no longer be claimed."""
    for bid, holder in ((issued.a, buyer), (issued.b, rival)):
        _claim(chain, market, bid, holder)
    chain.send(market.house.functions.redeem(_id(market, issued.a), DECLARATION_HASH), buyer)
    _past(chain, market, max(_delivery_end(bid) for bid in (issued.b, issued.h)))
    _expire(chain, market, (issued.b, rival.address), (issued.h, issued.wallet.address))
    for bid, holder in ((issued.a, buyer), (issued.b, rival)):
        with reverts("ERC1155InsufficientBalance", holder.address, 0, 1, _id(market, bid)):
            _transfer(chain, market, bid, holder, outsider.address)
        assert _held(market, outsider.address, bid) == 0
    expired = market.digest(issued.h)
    with reverts("UnexpectedStatus", _hex(expired), Status.FUTURE, Status.EXPIRED):
        through(chain, issued.wallet, outsider)(market.house.functions.claim([expired]))
    assert _held(market, issued.wallet.address, issued.h) == 0
