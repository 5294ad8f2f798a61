"""FuturesExchange: a compute future changes hands for USD in one transaction or not at all —
signed sell and buy orders filled on chain with the protocol fee out of the seller's proceeds,
unclaimed futures minted straight to their buyer through `ClearingHouse.claimFor`, cancels and
counters; and every refusal, each naming its custom error and leaving USD and futures where
they were."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.bid import Bid
from chain.contract import Contract
from chain.exchange import (
    MAX_FEE_BPS,
    AnyOrder,
    CriteriaOrder,
    Fee,
    Order,
    OrderStatus,
    Side,
    counter_of,
    exchange_domain,
    order_hash,
    sign_order,
    status_of,
)
from chain.policy_oracle import submit
from chain.reverts import Reverted
from chain.settlement import Status
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from tests.contracts.exchange_fixtures import UNLIMITED, Exchange, issue_futures
from tests.contracts.round_support import last_to_end
from tests.contracts.settlement_fixtures import (
    ASKS,
    ORACLE_THRESHOLD,
    REENTER,
    REENTRANT_CALL,
    USD,
    Market,
    contract_bidder,
    through,
)
from tests.support import event_args, reverts

PRICE = 5 * USD
CAROL_USD = 10 * USD
FEE_BPS = 100
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ADMIN_ROLE = bytes(32)


@dataclass(frozen=True)
class Scene:
    """Alice and Bob won two futures each in a closed round; each claimed its first as an
    ERC-1155 token and left its second unclaimed. Carol holds 10 USD and no future. All three
    approved the exchange for their futures and their USD."""

    market: Market
    exchange: Exchange
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    bids: tuple[Bid, ...]  # alice's claimed, alice's unclaimed, bob's claimed, bob's unclaimed

    @property
    def traders(self) -> tuple[LocalAccount, LocalAccount, LocalAccount]:
        return self.alice, self.bob, self.carol

    @property
    def futures(self) -> list[int]:
        return [int.from_bytes(self.market.digest(bid), "big") for bid in self.bids]

    @property
    def contract(self) -> Contract:
        return self.exchange.contract

    def signed(self, maker: LocalAccount, side: Side, future: int, price: int = PRICE,
               **terms: Any) -> tuple[Order, bytes]:
        order = self.exchange.order(maker, side, future, price, **terms)
        return order, self.exchange.sign(order, maker)


@pytest.fixture(scope="module")
def scene(market: Market, buyer: LocalAccount, rival: LocalAccount,
          outsider: LocalAccount) -> Scene:
    bids = tuple(issue_futures(market, [buyer, rival], 2))
    chain, system = market.chain, market.system
    chain.send(system.clearing_house.functions.claim([market.digest(bids[0])]), buyer)
    chain.send(system.clearing_house.functions.claim([market.digest(bids[2])]), rival)
    chain.send(system.usd.functions.mint(outsider.address, CAROL_USD), market.governance)
    exchange = Exchange(market)
    exchange.approve(buyer, rival, outsider)
    return Scene(market, exchange, buyer, rival, outsider, bids)


# ---- helpers ----


def _books(scene: Scene, *others: str) -> tuple[Any, ...]:
    """USD and futures of the traders, `others` and the exchange, and which futures are
    claimed: what no refused fill may change."""
    market = scene.market
    accounts = [*(t.address for t in scene.traders), *others, scene.contract.address]
    usd = [market.usd(account) for account in accounts]
    held = market.system.futures.functions.balanceOfBatch(
        [a for a in accounts for _ in scene.futures], scene.futures * len(accounts)).call()
    claimed = [market.record(market.digest(bid)).claimed for bid in scene.bids]
    return usd, list(held), claimed


def _held(scene: Scene, account: str, future: int) -> int:
    return int(scene.market.system.futures.functions.balanceOf(account, future).call())


def _set_fee(scene: Scene, recipient: str, fee_bps: int) -> Any:
    call = scene.contract.functions.setFee(recipient, fee_bps)
    return scene.market.chain.send(call, scene.market.governance)


def _recovered(digest: bytes, signature: bytes) -> str:
    return str(Account._recover_hash(digest, signature=signature))


# ---- fills ----


def test_a_sell_order_moves_the_future_and_the_price_in_one_fill(scene: Scene) -> None:
    alice, bob = scene.alice, scene.bob
    future = scene.futures[0]
    order, signature = scene.signed(alice, Side.SELL, future)
    usd_before = (scene.market.usd(alice.address), scene.market.usd(bob.address))
    receipt = scene.exchange.fill(order, signature, bob)
    (traded,) = event_args(scene.contract, receipt, "Traded")
    assert traded == {"orderHash": scene.exchange.hash(order), "futureId": future,
                      "seller": alice.address, "buyer": bob.address, "priceMicroUsd": PRICE,
                      "feeMicroUsd": 0}
    assert (scene.market.usd(alice.address), scene.market.usd(bob.address)) == (
        usd_before[0] + PRICE, usd_before[1] - PRICE)
    assert (_held(scene, alice.address, future), _held(scene, bob.address, future)) == (0, 1)
    assert status_of(scene.contract, scene.exchange.hash(order)) is OrderStatus.FILLED


def test_the_fee_comes_out_of_the_sellers_proceeds(scene: Scene, regulator: LocalAccount) -> None:
    receipt = _set_fee(scene, regulator.address, FEE_BPS)
    assert event_args(scene.contract, receipt, "FeeSet") == [
        {"recipient": regulator.address, "feeBps": FEE_BPS}]
    fee = PRICE * FEE_BPS // 10_000  # 1 % of 5 USD: 0.05 USD
    alice, bob, market = scene.alice, scene.bob, scene.market
    before = [market.usd(a) for a in (alice.address, bob.address, regulator.address)]
    order, signature = scene.signed(alice, Side.SELL, scene.futures[0])
    (traded,) = event_args(scene.contract, scene.exchange.fill(order, signature, bob), "Traded")
    assert traded["feeMicroUsd"] == fee == Fee.read(scene.contract).of(PRICE)
    after = [market.usd(a) for a in (alice.address, bob.address, regulator.address)]
    assert after == [before[0] + PRICE - fee, before[1] - PRICE, before[2] + fee]


def test_a_buy_order_is_filled_by_the_futures_holder(scene: Scene) -> None:
    alice, bob, market = scene.alice, scene.bob, scene.market
    future = scene.futures[0]
    order, signature = scene.signed(bob, Side.BUY, future)
    before = (market.usd(alice.address), market.usd(bob.address))
    (traded,) = event_args(scene.contract, scene.exchange.fill(order, signature, alice), "Traded")
    assert (traded["seller"], traded["buyer"]) == (alice.address, bob.address)
    assert (market.usd(alice.address), market.usd(bob.address)) == (before[0] + PRICE,
                                                                    before[1] - PRICE)
    assert (_held(scene, alice.address, future), _held(scene, bob.address, future)) == (0, 1)


@pytest.mark.parametrize("side", [Side.SELL, Side.BUY])
def test_an_unclaimed_future_is_minted_straight_to_its_buyer(scene: Scene, side: Side) -> None:
    """Alice never claimed her second future: the clearing house mints it to the buyer in the
    fill. Claiming releases nothing: her bid's stake stays locked until someone redeems."""
    alice, carol, market = scene.alice, scene.carol, scene.market
    future, digest = scene.futures[1], market.digest(scene.bids[1])
    stake_before, locked_before = market.stake_of(digest), market.locked(alice.address)
    if side is Side.SELL:
        order, signature = scene.signed(alice, Side.SELL, future)
        receipt = scene.exchange.fill(order, signature, carol)
    else:
        order, signature = scene.signed(carol, Side.BUY, future)
        receipt = scene.exchange.fill(order, signature, alice)
    (minted,) = event_args(market.system.futures, receipt, "TransferSingle")
    assert (minted["operator"], minted["from"], minted["to"], minted["id"]) == (
        market.house.address, "0x" + "00" * 20, carol.address, future)
    assert (_held(scene, alice.address, future), _held(scene, carol.address, future)) == (0, 1)
    assert market.record(digest).claimed is True
    assert (market.stake_of(digest), market.locked(alice.address)) == (stake_before,
                                                                      locked_before)
    assert market.usd(carol.address) == CAROL_USD - PRICE


