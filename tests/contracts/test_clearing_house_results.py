"""ClearingHouse, post phase to withdrawal: a posted result re-checked fill by fill, challenges
with higher welfare, finalisation, pull payments — and the attacks on each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.bid import Bid, Bundle
from chain.connection import Chain
from chain.settlement import Phase, Status
from tests.contracts.settlement_fixtures import ASKS, CST, USD, Market, bond
from tests.support import event_args, reverts, role

SLASH = 50 * CST  # Parameters().auctioneer_slash_wei


@dataclass(frozen=True)
class Round:
    """Revealed bids in the post phase; `elsewhere` is another round in its post phase."""

    id: int
    elsewhere: int
    a: Bid  # buyer: (items 0, 1 × 2, 3) for 20 USD XOR (item 2 × 4) for 12 USD
    b: Bid  # rival: item 0 × 9 for 15 USD
    c: Bid  # buyer: items 1, 3 × 1 each for 6 USD
    mixed: Bid  # rival: items 3 and 4, of two providers, for 5 USD
    sealed: Bid  # rival: committed, never revealed

    def r1(self, m: Market) -> list[Any]:
        """Welfare (12 − 4) + (15 − 9) + (6 − 2) = 18 USD."""
        return [
            m.fill(self.a, 1, 10 * USD),
            m.fill(self.b, 0, 12 * USD),
            m.fill(self.c, 0, 3 * USD),
        ]

    def r2(self, m: Market) -> list[Any]:
        """Welfare (20 − 5) + (6 − 2) = 19 USD; B can't join: item 0 would hold 11 of 10."""
        return [m.fill(self.a, 0, 10 * USD), m.fill(self.c, 0, 3 * USD)]


@pytest.fixture(scope="module")
def rnd(chain: Chain, market: Market, buyer: LocalAccount, rival: LocalAccount) -> Round:
    round_id, elsewhere = market.open_round(), market.open_round(asks=())
    other = Account.from_key(b"\x0b" * 32)
    chain.transfer_eth(market.governance, other.address, 10**18)
    bond(market.system, market.governance, other, 10 * CST)
    chain.send(market.house.functions.postAsks(round_id, [ASKS[0].as_args()]), other)
    bids = Round(
        round_id,
        elsewhere,
        market.bid(buyer, round_id, Bundle((0, 1), (2, 3), 20 * USD), Bundle((2,), (4,), 12 * USD)),
        market.bid(rival, round_id, Bundle((0,), (9,), 15 * USD)),
        market.bid(buyer, round_id, Bundle((1, 3), (1, 1), 6 * USD), nonce=1),
        market.bid(rival, round_id, Bundle((3, 4), (1, 1), 5 * USD), nonce=1),
        market.bid(rival, round_id, Bundle((3,), (1,), 5 * USD), nonce=2),
    )
    committed = [(bids.a, buyer), (bids.b, rival), (bids.c, buyer), (bids.mixed, rival)]
    for bid, bidder in [*committed, (bids.sealed, rival)]:
        market.commit(bid, bidder)
    market.enter(round_id, Phase.REVEAL)
    for bid, bidder in committed:
        market.reveal(bid, bidder)
    market.enter(round_id, Phase.POST)
    return bids


def _filled(market: Market, *bids: Bid) -> list[tuple[Status, int, int, int]]:
    records = [market.record(market.digest(b)) for b in bids]
    return [(r.status, r.result_version, r.bundle_index, r.payment_micro_usd) for r in records]


def _allocated(market: Market, round_id: int) -> list[tuple[int, int]]:
    asks = [market.house.functions.askOf(round_id, i).call() for i in range(len(ASKS))]
    return [(allocated, version) for _, _, allocated, version, _ in asks]


def _hex(digest: bytes) -> str:
    return "0x" + digest.hex()


# ---- post ----


