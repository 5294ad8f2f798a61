"""ClearingHouse, commit phase to forfeit: rounds and asks, sealed commitments that escrow,
stake and reserve in one record, reveals checked against them — and the attacks on each."""

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
from chain.settlement import Deadlines, Phase, Status
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
    return int(market.system.vault.functions.requiredStake(bidder, risk_bps, notional).call())


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
    free = market.free_stake(buyer.address)
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
    record = market.record(digest)
    assert (record.status, record.round_id, record.staked) == (Status.COMMITTED, round_id, True)
    assert (record.deposit_micro_usd, record.epsilon_micros, record.risk_bps) == (
        20 * USD,
        1_000_000,
        500,
    )
    assert market.usd(market.house.address) == 20 * USD
    assert (market.locked_stake(digest), market.free_stake(buyer.address)) == (stake, free - stake)
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


@pytest.mark.parametrize("short", ["stake", "budget", "payment"])
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
    else:
        away = BIDDER_USD - bid.max_value_micro_usd + 1
        chain.send(system.usd.functions.transfer(outsider.address, away), rival)
        expected = (
            "ERC20InsufficientBalance",
            rival.address,
            bid.max_value_micro_usd - 1,
            bid.max_value_micro_usd,
        )
    usd, budget, free = (
        market.usd(rival.address),
        market.budget(rival.address),
        market.free_stake(rival.address),
    )
    with reverts(*expected):
        market.commit(bid, rival)
    assert market.record(market.digest(bid)).status is Status.NONE
    assert (market.usd(rival.address), market.budget(rival.address)) == (usd, budget)
    assert market.free_stake(rival.address) == free


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
    assert market.locked_stake(digest) == 0
    assert market.budget(buyer.address) == GRANT_MICRO_EPSILON
    assert market.house.functions.creditOf(market.governance.address).call() == FORFEIT_FEE
    chain.send(market.house.functions.withdraw([digest]), buyer)
    assert market.usd(buyer.address) == BIDDER_USD - FORFEIT_FEE
    with reverts("UnexpectedStatus", "0x" + digest.hex(), Status.COMMITTED, Status.FORFEITED):
        chain.send(forfeit, outsider)