def test_claim_for_mints_only_for_an_operator_the_bidder_approved(scene: Scene) -> None:
    alice, carol, market = scene.alice, scene.carol, scene.market
    house, chain = market.house, market.chain
    own, bobs = market.digest(scene.bids[1]), market.digest(scene.bids[3])
    before = _books(scene)
    with reverts("NotApprovedForAll", alice.address, carol.address):
        chain.send(house.functions.claimFor(alice.address, [own], carol.address), carol)
    chain.send(market.system.futures.functions.setApprovalForAll(carol.address, True), alice)
    with reverts("NotBidder", alice.address, scene.bob.address):
        chain.send(house.functions.claimFor(alice.address, [bobs], carol.address), carol)
    assert _books(scene) == before
    chain.send(house.functions.claimFor(alice.address, [own], carol.address), carol)
    assert _held(scene, carol.address, scene.futures[1]) == 1
    with reverts("AlreadyClaimed", own):
        chain.send(house.functions.claimFor(alice.address, [own], carol.address), carol)


# ---- refusals: each names its error and moves nothing ----


def test_a_seller_who_has_not_approved_the_exchange_is_not_filled(scene: Scene) -> None:
    alice, bob, market = scene.alice, scene.bob, scene.market
    revoke = market.system.futures.functions.setApprovalForAll(scene.contract.address, False)
    market.chain.send(revoke, alice)
    before = _books(scene)
    claimed, signature = scene.signed(alice, Side.SELL, scene.futures[0])
    with reverts("ERC1155MissingApprovalForAll", scene.contract.address, alice.address):
        scene.exchange.fill(claimed, signature, bob)
    unclaimed, signature = scene.signed(alice, Side.SELL, scene.futures[1])
    with reverts("NotApprovedForAll", alice.address, scene.contract.address):
        scene.exchange.fill(unclaimed, signature, bob)
    assert _books(scene) == before
    assert status_of(scene.contract, scene.exchange.hash(claimed)) is OrderStatus.OPEN