def test_post_checks_each_fill_and_rewrites_its_record(market: Market, rnd: Round) -> None:
    receipt = market.post(rnd.id, *rnd.r1(market))
    assert _filled(market, rnd.a, rnd.b, rnd.c) == [
        (Status.FILLED, 1, 1, 10 * USD),
        (Status.FILLED, 1, 0, 12 * USD),
        (Status.FILLED, 1, 0, 3 * USD),
    ]
    assert market.record(market.digest(rnd.a)).provider_item == 2
    assert [e["digest"] for e in event_args(market.house, receipt, "Filled")] == [
        market.digest(b) for b in (rnd.a, rnd.b, rnd.c)
    ]
    (posted,) = event_args(market.house, receipt, "ResultPosted")
    assert (posted["fills"], posted["welfareMicroUsd"]) == (3, 18 * USD)
    assert _allocated(market, rnd.id) == [(9, 1), (1, 1), (4, 1), (1, 1)]
    assert market.usd(market.house.address) == (20 + 15 + 6 + 5 + 5) * USD  # no token moved


def test_a_result_posts_in_batches_from_one_poster(
    chain: Chain, market: Market, rnd: Round, governance: LocalAccount
) -> None:
    first, *rest = rnd.r1(market)
    market.post(rnd.id, first)
    receipt = market.post(rnd.id, *rest)
    assert event_args(market.house, receipt, "ResultPosted")[0]["welfareMicroUsd"] == 18 * USD
    assert market.house.functions.roundOf(rnd.id).call()[1:3] == (market.auctioneer.address, 3)
    chain.send(
        market.house.functions.grantRole(role(market.house, "AUCTIONEER_ROLE"), governance.address),
        governance,
    )
    with reverts("NotPoster", governance.address, market.auctioneer.address):
        chain.send(market.house.functions.post(rnd.id, []), governance)


def test_payment_above_value_is_refused(market: Market, rnd: Round) -> None:
    with reverts("PaymentAboveValue", _hex(market.digest(rnd.b)), 15 * USD + 1, 15 * USD):
        market.post(rnd.id, market.fill(rnd.b, 0, 15 * USD + 1))
    assert _filled(market, rnd.b) == [(Status.REVEALED, 0, 0, 0)]


def test_payment_below_the_reserve_cost_is_refused(market: Market, rnd: Round) -> None:
    with reverts("PaymentBelowReserve", _hex(market.digest(rnd.b)), 9 * USD - 1, 9 * USD):
        market.post(rnd.id, market.fill(rnd.b, 0, 9 * USD - 1))


def test_an_over_allocated_ask_is_refused(market: Market, rnd: Round) -> None:
    with reverts("OverAllocated", rnd.id, 0, 11, 10):
        market.post(rnd.id, market.fill(rnd.a, 0, 10 * USD), market.fill(rnd.b, 0, 12 * USD))
    assert _filled(market, rnd.a, rnd.b) == [(Status.REVEALED, 0, 0, 0)] * 2
    assert _allocated(market, rnd.id) == [(0, 0)] * 4


def test_a_fill_must_be_a_revealed_bundle_of_an_unfilled_bid(market: Market, rnd: Round) -> None:
    digest = _hex(market.digest(rnd.a))
    forged = list(market.fill(rnd.a, 1, 10 * USD))
    forged[3] = ([2], [3], 12 * USD)  # fewer units than were bid for
    with reverts("BundleMismatch", digest, 1):
        market.post(rnd.id, tuple(forged))
    with reverts(
        "UnexpectedStatus", _hex(market.digest(rnd.sealed)), Status.REVEALED, Status.COMMITTED
    ):
        market.post(rnd.id, market.fill(rnd.sealed, 0, 5 * USD))
    with reverts("UnexpectedStatus", digest, Status.REVEALED, Status.FILLED):
        market.post(rnd.id, market.fill(rnd.a, 1, 10 * USD), market.fill(rnd.a, 0, 10 * USD))
    with reverts(
        "MixedProviders",
        _hex(market.digest(rnd.mixed)),
        market.provider.address,
        Account.from_key(b"\x0b" * 32).address,
    ):
        market.post(rnd.id, market.fill(rnd.mixed, 0, 5 * USD))
    assert _filled(market, rnd.a, rnd.mixed) == [(Status.REVEALED, 0, 0, 0)] * 2


def test_a_bid_of_another_round_cannot_fill_this_one(market: Market, rnd: Round) -> None:
    market.enter(rnd.elsewhere, Phase.POST)
    with reverts("BidFromOtherRound", _hex(market.digest(rnd.b)), rnd.id):
        market.post(rnd.elsewhere, market.fill(rnd.b, 0, 12 * USD))
    assert market.house.functions.roundOf(rnd.elsewhere).call()[1] == "0x" + "00" * 20


