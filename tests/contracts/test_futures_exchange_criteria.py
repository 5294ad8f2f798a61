"""FuturesExchange buy orders by criteria: a buyer signs for any future of a round that delivers
at least a quantity of an item, and a holder fills it with its own future, proven by the won
bundle against the digest the clearing house keys the future by. Every refusal names its
custom error and leaves USD, futures and the order's status where they were."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import Bid, Bundle, fill_args
from chain.exchange import CriteriaOrder, OrderStatus, exchange_domain, sign_order, status_of
from chain.settlement import Status
from tests.contracts.exchange_fixtures import Exchange
from tests.contracts.round_support import last_to_end
from tests.contracts.settlement_fixtures import ASKS, USD, Market
from tests.contracts.test_futures_exchange import void
from tests.support import event_args, reverts

PRICE = 5 * USD
CAROL_USD = 10 * USD
FEE_BPS = 100
# Alice's first bid offers two bundles and wins its second: 3 units of item 1 and 1 of item 2.
ALICES_BUNDLES = (Bundle((0,), (2,), 3 * USD), Bundle((1, 2), (3, 1), 5 * USD))
WON = 1
ALICES_UNCLAIMED = Bundle((3,), (4,), 5 * USD)
BOBS = Bundle((1,), (2,), 3 * USD)


@dataclass(frozen=True)
class Scene:
    """A closed round in which Alice won two futures (the first, of a two-bundle bid, claimed;
    the second unclaimed) and Bob one (claimed). Carol holds 10 USD and no future; everyone
    approved the exchange for their futures and their USD. Carol buys by criteria."""

    market: Market
    exchange: Exchange
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    round_id: int
    claimed: Bid  # alice's, won with bundle WON
    unclaimed: Bid  # alice's
    bobs: Bid

    @property
    def contract(self) -> Any:
        return self.exchange.contract

    def future(self, bid: Bid) -> int:
        return int.from_bytes(self.market.digest(bid), "big")

    def signed(self, item: int = 1, min_quantity: int = 3, **terms: Any
               ) -> tuple[CriteriaOrder, bytes]:
        terms.setdefault("round_id", self.round_id)
        round_id = terms.pop("round_id")
        price = terms.pop("price", PRICE)
        order = self.exchange.criteria(self.carol, round_id, item, min_quantity, price, **terms)
        return order, self.exchange.sign(order, self.carol)

    def books(self) -> tuple[Any, ...]:
        """USD and futures of the traders and the exchange, which futures are claimed, and
        every future's record status: what no refused fill may change."""
        market = self.market
        accounts = [self.alice.address, self.bob.address, self.carol.address,
                    self.contract.address]
        bids = (self.claimed, self.unclaimed, self.bobs)
        futures = [self.future(bid) for bid in bids]
        held = market.system.futures.functions.balanceOfBatch(
            [a for a in accounts for _ in futures], futures * len(accounts)).call()
        records = [market.record(market.digest(bid)) for bid in bids]
        return ([market.usd(a) for a in accounts], list(held),
                [(r.status, r.claimed) for r in records])


@pytest.fixture(scope="module")
def scene(market: Market, buyer: LocalAccount, rival: LocalAccount,
          outsider: LocalAccount) -> Scene:
    alice, bob, carol = buyer, rival, outsider
    round_id = market.open_round()
    claimed = market.bid(alice, round_id, *ALICES_BUNDLES)
    unclaimed = market.bid(alice, round_id, ALICES_UNCLAIMED, nonce=1)
    bobs = market.bid(bob, round_id, BOBS)
    market.commit_and_reveal(round_id, (claimed, alice), (unclaimed, alice), (bobs, bob))
    market.post(round_id, (claimed, WON), (unclaimed, 0), (bobs, 0))
    market.settle(round_id)
    chain, system = market.chain, market.system
    chain.send(system.clearing_house.functions.claim([market.digest(claimed)]), alice)
    chain.send(system.clearing_house.functions.claim([market.digest(bobs)]), bob)
    chain.send(system.usd.functions.mint(carol.address, CAROL_USD), market.governance)
    exchange = Exchange(market)
    exchange.approve(alice, bob, carol)
    return Scene(market, exchange, alice, bob, carol, round_id, claimed, unclaimed, bobs)