def test_a_buyer_without_allowance_or_money_moves_nothing(scene: Scene) -> None:
    alice, carol, market = scene.alice, scene.carol, scene.market
    order, signature = scene.signed(alice, Side.SELL, scene.futures[0], price=CAROL_USD + 1)
    before = _books(scene)
    with reverts("ERC20InsufficientBalance", carol.address, CAROL_USD, CAROL_USD + 1):
        scene.exchange.fill(order, signature, carol)
    market.chain.send(market.system.usd.functions.approve(scene.contract.address, 0), carol)
    cheap, signature = scene.signed(alice, Side.SELL, scene.futures[0], price=1)
    with reverts("ERC20InsufficientAllowance", scene.contract.address, 0, 1):
        scene.exchange.fill(cheap, signature, carol)
    assert _books(scene) == before


def test_a_seller_who_no_longer_holds_the_future_moves_nothing(scene: Scene) -> None:
    alice, bob, carol, market = scene.alice, scene.bob, scene.carol, scene.market
    future = scene.futures[0]
    order, signature = scene.signed(alice, Side.SELL, future)
    give = market.system.futures.functions.safeTransferFrom(alice.address, bob.address, future,
                                                            1, b"")
    market.chain.send(give, alice)
    before = _books(scene)
    with reverts("ERC1155InsufficientBalance", alice.address, 0, 1, future):
        scene.exchange.fill(order, signature, carol)
    assert _books(scene) == before


def test_an_order_fills_at_most_once_even_when_the_future_comes_back(scene: Scene) -> None:
    alice, bob, carol, market = scene.alice, scene.bob, scene.carol, scene.market
    future = scene.futures[0]
    order, signature = scene.signed(alice, Side.SELL, future)
    scene.exchange.fill(order, signature, bob)
    give_back = market.system.futures.functions.safeTransferFrom(bob.address, alice.address,
                                                                 future, 1, b"")
    market.chain.send(give_back, bob)
    before = _books(scene)
    for taker in (bob, carol):
        with reverts("OrderNotOpen", scene.exchange.hash(order), OrderStatus.FILLED):
            scene.exchange.fill(order, signature, taker)
    assert _books(scene) == before