def test_a_result_from_a_non_auctioneer_an_unbonded_one_or_after_the_deadline_is_refused(
    chain: Chain, market: Market, rnd: Round, governance: LocalAccount, outsider: LocalAccount
) -> None:
    fills = rnd.r1(market)
    auctioneer_role = role(market.house, "AUCTIONEER_ROLE")
    with reverts("AccessControlUnauthorizedAccount", outsider.address, auctioneer_role):
        chain.send(market.house.functions.post(rnd.id, fills), outsider)
    chain.send(market.house.functions.grantRole(auctioneer_role, outsider.address), governance)
    with reverts("InsufficientBond", outsider.address, 100 * CST, 0):
        chain.send(market.house.functions.post(rnd.id, fills), outsider)
    market.enter(rnd.id, Phase.CHALLENGE)
    with reverts("WrongPhase", rnd.id, Phase.POST, Phase.CHALLENGE):
        market.post(rnd.id, *fills)
    assert _filled(market, rnd.a, rnd.b, rnd.c) == [(Status.REVEALED, 0, 0, 0)] * 3


# ---- challenge ----


def _bond_of(market: Market, account: str) -> int:
    return int(market.system.vault.functions.balanceOf(account).call()[2])


def test_a_challenge_with_higher_welfare_replaces_the_result_and_burns_the_posters_bond(
    chain: Chain, market: Market, rnd: Round, outsider: LocalAccount
) -> None:
    market.post(rnd.id, *rnd.r1(market))
    market.enter(rnd.id, Phase.CHALLENGE)
    bonded, supply = (
        _bond_of(market, market.auctioneer.address),
        market.system.cst.functions.totalSupply().call(),
    )
    receipt = chain.send(market.house.functions.challenge(rnd.id, rnd.r2(market)), outsider)
    (replaced,) = event_args(market.house, receipt, "ResultReplaced")
    assert (replaced["replaced"], replaced["resultVersion"]) == (market.auctioneer.address, 2)
    assert (replaced["welfareMicroUsd"], replaced["slashedWei"]) == (19 * USD, SLASH)
    assert _bond_of(market, market.auctioneer.address) == bonded - SLASH
    assert market.system.cst.functions.totalSupply().call() == supply - SLASH
    assert _filled(market, rnd.a, rnd.b, rnd.c) == [
        (Status.FILLED, 2, 0, 10 * USD),
        (Status.FILLED, 1, 0, 12 * USD),  # filled by the replaced result only: a loser now
        (Status.FILLED, 2, 0, 3 * USD),
    ]
    assert _allocated(market, rnd.id) == [(2, 2), (4, 2), (4, 1), (1, 2)]
    assert market.house.functions.roundOf(rnd.id).call()[1:3] == (outsider.address, 2)


def test_a_challenge_without_higher_welfare_or_outside_its_window_is_refused(
    chain: Chain, market: Market, rnd: Round, outsider: LocalAccount
) -> None:
    challenge = market.house.functions.challenge
    with reverts("WrongPhase", rnd.id, Phase.CHALLENGE, Phase.POST):
        chain.send(challenge(rnd.id, rnd.r2(market)), outsider)
    market.post(rnd.id, *rnd.r1(market))
    market.enter(rnd.id, Phase.CHALLENGE)
    lower = [market.fill(rnd.a, 1, 10 * USD), market.fill(rnd.c, 0, 3 * USD)]
    with reverts("WelfareNotHigher", rnd.id, 12 * USD, 18 * USD):
        chain.send(challenge(rnd.id, lower), outsider)
    with reverts("WelfareNotHigher", rnd.id, 18 * USD, 18 * USD):
        chain.send(challenge(rnd.id, rnd.r1(market)), outsider)
    market.enter(rnd.id, Phase.FINAL)
    with reverts("WrongPhase", rnd.id, Phase.CHALLENGE, Phase.FINAL):
        chain.send(challenge(rnd.id, rnd.r2(market)), outsider)
    assert market.house.functions.roundOf(rnd.id).call()[1:3] == (market.auctioneer.address, 3)
    assert _bond_of(market, market.auctioneer.address) == 100 * CST
    assert _filled(market, rnd.a)[0][:2] == (Status.FILLED, 1)


