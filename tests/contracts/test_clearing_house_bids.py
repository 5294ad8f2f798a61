"""ClearingHouse, commit phase to forfeit: rounds and asks, prepaid deposits, sealed
commitments that escrow, stake and reserve in one record, cancellations, reveals checked against
them — and the attacks on each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import (
    Bid,
    Bundle,
    bid_args,
    bid_domain,
    envelope_hash,
    recover_bid_signer,
    sign_bid,
    terms_args,
)
from chain.connection import Chain
from chain.settlement import MAX_DEPOSIT_MICRO_USD, STAKE_UNIT_WEI, Deadlines, Phase, Status
from tests.contracts.settlement_fixtures import (
    ASKS,
    BIDDER_USD,
    CST,
    FORFEIT_FEE,
    GRANT_MICRO_EPSILON,
    USD,
    Market,
)
from tests.support import event_args, reverts, role

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BUNDLES = (Bundle((0, 1), (2, 3), 20 * USD), Bundle((2,), (4,), 12 * USD))


@pytest.fixture(scope="module")
def round_id(market: Market) -> int:
    return market.open_round()


def _stake_for(market: Market, bidder: str, risk_bps: int, notional: int) -> int:
    """What commit locks: the required stake rounded up to a whole 10^15 wei."""
    required = int(market.system.vault.functions.requiredStake(bidder, risk_bps, notional).call())
    return -(-required // STAKE_UNIT_WEI) * STAKE_UNIT_WEI


def _plain(value: object) -> object:
    """An event's decoded struct as the tuples and lists the call encoders produce."""
    if isinstance(value, Mapping):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# ---- rounds and asks ----


def test_a_round_opens_with_ordered_deadlines_by_the_auctioneer(
    chain: Chain, market: Market, outsider: LocalAccount
) -> None:
    now = market.now()
    deadlines = Deadlines.after(now, 10, 10, 10, 10)
    with reverts(
        "AccessControlUnauthorizedAccount", outsider.address, role(market.house, "AUCTIONEER_ROLE")
    ):
        chain.send(market.house.functions.openRound(deadlines.as_args(), 0), outsider)
    swapped = replace(deadlines, post_timestamp=deadlines.reveal_timestamp)
    with reverts("InvalidDeadlines"):
        chain.send(market.house.functions.openRound(swapped.as_args(), 0), market.auctioneer)
    receipt = chain.send(
        market.house.functions.openRound(deadlines.as_args(), 7), market.auctioneer
    )
    (opened,) = event_args(market.house, receipt, "RoundOpened")
    assert tuple(opened["deadlines"].values()) == deadlines.as_args()
    assert opened["forfeitFeeMicroUsd"] == 7
    assert market.house.functions.phaseOf(opened["roundId"]).call() == Phase.COMMIT


def test_bonded_providers_post_asks_numbered_in_order(
    chain: Chain, market: Market, round_id: int, outsider: LocalAccount
) -> None:
    receipt = chain.send(
        market.house.functions.postAsks(round_id, [ASKS[0].as_args()]), market.provider
    )
    (posted,) = event_args(market.house, receipt, "AskPosted")
    assert (posted["item"], posted["provider"]) == (len(ASKS), market.provider.address)
    item, capacity, reserve = posted["ask"].values()
    assert (tuple(item.values()), capacity, reserve) == ASKS[0].as_args()
    assert market.house.functions.askOf(round_id, len(ASKS)).call() == (
        market.provider.address,
        ASKS[0].capacity,
        0,
        0,
        ASKS[0].reserve_price_micro_usd,
    )
    with reverts("InsufficientBond", outsider.address, 10 * CST, 0):
        chain.send(market.house.functions.postAsks(round_id, [ASKS[0].as_args()]), outsider)
    with reverts("TooManyItems", round_id, len(ASKS) + 1 + 512, 512):
        chain.send(
            market.house.functions.postAsks(round_id, [ASKS[0].as_args()] * 512), market.provider
        )
    assert market.house.functions.roundOf(round_id).call()[4] == len(ASKS) + 1


# ---- commit ----