def test_an_expired_order_is_refused(scene: Scene) -> None:
    expiry = scene.market.now() - 1
    order, signature = scene.signed(scene.alice, Side.SELL, scene.futures[0], expiry=expiry)
    before = _books(scene)
    with reverts("OrderExpired", scene.exchange.hash(order), expiry):
        scene.exchange.fill(order, signature, scene.bob)
    assert _books(scene) == before


def test_a_cancelled_order_cannot_be_filled_and_only_its_maker_cancels(scene: Scene) -> None:
    alice, bob, market = scene.alice, scene.bob, scene.market
    order, signature = scene.signed(alice, Side.SELL, scene.futures[0])
    digest = scene.exchange.hash(order)
    cancel = scene.contract.functions.cancel([order.as_args()])
    with reverts("NotMaker", bob.address, alice.address):
        market.chain.send(cancel, bob)
    receipt = market.chain.send(cancel, alice)
    assert event_args(scene.contract, receipt, "Cancelled") == [
        {"orderHash": digest, "maker": alice.address}]
    before = _books(scene)
    with reverts("OrderNotOpen", digest, OrderStatus.CANCELLED):
        scene.exchange.fill(order, signature, bob)
    with reverts("OrderNotOpen", digest, OrderStatus.CANCELLED):
        market.chain.send(cancel, alice)
    assert _books(scene) == before
    assert status_of(scene.contract, digest) is OrderStatus.CANCELLED


def test_incrementing_the_counter_kills_every_older_order(scene: Scene) -> None:
    alice, bob, market = scene.alice, scene.bob, scene.market
    old = [scene.signed(alice, Side.SELL, future, salt=salt)
           for salt, future in enumerate(scene.futures[:2])]
    receipt = market.chain.send(scene.contract.functions.incrementCounter(), alice)
    assert event_args(scene.contract, receipt, "CounterIncremented") == [
        {"maker": alice.address, "counter": 1}]
    assert counter_of(scene.contract, alice.address) == 1
    before = _books(scene)
    for order, signature in old:
        with reverts("StaleCounter", alice.address, 0, 1):
            scene.exchange.fill(order, signature, bob)
    ahead, signature = scene.signed(alice, Side.SELL, scene.futures[0], counter=2)
    with reverts("StaleCounter", alice.address, 2, 1):
        scene.exchange.fill(ahead, signature, bob)
    assert _books(scene) == before
    current, signature = scene.signed(alice, Side.SELL, scene.futures[0], counter=1)
    scene.exchange.fill(current, signature, bob)
    assert _held(scene, bob.address, scene.futures[0]) == 1


@pytest.mark.parametrize("signed_for", ["a stranger", "another chain", "another exchange"])
def test_a_signature_counts_only_from_the_maker_for_this_exchange_on_this_chain(
    scene: Scene, signed_for: str, outsider: LocalAccount
) -> None:
    alice, market = scene.alice, scene.market
    order = scene.exchange.order(alice, Side.SELL, scene.futures[0], PRICE)
    chain_id, address = market.chain.chain_id, scene.contract.address
    signer, domain = alice, exchange_domain(chain_id, address)
    if signed_for == "a stranger":
        signer = outsider
    elif signed_for == "another chain":
        domain = exchange_domain(chain_id + 1, address)
    else:
        domain = exchange_domain(chain_id, market.house.address)
    signature = sign_order(signer, domain, order)
    digest = scene.exchange.hash(order)
    before = _books(scene)
    with reverts("InvalidSignature", digest, _recovered(digest, signature)):
        scene.exchange.fill(order, signature, scene.bob)
    assert _books(scene) == before