def _held(scene: Scene, account: str, future: int) -> int:
    return int(scene.market.system.futures.functions.balanceOf(account, future).call())


def _refused(scene: Scene, order: CriteriaOrder, signature: bytes, proof: tuple[Any, ...],
             taker: LocalAccount, error: str, *args: Any) -> None:
    """The fill reverts with `error(args)`, and nothing moves: the order stays open."""
    before = scene.books()
    call = scene.contract.functions.fillCriteria(order.as_args(), signature, proof)
    with reverts(error, *args):
        scene.market.chain.send(call, taker)
    assert scene.books() == before
    assert status_of(scene.contract, scene.exchange.hash(order)) is OrderStatus.OPEN


# ---- fills ----


@pytest.mark.parametrize("fee_bps", [0, FEE_BPS])
def test_a_claimed_future_meeting_the_criteria_is_sold_to_the_orders_maker(
        scene: Scene, fee_bps: int, regulator: LocalAccount) -> None:
    market, alice, carol = scene.market, scene.alice, scene.carol
    if fee_bps:
        market.chain.send(scene.contract.functions.setFee(regulator.address, fee_bps),
                          market.governance)
    fee = PRICE * fee_bps // 10_000
    order, signature = scene.signed(item=1, min_quantity=3)
    future = scene.future(scene.claimed)
    before = [market.usd(a) for a in (alice.address, carol.address, regulator.address)]
    receipt = scene.exchange.fill_criteria(order, signature, scene.claimed, WON, alice)
    assert event_args(scene.contract, receipt, "Traded") == [{
        "orderHash": scene.exchange.hash(order), "futureId": future, "seller": alice.address,
        "buyer": carol.address, "priceMicroUsd": PRICE, "feeMicroUsd": fee}]
    after = [market.usd(a) for a in (alice.address, carol.address, regulator.address)]
    assert after == [before[0] + PRICE - fee, before[1] - PRICE, before[2] + fee]
    assert (_held(scene, alice.address, future), _held(scene, carol.address, future)) == (0, 1)
    assert status_of(scene.contract, scene.exchange.hash(order)) is OrderStatus.FILLED


def test_an_unclaimed_future_is_minted_to_the_criteria_buyer(
        scene: Scene, regulator: LocalAccount) -> None:
    market, alice, carol = scene.market, scene.alice, scene.carol
    market.chain.send(scene.contract.functions.setFee(regulator.address, FEE_BPS),
                      market.governance)
    order, signature = scene.signed(item=3, min_quantity=4)
    future, digest = scene.future(scene.unclaimed), market.digest(scene.unclaimed)
    receipt = scene.exchange.fill_criteria(order, signature, scene.unclaimed, 0, alice)
    (minted,) = event_args(market.system.futures, receipt, "TransferSingle")
    assert (minted["operator"], minted["from"], minted["to"], minted["id"]) == (
        market.house.address, "0x" + "00" * 20, carol.address, future)
    assert market.record(digest).claimed is True
    assert market.usd(regulator.address) == PRICE * FEE_BPS // 10_000
    assert market.usd(carol.address) == CAROL_USD - PRICE


def test_the_exchange_hashes_a_criteria_order_as_its_maker_signs_it(scene: Scene) -> None:
    order, _ = scene.signed()
    assert bytes(scene.contract.functions.criteriaOrderHash(order.as_args()).call()) == (
        scene.exchange.hash(order))


# ---- refusals: what the future must be ----


def test_a_future_of_another_round_is_refused(scene: Scene) -> None:
    order, signature = scene.signed(round_id=scene.round_id + 1)
    _refused(scene, order, signature, fill_args(scene.claimed, WON), scene.alice,
             "WrongRound", scene.round_id + 1, scene.round_id)


def test_terms_rewritten_to_the_orders_round_prove_no_future(scene: Scene) -> None:
    order, signature = scene.signed(round_id=scene.round_id + 1)
    moved = replace(scene.claimed, round_id=scene.round_id + 1)
    _refused(scene, order, signature, fill_args(moved, WON), scene.alice,
             "ForgedBundle", int.from_bytes(scene.market.digest(moved), "big"))


