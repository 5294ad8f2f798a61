"""What one participant with no role and no bond can try on FuturesExchange beyond
`test_futures_exchange*.py`, each refused with its custom error and nothing moved: a
signature of one order type replayed as the other, a taker delivering a future that is not
its own with the approval its holder gave the exchange, a buyer whose ERC-1155 hook rejects
the future (nobody is stuck), and the fee's rounding, which only ever favours the seller."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.exchange import CriteriaOrder, Order, OrderStatus, Side, status_of
from tests.contracts.exchange_fixtures import UNLIMITED
from tests.contracts.settlement_fixtures import REJECT, contract_bidder, through
from tests.contracts.test_futures_exchange import PRICE, Scene, scene
from tests.support import event_args, reverts

__all__ = ["scene"]  # the module's deployment, shared with test_futures_exchange's tests

ZERO_ADDRESS = "0x" + "00" * 20


def _moved(scene: Scene, *others: str) -> tuple[Any, ...]:
    """USD and futures of the traders, `others` and the exchange, and which futures are
    claimed: what a refused fill may not change."""
    market = scene.market
    accounts = [*(t.address for t in scene.traders), *others, scene.contract.address]
    usd = [market.usd(account) for account in accounts]
    held = market.system.futures.functions.balanceOfBatch(
        [a for a in accounts for _ in scene.futures], scene.futures * len(accounts)).call()
    claimed = [market.record(market.digest(bid)).claimed for bid in scene.bids]
    return usd, list(held), claimed


def _recovered(scene: Scene, order: Order | CriteriaOrder, signature: bytes) -> str:
    return str(Account._recover_hash(scene.exchange.hash(order), signature=signature))


# ---- a signature of one order type read as the other ----


def test_a_criteria_signature_replayed_as_a_named_order_recovers_someone_else(
        scene: Scene) -> None:
    """Carol's criteria bid and a named buy order with the same maker, price, expiry, salt
    and counter: the type hashes differ, so her signature of one is no signature of the
    other."""
    carol, alice = scene.carol, scene.alice
    round_id = scene.market.record(scene.market.digest(scene.bids[0])).round_id
    criteria = scene.exchange.criteria(carol, round_id, 0, 1, PRICE, salt=7)
    signature = scene.exchange.sign(criteria, carol)
    named = Order(carol.address, Side.BUY, scene.futures[0], PRICE, criteria.expiry_timestamp,
                  criteria.salt, criteria.counter)
    before = _moved(scene)
    recovered = _recovered(scene, named, signature)
    assert recovered != carol.address
    with reverts("InvalidSignature", scene.exchange.hash(named), recovered):
        scene.exchange.fill(named, signature, alice)
    assert _moved(scene) == before
    assert status_of(scene.contract, scene.exchange.hash(criteria)) is OrderStatus.OPEN


def test_a_named_signature_replayed_as_a_criteria_order_recovers_someone_else(
        scene: Scene) -> None:
    carol, alice = scene.carol, scene.alice
    named, signature = scene.signed(carol, Side.BUY, scene.futures[0], salt=7)
    round_id = scene.market.record(scene.market.digest(scene.bids[0])).round_id
    criteria = CriteriaOrder(carol.address, round_id, 0, 1, PRICE, named.expiry_timestamp,
                             named.salt, named.counter)
    before = _moved(scene)
    recovered = _recovered(scene, criteria, signature)
    with reverts("InvalidSignature", scene.exchange.hash(criteria), recovered):
        scene.exchange.fill_criteria(criteria, signature, scene.bids[0], 0, alice)
    assert _moved(scene) == before
    assert status_of(scene.contract, scene.exchange.hash(named)) is OrderStatus.OPEN


# ---- the holder's approval of the exchange, used by someone else ----


def test_a_taker_cannot_deliver_someone_elses_future_through_the_exchange(
        scene: Scene) -> None:
    """Alice let the exchange move her futures and claim her unclaimed one. Bob takes Carol's
    bids for them: the exchange makes the taker the seller, so it is Bob's balance the token
    checks and Bob the clearing house checks as the winner."""
    alice, bob, carol = scene.alice, scene.bob, scene.carol
    claimed, unclaimed = scene.futures[0], scene.futures[1]
    before = _moved(scene)
    order, signature = scene.signed(carol, Side.BUY, claimed)
    with reverts("ERC1155InsufficientBalance", bob.address, 0, 1, claimed):
        scene.exchange.fill(order, signature, bob)
    order, signature = scene.signed(carol, Side.BUY, unclaimed)
    with reverts("NotBidder", bob.address, alice.address):
        scene.exchange.fill(order, signature, bob)
    assert _moved(scene) == before


# ---- a buyer whose hook rejects the future ----


def _rejecting_wallet(scene: Scene, owner: LocalAccount) -> Any:
    market = scene.market
    wallet = contract_bidder(market, owner)
    through(market.chain, wallet, owner)(
        market.system.usd.functions.approve(scene.contract.address, UNLIMITED))
    market.chain.send(wallet.functions.arm(REJECT, ZERO_ADDRESS, b""), owner)
    return wallet


def test_a_buy_order_whose_maker_rejects_the_future_moves_nothing_and_strands_no_one(
        scene: Scene) -> None:
    """A contract wallet bids for Alice's claimed and unclaimed futures and rejects them as
    they arrive (transfer, or the clearing house's mint): each fill reverts whole. Alice keeps
    her future (the unclaimed one still unclaimed, hers to claim or redeem), the wallet its
    USD, and it can still cancel."""
    market, alice, carol = scene.market, scene.alice, scene.carol
    wallet = _rejecting_wallet(scene, carol)
    before = _moved(scene, wallet.address)
    orders = []
    for future in (scene.futures[0], scene.futures[1]):
        order = scene.exchange.order(wallet, Side.BUY, future, PRICE)
        with reverts("Rejected"):
            scene.exchange.fill(order, scene.exchange.sign(order, carol), alice)
        orders.append(order)
    assert _moved(scene, wallet.address) == before
    act = through(market.chain, wallet, carol)
    receipt = act(scene.contract.functions.cancel([o.as_args() for o in orders]))
    assert len(event_args(scene.contract, receipt, "Cancelled")) == 2
    market.chain.send(market.house.functions.claim([market.digest(scene.bids[1])]), alice)
    assert market.system.futures.functions.balanceOf(alice.address,
                                                     scene.futures[1]).call() == 1


def test_a_taker_that_rejects_the_future_leaves_the_sell_order_to_others(scene: Scene) -> None:
    market, alice, bob, carol = scene.market, scene.alice, scene.bob, scene.carol
    wallet = _rejecting_wallet(scene, carol)
    order, signature = scene.signed(alice, Side.SELL, scene.futures[0])
    before = _moved(scene, wallet.address)
    with reverts("Rejected"):
        through(market.chain, wallet, carol)(
            scene.contract.functions.fill(order.as_args(), signature))
    assert _moved(scene, wallet.address) == before
    assert status_of(scene.contract, scene.exchange.hash(order)) is OrderStatus.OPEN
    scene.exchange.fill(order, signature, bob)
    assert market.system.futures.functions.balanceOf(bob.address, scene.futures[0]).call() == 1


# ---- the fee's rounding ----


def test_the_fee_rounds_down_so_the_buyer_pays_the_price_and_no_dust_is_lost(
        scene: Scene, regulator: LocalAccount) -> None:
    """At the 1 % cap a price under 100 micro-USD pays no fee: the seller keeps the dust, the
    buyer pays exactly the price, and the three balances move by amounts that sum to zero."""
    market, alice, bob = scene.market, scene.alice, scene.bob
    market.chain.send(scene.contract.functions.setFee(regulator.address, 100),
                      market.governance)
    accounts = (alice.address, bob.address, regulator.address)
    for salt, (price, fee) in enumerate(((99, 0), (100, 1), (199, 1), (1, 0))):
        before = [market.usd(a) for a in accounts]
        # Alice sells her claimed future to Bob and Bob sells it back, turn by turn.
        seller, buyer = (alice, bob) if salt % 2 == 0 else (bob, alice)
        order, signature = scene.signed(seller, Side.SELL, scene.futures[0], price=price,
                                        salt=salt)
        (traded,) = event_args(scene.contract, scene.exchange.fill(order, signature, buyer),
                               "Traded")
        assert traded["feeMicroUsd"] == fee == price * 100 // 10_000
        delta = [market.usd(a) - b for a, b in zip(accounts, before, strict=True)]
        proceeds = price - fee
        assert delta == ([proceeds, -price, fee] if seller is alice else [-price, proceeds, fee])
        assert sum(delta) == 0