def test_a_high_s_signature_is_refused_as_malleable(scene: Scene) -> None:
    order, signature = scene.signed(scene.alice, Side.SELL, scene.futures[0])
    s = int.from_bytes(signature[32:64], "big")
    flipped = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes(
        [55 - signature[64]])
    digest = scene.exchange.hash(order)
    assert _recovered(digest, flipped) == scene.alice.address  # the same signer, high s
    before = _books(scene)
    with reverts("MalleableSignature", digest):
        scene.exchange.fill(order, flipped, scene.bob)
    assert _books(scene) == before


def test_a_maker_cannot_fill_its_own_order(scene: Scene) -> None:
    order, signature = scene.signed(scene.alice, Side.SELL, scene.futures[0])
    before = _books(scene)
    with reverts("MakerIsTaker", scene.alice.address):
        scene.exchange.fill(order, signature, scene.alice)
    assert _books(scene) == before


def test_a_zero_price_or_an_unknown_side_is_refused(scene: Scene) -> None:
    before = _books(scene)
    free, signature = scene.signed(scene.alice, Side.SELL, scene.futures[0], price=0)
    with reverts("ZeroPrice"):
        scene.exchange.fill(free, signature, scene.bob)
    sideways = replace(free, side=2, price_micro_usd=PRICE)  # type: ignore[arg-type]
    with reverts("UnknownSide", 2):
        scene.exchange.fill(sideways, scene.exchange.sign(sideways, scene.alice), scene.bob)
    assert _books(scene) == before


def _delivery_end(bid: Bid) -> int:
    ask = ASKS[last_to_end(bid.bundles[0], ASKS)]
    return ask.slot_start_timestamp + ask.slot_seconds


def _past_delivery(scene: Scene, bid: Bid) -> int:
    end = _delivery_end(bid)
    scene.market.chain.advance_time(end + 1 - scene.market.now())
    return end


def void(market: Market, bid: Bid, holder: LocalAccount) -> None:
    """The future redeemed by its holder, and the quorum's verdict: the provider at fault."""
    market.redeem(bid, holder)
    verdict = Verdict(market.digest(bid), False, Fault.PROVIDER,
                      clauses_hash(["regulator.epsilon_claim"]), market.config_digest)
    domain = verdict_domain(market.chain.chain_id, market.system.oracle.address)
    signed: list[tuple[str, bytes]] = [(n.address, sign_verdict(n, domain, verdict))
                                       for n in market.nodes[:ORACLE_THRESHOLD]]
    submit(market.system, market.governance, verdict, signed)


@pytest.mark.parametrize("fate", [Status.REDEEMED, Status.VOIDED, Status.EXPIRED])
def test_a_future_redeemed_voided_or_expired_cannot_trade(scene: Scene, fate: Status) -> None:
    market, bid, future = scene.market, scene.bids[0], scene.futures[0]
    order, signature = scene.signed(scene.bob, Side.BUY, future, expiry=2**63)
    if fate is Status.REDEEMED:
        market.redeem(bid, scene.alice)
    elif fate is Status.VOIDED:
        void(market, bid, scene.alice)
    else:
        _past_delivery(scene, bid)
        expire = market.house.functions.expire([(market.digest(bid), scene.alice.address)])
        market.chain.send(expire, scene.carol)
    assert market.record(market.digest(bid)).status is fate
    before = _books(scene)
    with reverts("FutureNotTradable", future, fate):
        scene.exchange.fill(order, signature, scene.alice)
    assert _books(scene) == before


def test_a_future_whose_delivery_is_over_cannot_trade(scene: Scene) -> None:
    """The clearing house keeps a future's delivery end, not its slot's start: trading stops
    where redemption does."""
    bid, future = scene.bids[0], scene.futures[0]
    order, signature = scene.signed(scene.alice, Side.SELL, future, expiry=2**63)
    end = _past_delivery(scene, bid)
    before = _books(scene)
    with reverts("DeliveryOver", future, end):
        scene.exchange.fill(order, signature, scene.bob)
    assert _books(scene) == before