def test_bid_digest_is_the_typed_data_the_bidder_signs(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    on_chain = market.house.functions.bidDigest(terms_args(bid), envelope_hash(bid)).call()
    assert on_chain == market.digest(bid)
    signature = sign_bid(buyer, market.domain, bid)
    assert recover_bid_signer(signature, market.domain, bid) == buyer.address


def test_commit_escrows_stakes_and_reserves_in_one_record(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    stake = _stake_for(market, buyer.address, bid.risk_bps, bid.max_value_micro_usd)
    free, locked = market.free_stake(buyer.address), market.locked(buyer.address)
    receipt = chain.send(market.house.functions.commit(terms_args(bid), envelope_hash(bid)), buyer)
    digest = market.digest(bid)
    (committed,) = event_args(market.house, receipt, "Committed")
    assert committed == {
        "digest": digest,
        "roundId": round_id,
        "bidder": buyer.address,
        "depositMicroUsd": 20 * USD,
        "stakeWei": stake,
    }
    assert event_args(market.system.vault, receipt, "StakeLocked") == [
        {"account": buyer.address, "amount": stake}
    ]
    record = market.record(digest)
    assert (record.status, record.round_id, record.stake_wei) == (Status.COMMITTED, round_id, stake)
    assert (record.deposit_micro_usd, record.epsilon_micros, record.risk_bps) == (
        20 * USD,
        1_000_000,
        500,
    )
    assert market.usd(market.house.address) == 20 * USD
    assert market.free_stake(buyer.address) == free - stake
    assert market.locked(buyer.address) == locked + stake
    assert market.system.ledger.functions.reservedOf(market.dataset).call() == 1_000_000
    assert market.budget(buyer.address) == GRANT_MICRO_EPSILON - 1_000_000


def test_commit_needs_the_bidder_an_open_phase_a_live_bid_and_a_new_digest(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, rival: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    commit = market.house.functions.commit
    with reverts("NotBidder", rival.address, buyer.address):
        chain.send(commit(terms_args(bid), envelope_hash(bid)), rival)
    expired = replace(bid, expiry_timestamp=market.now())
    with reverts("BidExpired", expired.expiry_timestamp, market.now() + 1):
        chain.send(commit(terms_args(expired), envelope_hash(expired)), buyer)
    digest = market.commit(bid, buyer)
    with reverts("BidExists", "0x" + digest.hex()):
        chain.send(commit(terms_args(bid), envelope_hash(bid)), buyer)
    market.enter(round_id, Phase.REVEAL)
    late = replace(bid, nonce=1)
    with reverts("WrongPhase", round_id, Phase.COMMIT, Phase.REVEAL):
        chain.send(commit(terms_args(late), envelope_hash(late)), buyer)


def test_the_stake_is_locked_rounded_up_to_a_whole_unit(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    # At 10^12 wei per micro-USD: 1 bps of 20 USD is 2,000 micro-USD at risk, 2 × 10^15 wei,
    # a whole number of units; 1 bps of 20.01 USD is 2.001 × 10^15 wei, locked as 3 × 10^15.
    exact = market.bid(buyer, round_id, BUNDLES[1], risk_bps=1, max_value_micro_usd=20 * USD)
    odd = market.bid(
        buyer, round_id, BUNDLES[1], risk_bps=1, max_value_micro_usd=20_010_000, nonce=1
    )
    assert market.stake_of(market.commit(exact, buyer)) == 2 * STAKE_UNIT_WEI
    required = market.system.vault.functions.requiredStake(buyer.address, 1, 20_010_000).call()
    assert required == 2_001 * 10**12
    assert market.stake_of(market.commit(odd, buyer)) == 3 * STAKE_UNIT_WEI
    assert market.record(market.digest(odd)).stake_milli_cst == 3


def test_money_and_stake_beyond_the_records_fields_are_refused(
    chain: Chain, market: Market, round_id: int, rival: LocalAccount
) -> None:
    system, governance = market.system, market.governance
    too_much = market.bid(
        rival, round_id, BUNDLES[1], max_value_micro_usd=MAX_DEPOSIT_MICRO_USD + 1
    )
    with reverts("DepositAboveMax", MAX_DEPOSIT_MICRO_USD + 1, MAX_DEPOSIT_MICRO_USD):
        market.commit(too_much, rival)
    # All of the largest deposit at risk: ~2.8 × 10^8 CST, more than 2^32 milli-CST.
    stake = -(-MAX_DEPOSIT_MICRO_USD * 10**12 // STAKE_UNIT_WEI) * STAKE_UNIT_WEI
    chain.send(system.cst.functions.mint(rival.address, stake), governance)
    chain.send(system.vault.functions.stake(stake), rival)
    largest = market.bid(
        rival, round_id, BUNDLES[1], max_value_micro_usd=MAX_DEPOSIT_MICRO_USD, risk_bps=10_000
    )
    with reverts("StakeAboveMax", stake, (2**32 - 1) * STAKE_UNIT_WEI):
        market.commit(largest, rival)
    assert market.record(market.digest(largest)).status is Status.NONE


@pytest.mark.parametrize("short", ["stake", "budget", "payment", "credit"])
def test_a_bidder_short_by_one_unit_cannot_commit(
    chain: Chain,
    market: Market,
    round_id: int,
    rival: LocalAccount,
    outsider: LocalAccount,
    short: str,
) -> None:
    system = market.system
    bid = market.bid(rival, round_id, *BUNDLES)
    stake = _stake_for(market, rival.address, bid.risk_bps, bid.max_value_micro_usd)
    if short == "stake":
        free = market.free_stake(rival.address)
        chain.send(system.vault.functions.unstake(free - stake + 1), rival)
        expected: tuple[object, ...] = ("InsufficientStake", rival.address, stake, stake - 1)
    elif short == "budget":
        away = GRANT_MICRO_EPSILON - bid.epsilon_micros + 1
        transfer = system.ledger.functions.safeTransferFrom(
            rival.address, outsider.address, market.dataset, away, b""
        )
        chain.send(transfer, rival)
        expected = (
            "ERC1155InsufficientBalance",
            rival.address,
            bid.epsilon_micros - 1,
            bid.epsilon_micros,
            market.dataset,
        )
    elif short == "payment":
        away = BIDDER_USD - bid.max_value_micro_usd + 1
        chain.send(system.usd.functions.transfer(outsider.address, away), rival)
        expected = (
            "ERC20InsufficientBalance",
            rival.address,
            bid.max_value_micro_usd - 1,
            bid.max_value_micro_usd,
        )
    else:
        # A credit one unit short, and nothing left to pull the unit from.
        chain.send(market.house.functions.deposit(bid.max_value_micro_usd - 1), rival)
        rest = market.usd(rival.address)
        chain.send(system.usd.functions.transfer(outsider.address, rest), rival)
        expected = ("ERC20InsufficientBalance", rival.address, 0, 1)
    usd, budget, free, credit = (
        market.usd(rival.address),
        market.budget(rival.address),
        market.free_stake(rival.address),
        market.credit(rival.address),
    )
    with reverts(*expected):
        market.commit(bid, rival)
    assert market.record(market.digest(bid)).status is Status.NONE
    assert (market.usd(rival.address), market.budget(rival.address)) == (usd, budget)
    assert (market.free_stake(rival.address), market.credit(rival.address)) == (free, credit)


# ---- deposits ----


def test_a_deposit_is_credited_and_commits_spend_it_before_pulling(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    receipt = chain.send(market.house.functions.deposit(25 * USD), buyer)
    assert event_args(market.house, receipt, "Deposited") == [
        {"account": buyer.address, "amountMicroUsd": 25 * USD}
    ]
    assert (market.credit(buyer.address), market.usd(buyer.address)) == (
        25 * USD,
        BIDDER_USD - 25 * USD,
    )
    market.commit(market.bid(buyer, round_id, *BUNDLES), buyer)  # 20 USD, all from the credit
    assert (market.credit(buyer.address), market.usd(buyer.address)) == (
        5 * USD,
        BIDDER_USD - 25 * USD,
    )
    receipt = chain.send(
        market.house.functions.commit(
            *_commit_args(market.bid(buyer, round_id, BUNDLES[1], nonce=1))
        ),
        buyer,
    )  # 12 USD: the 5 of credit, and 7 pulled
    (pulled,) = event_args(market.system.usd, receipt, "Transfer")
    assert (pulled["from"], pulled["value"]) == (buyer.address, 7 * USD)
    assert (market.credit(buyer.address), market.usd(buyer.address)) == (0, BIDDER_USD - 32 * USD)
    assert market.usd(market.house.address) == 32 * USD
    with reverts("NothingToWithdraw", buyer.address):
        chain.send(market.house.functions.withdraw([]), buyer)
    with reverts("ZeroAmount"):
        chain.send(market.house.functions.deposit(0), buyer)


def test_withdraw_pays_out_an_unspent_credit(
    chain: Chain, market: Market, buyer: LocalAccount
) -> None:
    chain.send(market.house.functions.deposit(3 * USD), buyer)
    receipt = chain.send(market.house.functions.withdraw([]), buyer)
    assert event_args(market.house, receipt, "Withdrawn")[0]["amountMicroUsd"] == 3 * USD
    assert (market.credit(buyer.address), market.usd(buyer.address)) == (0, BIDDER_USD)


# ---- cancel ----


def _commit_args(bid: Bid) -> tuple[object, bytes]:
    return terms_args(bid), envelope_hash(bid)


def test_a_bidder_cancels_in_the_commit_phase_and_gets_everything_back(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    free, budget = market.free_stake(buyer.address), market.budget(buyer.address)
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    stake = market.stake_of(digest)
    receipt = market.cancel(bid, buyer)
    assert event_args(market.house, receipt, "Cancelled") == [
        {"digest": digest, "roundId": round_id}
    ]
    assert event_args(market.system.vault, receipt, "StakeReleased") == [
        {"account": buyer.address, "amount": stake}
    ]
    record = market.record(digest)
    assert (record.status, record.refunded, record.payment_micro_usd) == (Status.CANCELLED, True, 0)
    assert (market.free_stake(buyer.address), market.locked(buyer.address)) == (free, 0)
    assert market.budget(buyer.address) == budget
    assert market.system.ledger.functions.reservedOf(market.dataset).call() == 0
    # The whole deposit is the bidder's credit, with nothing owed through the record.
    assert market.credit(buyer.address) == bid.max_value_micro_usd
    assert market.house.functions.refundOf(digest).call() == 0
    chain.send(market.house.functions.withdraw([]), buyer)
    assert (market.usd(buyer.address), market.usd(market.house.address)) == (BIDDER_USD, 0)


def test_a_cancelled_bid_is_replaced_from_its_credit(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    market.commit(bid, buyer)
    market.cancel(bid, buyer)
    changed = market.bid(buyer, round_id, BUNDLES[1], nonce=1)
    receipt = chain.send(market.house.functions.commit(*_commit_args(changed)), buyer)
    assert event_args(market.system.usd, receipt, "Transfer") == []
    assert market.credit(buyer.address) == bid.max_value_micro_usd - changed.max_value_micro_usd


def test_only_the_bidder_cancels_only_its_own_commitment_only_once(
    chain: Chain,
    market: Market,
    round_id: int,
    buyer: LocalAccount,
    rival: LocalAccount,
    outsider: LocalAccount,
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.commit(market.bid(rival, round_id, *BUNDLES, nonce=1), rival)
    for caller in (outsider, rival):
        with reverts("NotBidder", caller.address, buyer.address):
            market.cancel(bid, caller)
    # Naming itself in the buyer's terms makes another digest, which no one committed.
    posing = replace(bid, bidder=rival.address)
    with reverts(
        "UnexpectedStatus", "0x" + market.digest(posing).hex(), Status.COMMITTED, Status.NONE
    ):
        market.cancel(posing, rival)
    assert market.record(digest).status is Status.COMMITTED
    market.cancel(bid, buyer)
    with reverts("UnexpectedStatus", "0x" + digest.hex(), Status.COMMITTED, Status.CANCELLED):
        market.cancel(bid, buyer)
    assert market.credit(buyer.address) == bid.max_value_micro_usd


def test_a_commitment_cannot_be_cancelled_after_the_commit_phase(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    with reverts("WrongPhase", round_id, Phase.COMMIT, Phase.REVEAL):
        market.cancel(bid, buyer)
    assert (market.record(digest).status, market.credit(buyer.address)) == (Status.COMMITTED, 0)


def test_a_cancelled_bid_is_neither_revealed_forfeited_nor_filled(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.cancel(bid, buyer)
    hex_digest = "0x" + digest.hex()
    market.enter(round_id, Phase.REVEAL)
    with reverts("UnexpectedStatus", hex_digest, Status.COMMITTED, Status.CANCELLED):
        market.reveal(bid, buyer)
    market.enter(round_id, Phase.POST)
    with reverts("UnexpectedStatus", hex_digest, Status.REVEALED, Status.CANCELLED):
        market.post(round_id, market.fill(bid, 1, 10 * USD))
    with reverts("UnexpectedStatus", hex_digest, Status.COMMITTED, Status.CANCELLED):
        chain.send(market.house.functions.forfeit(*_commit_args(bid)), buyer)
    assert market.record(digest).status is Status.CANCELLED


# ---- reveal ----


def test_anyone_holding_the_signed_bid_reveals_it_after_the_close(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    with reverts("WrongPhase", round_id, Phase.REVEAL, Phase.COMMIT):
        market.reveal(bid, buyer, outsider)
    market.enter(round_id, Phase.REVEAL)
    receipt = market.reveal(bid, buyer, outsider)
    (revealed,) = event_args(market.house, receipt, "Revealed")
    assert _plain(revealed["bid"]) == bid_args(bid)
    record = market.record(digest)
    assert (record.status, record.bidder, record.dataset_id) == (
        Status.REVEALED,
        buyer.address,
        market.dataset,
    )
    market.enter(round_id, Phase.POST)
    with reverts("UnexpectedStatus", "0x" + digest.hex(), Status.COMMITTED, Status.REVEALED):
        market.reveal(bid, buyer)


def test_a_reveal_not_matching_its_commitment_is_refused(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    altered = replace(bid, bundles=(replace(BUNDLES[0], value_micro_usd=19 * USD), BUNDLES[1]))
    with reverts(
        "UnexpectedStatus", "0x" + market.digest(altered).hex(), Status.COMMITTED, Status.NONE
    ):
        market.reveal(altered, buyer)
    assert market.record(digest).status is Status.COMMITTED


def test_forged_and_high_s_signatures_are_refused(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, rival: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    with reverts("InvalidSignature", "0x" + digest.hex(), rival.address):
        market.reveal(bid, rival, buyer)
    signature = sign_bid(buyer, market.domain, bid)
    s = int.from_bytes(signature[32:64], "big")
    # (r, n - s) with the other recovery id is the same signature, malleated to high s.
    malleable = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    with reverts("MalleableSignature", "0x" + digest.hex()):
        chain.send(market.house.functions.reveal(bid_args(bid), malleable), buyer)
    assert market.record(digest).status is Status.COMMITTED


@pytest.mark.parametrize("where", ["chain", "contract"])
def test_a_bid_signed_for_another_chain_or_contract_does_not_reveal(
    chain: Chain,
    market: Market,
    round_id: int,
    buyer: LocalAccount,
    outsider: LocalAccount,
    where: str,
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    other = (
        bid_domain(1, market.house.address)
        if where == "chain"
        else bid_domain(chain.chain_id, outsider.address)
    )
    signature = sign_bid(buyer, other, bid)
    recovered = recover_bid_signer(signature, market.domain, bid)
    with reverts("InvalidSignature", "0x" + digest.hex(), recovered):
        chain.send(market.house.functions.reveal(bid_args(bid), signature), buyer)
    assert market.record(digest).status is Status.COMMITTED


def _forged(bid: Bid, **fields: object) -> Bid:
    """`bid` with fields its Python type would refuse, as an attacker's client could send."""
    for name, value in fields.items():
        object.__setattr__(bid, name, value)
    return bid


def test_a_malformed_or_overvalued_bundle_is_refused_at_reveal(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    overvalued = _forged(market.bid(buyer, round_id, *BUNDLES), max_value_micro_usd=12 * USD)
    lopsided = _forged(Bundle((3,), (1,), USD), quantities=(1, 2))
    malformed = market.bid(buyer, round_id, BUNDLES[0], lopsided, nonce=1)
    digests = [market.commit(overvalued, buyer), market.commit(malformed, buyer)]
    market.enter(round_id, Phase.REVEAL)
    with reverts("BundleAboveMaxValue", 0, 20 * USD, 12 * USD):
        market.reveal(overvalued, buyer)
    with reverts("MalformedBundle", 1):
        market.reveal(malformed, buyer)
    assert [market.record(d).status for d in digests] == [Status.COMMITTED] * 2


# ---- forfeit ----


def test_an_unrevealed_commitment_forfeits_its_fee_and_gets_the_rest_back(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    forfeit = market.house.functions.forfeit(terms_args(bid), envelope_hash(bid))
    market.enter(round_id, Phase.REVEAL)
    with reverts("WrongPhase", round_id, Phase.POST, Phase.REVEAL):
        chain.send(forfeit, outsider)
    market.enter(round_id, Phase.POST)
    receipt = chain.send(forfeit, outsider)
    assert event_args(market.house, receipt, "Forfeited")[0]["feeMicroUsd"] == FORFEIT_FEE
    record = market.record(digest)
    assert (record.status, record.payment_micro_usd, record.bidder) == (
        Status.FORFEITED,
        FORFEIT_FEE,
        buyer.address,
    )
    assert market.locked(buyer.address) == 0
    assert market.budget(buyer.address) == GRANT_MICRO_EPSILON
    assert market.house.functions.creditOf(market.governance.address).call() == FORFEIT_FEE
    chain.send(market.house.functions.withdraw([digest]), buyer)
    assert market.usd(buyer.address) == BIDDER_USD - FORFEIT_FEE
    with reverts("UnexpectedStatus", "0x" + digest.hex(), Status.COMMITTED, Status.FORFEITED):
        chain.send(forfeit, outsider)