def test_a_future_without_the_item_is_refused(scene: Scene) -> None:
    order, signature = scene.signed(item=0, min_quantity=1)
    _refused(scene, order, signature, fill_args(scene.claimed, WON), scene.alice,
             "ItemNotInBundle", scene.future(scene.claimed), 0)


def test_a_future_with_too_few_units_of_the_item_is_refused(scene: Scene) -> None:
    order, signature = scene.signed(item=1, min_quantity=4)
    _refused(scene, order, signature, fill_args(scene.claimed, WON), scene.alice,
             "TooFewUnits", scene.future(scene.claimed), 1, 3, 4)


def test_a_bid_s_losing_bundle_does_not_prove_its_future(scene: Scene) -> None:
    """Bundle 0 of Alice's bid, 2 units of item 0, is in the digest but did not win."""
    order, signature = scene.signed(item=0, min_quantity=2)
    _refused(scene, order, signature, fill_args(scene.claimed, 0), scene.alice,
             "NotWonBundle", scene.future(scene.claimed), WON, 0)


def _forged(bid: Bid, how: str) -> tuple[Bid, int]:
    """A bid whose won bundle (at the index returned) is proven with something changed: a
    proof that rebuilds another digest."""
    lost, won = bid.bundles
    if how == "salt":
        return replace(bid, salt=b"\x00" * 32), WON
    if how == "other hashes":
        return replace(bid, bundles=(Bundle((3,), (9,), USD), won)), WON
    if how == "bundle":
        return replace(bid, bundles=(lost, Bundle((1, 2), (9, 1), 5 * USD))), WON
    return replace(bid, bundles=(won, lost)), 0  # the won bundle put first


@pytest.mark.parametrize("how", ["salt", "other hashes", "bundle", "index"])
def test_a_forged_bundle_proves_no_future(scene: Scene, how: str) -> None:
    forged, index = _forged(scene.claimed, how)
    order, signature = scene.signed(item=1, min_quantity=3)
    _refused(scene, order, signature, fill_args(forged, index), scene.alice,
             "ForgedBundle", scene.future(forged))


def test_a_bundle_index_past_the_envelope_is_refused(scene: Scene) -> None:
    terms, salt, _, bundle, others = fill_args(scene.claimed, WON)
    order, signature = scene.signed()
    _refused(scene, order, signature, (terms, salt, 2, bundle, others), scene.alice,
             "BundleIndexOutOfRange", 2, 2)


@pytest.mark.parametrize("fate", [Status.REDEEMED, Status.VOIDED, Status.EXPIRED])
def test_a_future_redeemed_voided_or_expired_cannot_fill_criteria(scene: Scene,
                                                                  fate: Status) -> None:
    market, bid = scene.market, scene.claimed
    order, signature = scene.signed(expiry=2**63)
    if fate is Status.REDEEMED:
        market.redeem(bid, scene.alice)
    elif fate is Status.VOIDED:
        void(market, bid, scene.alice)
    else:
        ask = ASKS[last_to_end(bid.bundles[WON], ASKS)]
        market.chain.advance_time(ask.slot_start_timestamp + ask.slot_seconds + 1 - market.now())
        expire = market.house.functions.expire([(market.digest(bid), scene.alice.address)])
        market.chain.send(expire, scene.carol)
    _refused(scene, order, signature, fill_args(bid, WON), scene.alice,
             "FutureNotTradable", scene.future(bid), fate)


def test_a_seller_without_the_future_is_refused_by_the_token(scene: Scene) -> None:
    """Bob proves Alice's claimed future: the proof is public, the future is not his."""
    order, signature = scene.signed()
    _refused(scene, order, signature, fill_args(scene.claimed, WON), scene.bob,
             "ERC1155InsufficientBalance", scene.bob.address, 0, 1, scene.future(scene.claimed))


def test_someone_else_s_unclaimed_future_is_refused_by_the_clearing_house(scene: Scene) -> None:
    order, signature = scene.signed(item=3, min_quantity=4)
    _refused(scene, order, signature, fill_args(scene.unclaimed, 0), scene.bob,
             "NotBidder", scene.bob.address, scene.alice.address)