def test_governance_alone_sets_the_fee_up_to_one_percent(scene: Scene,
                                                          regulator: LocalAccount) -> None:
    chain, carol = scene.market.chain, scene.carol
    with reverts("AccessControlUnauthorizedAccount", carol.address, ADMIN_ROLE):
        chain.send(scene.contract.functions.setFee(carol.address, 1), carol)
    with reverts("FeeAboveMax", MAX_FEE_BPS + 1, MAX_FEE_BPS):
        _set_fee(scene, regulator.address, MAX_FEE_BPS + 1)
    with reverts("NoFeeRecipient", 1):
        _set_fee(scene, "0x" + "00" * 20, 1)
    assert Fee.read(scene.contract) == Fee(scene.market.governance.address, 0)
    _set_fee(scene, regulator.address, MAX_FEE_BPS)
    assert Fee.read(scene.contract) == Fee(regulator.address, MAX_FEE_BPS)


# ---- contract wallets, hooks and tokens ----


@pytest.mark.parametrize("reentry", ["fill", "cancel"])
def test_a_receiver_reentering_the_exchange_from_its_hook_is_refused(
    scene: Scene, reentry: str
) -> None:
    """The wallet buys Alice's future; its hook, called as the future arrives, tries to fill
    Bob's order (or cancel one of its own) in the middle of the trade."""
    market, carol = scene.market, scene.carol
    wallet = contract_bidder(market, carol)
    act = through(market.chain, wallet, carol)
    act(market.system.usd.functions.approve(scene.contract.address, UNLIMITED))
    bobs, bobs_signature = scene.signed(scene.bob, Side.SELL, scene.futures[2])
    own = scene.exchange.order(wallet, Side.BUY, scene.futures[2], PRICE)
    inner = (scene.contract.functions.fill(bobs.as_args(), bobs_signature) if reentry == "fill"
             else scene.contract.functions.cancel([own.as_args()]))
    market.chain.send(wallet.functions.arm(REENTER, scene.contract.address, inner.data), carol)
    order, signature = scene.signed(scene.alice, Side.SELL, scene.futures[0])
    act(scene.contract.functions.fill(order.as_args(), signature))
    assert wallet.functions.reentered().call() is True
    assert wallet.functions.reentrySucceeded().call() is False
    assert bytes(wallet.functions.reentryResult().call()) == REENTRANT_CALL
    assert _held(scene, wallet.address, scene.futures[0]) == 1
    assert _held(scene, scene.bob.address, scene.futures[2]) == 1
    assert status_of(scene.contract, scene.exchange.hash(bobs)) is OrderStatus.OPEN
    assert status_of(scene.contract, scene.exchange.hash(own)) is OrderStatus.OPEN


def test_a_contract_maker_signs_by_erc1271(scene: Scene) -> None:
    market, carol, alice = scene.market, scene.carol, scene.alice
    wallet = contract_bidder(market, carol)
    through(market.chain, wallet, carol)(
        market.system.usd.functions.approve(scene.contract.address, UNLIMITED))
    order = scene.exchange.order(wallet, Side.BUY, scene.futures[0], PRICE)
    forged = scene.exchange.sign(order, alice)
    before = _books(scene)
    with reverts("InvalidSignature", scene.exchange.hash(order), "0x" + "00" * 20):
        scene.exchange.fill(order, forged, alice)
    assert _books(scene) == before
    scene.exchange.fill(order, scene.exchange.sign(order, carol), alice)
    assert _held(scene, wallet.address, scene.futures[0]) == 1


def test_a_payment_token_that_returns_false_moves_nothing(scene: Scene) -> None:
    market, alice, bob = scene.market, scene.alice, scene.bob
    chain, governance = market.chain, market.governance
    token = chain.deploy("FalseReturningToken", governance)
    other = chain.deploy("FuturesExchange", governance, governance.address, market.house.address,
                         market.system.futures.address, token.address)
    chain.send(market.system.futures.functions.setApprovalForAll(other.address, True), alice)
    order = scene.exchange.order(alice, Side.SELL, scene.futures[0], PRICE)
    domain = exchange_domain(chain.chain_id, other.address)
    before = _books(scene)
    with reverts("SafeERC20FailedOperation", token.address):
        chain.send(other.functions.fill(order.as_args(), sign_order(alice, domain, order)), bob)
    assert _books(scene) == before
    assert status_of(other, order_hash(domain, order)) is OrderStatus.OPEN