def test_a_round_nobody_posted_is_settled_by_a_challenge(
    chain: Chain, market: Market, rnd: Round, outsider: LocalAccount
) -> None:
    market.enter(rnd.id, Phase.CHALLENGE)
    receipt = chain.send(market.house.functions.challenge(rnd.id, rnd.r1(market)), outsider)
    (replaced,) = event_args(market.house, receipt, "ResultReplaced")
    assert (replaced["replaced"], replaced["slashedWei"]) == ("0x" + "00" * 20, 0)


# ---- finalise and withdraw ----


@pytest.fixture
def settled(market: Market, rnd: Round) -> Round:
    """R2 posted and the round in its final phase: A and C won, B lost."""
    market.post(rnd.id, *rnd.r2(market))
    market.enter(rnd.id, Phase.FINAL)
    return rnd


def test_finalise_credits_winners_their_futures_and_releases_losers(
    market: Market, settled: Round, buyer: LocalAccount, rival: LocalAccount
) -> None:
    a, b, c = (market.digest(x) for x in (settled.a, settled.b, settled.c))
    stake_b, free = market.stake_of(b), market.free_stake(rival.address)
    locked = market.locked(rival.address)
    budget = market.budget(rival.address)
    receipt = market.finalise(settled.id, [a, c], [b])
    assert [e["futureId"] for e in event_args(market.house, receipt, "Issued")] == [a, c]
    assert event_args(market.house, receipt, "Finalised")[0]["complete"] is True
    assert [market.record(d).status for d in (a, b, c)] == [
        Status.FUTURE,
        Status.RELEASED,
        Status.FUTURE,
    ]
    assert market.free_stake(rival.address) == free + stake_b
    assert market.locked(rival.address) == locked - stake_b
    assert market.budget(rival.address) == budget + settled.b.epsilon_micros
    # A winner's stake backs its job until the verdict.
    assert market.locked(buyer.address) == sum(
        market.stake_of(market.digest(x)) for x in (settled.a, settled.c)
    )
    assert [market.house.functions.refundOf(d).call() for d in (a, b, c)] == [
        10 * USD,
        15 * USD,
        3 * USD,
    ]


def test_finalise_refuses_non_winners_and_winners_listed_as_losers(
    market: Market, rnd: Round
) -> None:
    a, b = market.digest(rnd.a), market.digest(rnd.b)
    market.post(rnd.id, *rnd.r2(market))
    market.enter(rnd.id, Phase.CHALLENGE)
    with reverts("WrongPhase", rnd.id, Phase.FINAL, Phase.CHALLENGE):
        market.finalise(rnd.id, [a], [])
    market.enter(rnd.id, Phase.FINAL)
    with reverts("NotAWinner", _hex(b)):
        market.finalise(rnd.id, [b], [])
    with reverts("UnexpectedStatus", _hex(a), Status.REVEALED, Status.FILLED):
        market.finalise(rnd.id, [], [a])
    with reverts("NotAWinner", _hex(a)):
        market.finalise(rnd.id, [a, a], [])
    assert [market.record(d).status for d in (a, b)] == [Status.FILLED, Status.REVEALED]


def test_withdraw_pays_each_refund_once(
    chain: Chain, market: Market, settled: Round, buyer: LocalAccount, rival: LocalAccount
) -> None:
    a, b, c = (market.digest(x) for x in (settled.a, settled.b, settled.c))
    market.finalise(settled.id, [a, c], [b])
    before = market.usd(buyer.address)
    receipt = chain.send(market.house.functions.withdraw([a, c]), buyer)
    assert event_args(market.house, receipt, "Withdrawn")[0]["amountMicroUsd"] == 13 * USD
    assert market.usd(buyer.address) == before + 13 * USD
    assert market.record(a).refunded and market.record(c).refunded
    with reverts("NothingToWithdraw", buyer.address):
        chain.send(market.house.functions.withdraw([a, c]), buyer)
    with reverts("NotBidder", buyer.address, rival.address):
        chain.send(market.house.functions.withdraw([b]), buyer)
    assert market.usd(buyer.address) == before + 13 * USD
    assert market.usd(market.house.address) == (15 + 10 + 3 + 5 + 5) * USD