# ---- refusals: what the order must be ----


def test_a_criteria_order_fills_once(scene: Scene) -> None:
    order, signature = scene.signed(item=1, min_quantity=2)
    scene.exchange.fill_criteria(order, signature, scene.claimed, WON, scene.alice)
    digest = scene.exchange.hash(order)
    before = scene.books()
    with reverts("OrderNotOpen", digest, OrderStatus.FILLED):
        scene.exchange.fill_criteria(order, signature, scene.bobs, 0, scene.bob)
    assert scene.books() == before


def test_a_cancelled_criteria_order_cannot_be_filled_and_only_its_maker_cancels(
        scene: Scene) -> None:
    market, carol, alice = scene.market, scene.carol, scene.alice
    order, signature = scene.signed()
    digest = scene.exchange.hash(order)
    cancel = scene.contract.functions.cancelCriteria([order.as_args()])
    with reverts("NotMaker", alice.address, carol.address):
        market.chain.send(cancel, alice)
    receipt = market.chain.send(cancel, carol)
    assert event_args(scene.contract, receipt, "Cancelled") == [
        {"orderHash": digest, "maker": carol.address}]
    before = scene.books()
    with reverts("OrderNotOpen", digest, OrderStatus.CANCELLED):
        scene.exchange.fill_criteria(order, signature, scene.claimed, WON, alice)
    with reverts("OrderNotOpen", digest, OrderStatus.CANCELLED):
        market.chain.send(cancel, carol)
    assert scene.books() == before


def test_incrementing_the_counter_kills_criteria_orders_too(scene: Scene) -> None:
    order, signature = scene.signed()
    scene.market.chain.send(scene.contract.functions.incrementCounter(), scene.carol)
    _refused(scene, order, signature, fill_args(scene.claimed, WON), scene.alice,
             "StaleCounter", scene.carol.address, 0, 1)


def test_an_expired_criteria_order_is_refused(scene: Scene) -> None:
    expiry = scene.market.now() - 1
    order, signature = scene.signed(expiry=expiry)
    _refused(scene, order, signature, fill_args(scene.claimed, WON), scene.alice,
             "OrderExpired", scene.exchange.hash(order), expiry)


def test_the_maker_cannot_fill_its_own_criteria_order(scene: Scene) -> None:
    """Carol, holding a future of the round, may not sell it to herself."""
    market, carol = scene.market, scene.carol
    give = market.system.futures.functions.safeTransferFrom(
        scene.bob.address, carol.address, scene.future(scene.bobs), 1, b"")
    market.chain.send(give, scene.bob)
    order, signature = scene.signed(item=1, min_quantity=1)
    _refused(scene, order, signature, fill_args(scene.bobs, 0), carol,
             "MakerIsTaker", carol.address)


@pytest.mark.parametrize("signed_for", ["another chain", "another exchange", "a named order"])
def test_a_criteria_signature_counts_only_for_this_exchange_on_this_chain(
        scene: Scene, signed_for: str) -> None:
    market, carol = scene.market, scene.carol
    order, _ = scene.signed()
    chain_id, address = market.chain.chain_id, scene.contract.address
    if signed_for == "another chain":
        signature = sign_order(carol, exchange_domain(chain_id + 1, address), order)
    elif signed_for == "another exchange":
        signature = sign_order(carol, exchange_domain(chain_id, market.house.address), order)
    else:
        # The same fields signed as a named buy order of future `item`: another type hash.
        named = scene.exchange.order(carol, order.side, order.item, PRICE,
                                     expiry=order.expiry_timestamp)
        signature = scene.exchange.sign(named, carol)
    before = scene.books()
    call = scene.contract.functions.fillCriteria(order.as_args(), signature,
                                                 fill_args(scene.claimed, WON))
    with reverts("InvalidSignature"):
        market.chain.send(call, scene.alice)
    assert scene.books() == before


def test_a_zero_price_criteria_order_is_refused(scene: Scene) -> None:
    order, signature = scene.signed(price=0)
    _refused(scene, order, signature, fill_args(scene.claimed, WON), scene.alice, "ZeroPrice")