# ---- property: conservation and single fills over random trading ----

# Drawn so that most orders could fill: a sell order's maker is usually the future's holder
# and a buy order's someone else; a fill's taker is usually the order's counterparty (choices
# 0 and 1), sometimes the third trader or the maker itself. A criteria order wants the item of
# one of the four futures (each a unit of its own item), usually from someone else; its fill
# proves, by its holder, usually that future (choices 0 and 1), sometimes any of the four.
# Cancels and counter increments are drawn a fifth as often as orders and fills, so that most
# orders live long enough to be filled. The kind of step is drawn from a weighted list: `one_of`
# ignores a strategy listed twice.
make = st.tuples(st.just("make"), st.sampled_from(list(Side)), st.integers(0, 3),
                 st.integers(0, 5), st.integers(1, 12))
make_criteria = st.tuples(st.just("criteria"), st.integers(0, 3), st.integers(0, 2),
                          st.integers(1, 12))
fill = st.tuples(st.just("fill"), st.integers(0, 15), st.integers(0, 3))
steps = {"make": make, "criteria": make_criteria, "fill": fill,
         "cancel": st.tuples(st.just("cancel"), st.integers(0, 15)),
         "increment": st.tuples(st.just("increment"), st.integers(0, 2))}
step = st.sampled_from(["make"] * 3 + ["criteria"] * 2 + ["fill"] * 5 + ["cancel", "increment"]
                       ).flatmap(steps.__getitem__)


@dataclass
class Book:
    """What the chain should hold: each future's holder, each trader's USD and counter, and
    each order with its maker and status."""

    holders: list[int]
    usd: list[int]
    fees: int
    counters: list[int]
    orders: list[tuple[AnyOrder, bytes, int, OrderStatus]]


def test_usd_and_futures_are_conserved_and_no_order_fills_twice(
    scene: Scene, regulator: LocalAccount
) -> None:
    market, chain = scene.market, scene.market.chain
    traders, futures = scene.traders, scene.futures
    _set_fee(scene, regulator.address, FEE_BPS)
    outcomes = {"filled": 0, "by criteria": 0, "refused": 0}

    def holder(index: int) -> int:
        """Whose future `index` is on chain: its token's holder, or its bidder while unclaimed."""
        record = market.record(market.digest(scene.bids[index]))
        if not record.claimed:
            return next(i for i, t in enumerate(traders) if t.address == record.bidder)
        balances = [_held(scene, t.address, futures[index]) for t in traders]
        assert sorted(balances) == [0, 0, 1], balances
        return balances.index(1)

    def check(book: Book, total_usd: int) -> None:
        usd = [market.usd(t.address) for t in traders]
        fees = market.usd(regulator.address)
        assert (usd, fees) == (book.usd, book.fees)
        assert sum(usd) + fees == total_usd
        assert [holder(i) for i in range(len(futures))] == book.holders
        assert [status_of(scene.contract, scene.exchange.hash(o)) for o, *_ in book.orders] == [
            s for *_, s in book.orders]

    def apply(book: Book, action: tuple[Any, ...], traded: dict[bytes, int]) -> None:
        if action[0] == "make":
            _, side, index, who, whole = action
            held_by = book.holders[index]
            # who 0-3: the natural maker (the holder for a sell, one of the others for a buy);
            # 4-5: any trader.
            if who < 4:
                maker = held_by if side is Side.SELL else (held_by + 1 + who % 2) % 3
            else:
                maker = (held_by + who) % 3
            order, signature = scene.signed(traders[maker], side, futures[index], whole * USD,
                                            salt=len(book.orders), expiry=2**63,
                                            counter=book.counters[maker])
            book.orders.append((order, signature, maker, OrderStatus.OPEN))
        elif action[0] == "criteria":
            _, index, who, whole = action
            held_by = book.holders[index]
            # who 0-1: one of the others; 2: the holder, whose own order it cannot fill.
            maker = (held_by + 1 + who) % 3 if who < 2 else held_by
            bid = scene.bids[index]
            wanted = scene.exchange.criteria(traders[maker], bid.round_id,
                                             bid.bundles[0].items[0], 1, whole * USD,
                                             salt=len(book.orders), expiry=2**63,
                                             counter=book.counters[maker])
            book.orders.append((wanted, scene.exchange.sign(wanted, traders[maker]), maker,
                                OrderStatus.OPEN))
        elif action[0] == "increment":
            chain.send(scene.contract.functions.incrementCounter(), traders[action[1]])
            book.counters[action[1]] += 1
        elif book.orders and action[0] == "cancel":
            order, signature, maker, status = book.orders[action[1] % len(book.orders)]
            if status is OrderStatus.OPEN:
                functions = scene.contract.functions
                cancel = (functions.cancelCriteria if isinstance(order, CriteriaOrder)
                          else functions.cancel)
                chain.send(cancel([order.as_args()]), traders[maker])
                book.orders[action[1] % len(book.orders)] = (order, signature, maker,
                                                             OrderStatus.CANCELLED)
        elif book.orders and action[0] == "fill":
            at = action[1] % len(book.orders)
            order, signature, maker, status = book.orders[at]
            if isinstance(order, CriteriaOrder):
                wanted = next(i for i, bid in enumerate(scene.bids)
                              if bid.bundles[0].items[0] == order.item)
                index = wanted if action[2] < 2 else action[2]
                taker = seller = book.holders[index]
                buyer = maker
                meets = scene.bids[index].bundles[0].items[0] == order.item
            else:
                index = futures.index(order.future_id)
                natural = ((maker + 1 + action[2]) % 3 if order.side is Side.SELL
                           else book.holders[index])
                taker = natural if action[2] < 2 else (maker + 2) % 3 if action[2] == 2 else maker
                seller, buyer = (maker, taker) if order.side is Side.SELL else (taker, maker)
                meets = book.holders[index] == seller
            fills = (status is OrderStatus.OPEN and order.counter == book.counters[maker]
                     and maker != taker and meets and book.usd[buyer] >= order.price_micro_usd)
            try:
                if isinstance(order, CriteriaOrder):
                    receipt = scene.exchange.fill_criteria(order, signature, scene.bids[index],
                                                           0, traders[taker])
                else:
                    receipt = scene.exchange.fill(order, signature, traders[taker])
            except Reverted:
                assert not fills, (action, book)
                outcomes["refused"] += 1
                return
            assert fills, (action, book)
            outcomes["filled"] += 1
            outcomes["by criteria"] += isinstance(order, CriteriaOrder)
            for event in event_args(scene.contract, receipt, "Traded"):
                traded[event["orderHash"]] = traded.get(event["orderHash"], 0) + 1
            fee = order.price_micro_usd * FEE_BPS // 10_000
            book.usd[buyer] -= order.price_micro_usd
            book.usd[seller] += order.price_micro_usd - fee
            book.fees += fee
            book.holders[index] = buyer
            book.orders[at] = (order, signature, maker, OrderStatus.FILLED)

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(actions=st.lists(step, min_size=6, max_size=16))
    def run(actions: list[tuple[Any, ...]]) -> None:
        snapshot = chain.snapshot()
        try:
            usd = [market.usd(t.address) for t in traders]
            fees = market.usd(regulator.address)
            total_usd = sum(usd) + fees
            book = Book([holder(i) for i in range(len(futures))], usd, fees, [0, 0, 0], [])
            traded: dict[bytes, int] = {}
            for action in actions:
                apply(book, action, traded)
                check(book, total_usd)
            assert all(count == 1 for count in traded.values()), traded
        finally:
            chain.revert_to(snapshot)

    run()
    # The invariants are checked on trades that moved USD and futures, not only on refusals
    # (19 of 90 fills succeed, 10 of them by criteria; the rest are stale, cancelled, filled,
    # self-fills, sellers without the future or futures without the item, each predicted by the
    # model).
    assert outcomes["filled"] >= 15 and outcomes["by criteria"] >= 5, outcomes
