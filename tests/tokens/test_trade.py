"""`tokens.trade` against a real FuturesExchange: a holder's signed sell order, filled by
another wallet, moves the future and the USD in one transaction; every trade the exchange would
revert is refused first in a line, with nothing signed or sent."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

import rcm
from chain.connection import Chain
from chain.exchange import (
    CriteriaOrder,
    OrderStatus,
    exchange_domain,
    order_hash,
    sign_order,
    status_of,
)
from chain.system import System
from tests.contracts.settlement_fixtures import USD, Market
from tests.tokens.test_futures import Won, _holds, _refused
from tests.tokens.test_futures import won as won  # the module's own settled round
from tokens import trade

pytestmark = pytest.mark.usefixtures("snapshot")

PRICE = 25 * USD
HOUR = 3_600


def _funded(chain: Chain, market: Market, account: LocalAccount, usd: int) -> None:
    chain.send(market.system.usd.functions.mint(account.address, usd), market.governance)


def test_a_signed_sell_order_is_filled_in_one_transaction_for_an_unclaimed_future(
        chain: Chain, market: Market, won: Won, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    system = market.system
    expiry = chain.pending_timestamp() + HOUR
    signed = trade.sell_order(system, buyer, won.a, PRICE, expiry)
    order, signature = signed.order, signed.signature
    _funded(chain, market, outsider, PRICE)
    seller_usd = market.usd(buyer.address)
    receipt = trade.fill(system, outsider, order, signature)
    assert (_holds(market, outsider, won.a), _holds(market, buyer, won.a)) == (1, 0)
    assert market.usd(buyer.address) - seller_usd == PRICE  # no fee by default
    assert market.usd(outsider.address) == 0
    digest = order_hash(exchange_domain(chain.chain_id, system.exchange.address), order)
    assert status_of(system.exchange, digest) is OrderStatus.FILLED
    traded = system.exchange.events_in(receipt, "Traded")
    assert [e.args["futureId"] for e in traded] == [order.future_id]
    # Filled once: a second fill is refused before anything is sent.
    _funded(chain, market, outsider, PRICE)
    _refused(chain, outsider, "order: was filled already",
             lambda: trade.fill(system, outsider, order, signature))


def test_what_the_exchange_would_revert_is_refused_before_signing_or_sending(
        chain: Chain, market: Market, won: Won, buyer: LocalAccount, rival: LocalAccount,
        outsider: LocalAccount) -> None:
    system = market.system
    later = chain.pending_timestamp() + HOUR
    _refused(chain, buyer, "future_id: future 0x.* was won by .*, not this wallet",
             lambda: trade.sell_order(system, buyer, won.b, PRICE, later))
    _refused(chain, rival, "price_usd: must be above 0",
             lambda: trade.sell_order(system, rival, won.b, 0, later))
    _refused(chain, rival, "expiry: .* has passed",
             lambda: trade.sell_order(system, rival, won.b, PRICE, 1))
    signed = trade.sell_order(system, rival, won.b, PRICE, later)
    order, signature = signed.order, signed.signature
    _refused(chain, rival, "order: is this wallet's own order",
             lambda: trade.fill(system, rival, order, signature))
    penniless = Account.create()
    _refused(chain, penniless, "order: costs 25.00 USD, the wallet holds 0.00",
             lambda: trade.fill(system, penniless, order, signature))
    chain.send(system.exchange.functions.incrementCounter(), rival)
    _funded(chain, market, outsider, PRICE)
    _refused(chain, outsider, "order: was cancelled: its maker cancelled all its orders",
             lambda: trade.fill(system, outsider, order, signature))


def test_the_sdk_signs_a_sell_order_and_another_wallet_fills_it(
        chain: Chain, market: Market, won: Won, rival: LocalAccount, outsider: LocalAccount
) -> None:
    seller, buyer = (rcm.Market(market.system).wallet_of(a) for a in (rival, outsider))
    signed = seller.sell("0x" + won.b.hex(), "12.5", chain.pending_timestamp() + HOUR)
    _funded(chain, market, outsider, 13 * USD)
    traded = buyer.fill(signed)
    assert (traded.future, traded.price_micro_usd, traded.fee_micro_usd) == (
        "0x" + won.b.hex(), 12_500_000, 0)
    assert (traded.seller, traded.buyer) == (rival.address, outsider.address)
    assert _holds(market, outsider, won.b) == 1
    _refused(chain, rival, "price_usd: ", lambda: seller.sell("0x" + won.b.hex(), "0", 2**40))


# ---- buy orders ----


def _criteria_order(chain: Chain, market: Market, maker: LocalAccount, wanted: trade.Criteria
                    ) -> trade.Signed:
    """`maker`, funded with the price, signs a buy order by criteria."""
    _funded(chain, market, maker, PRICE)
    return trade.buy_order(market.system, maker, wanted, PRICE,
                           chain.pending_timestamp() + HOUR)


def test_a_criteria_buy_order_is_filled_with_the_sellers_future_that_meets_it(
        chain: Chain, market: Market, won: Won, rival: LocalAccount, outsider: LocalAccount
) -> None:
    """The rival's future delivers 4 units of item 2: it meets "at least 3 of item 2", and
    the rival's fill finds it without being told which."""
    system = market.system
    signed = _criteria_order(chain, market, outsider, trade.Criteria(won.round_id, 2, 3))
    assert isinstance(signed.order, CriteriaOrder)
    assert signed.approval is not None  # the exchange may now take the price
    rival_usd = market.usd(rival.address)
    receipt = trade.fill(system, rival, signed.order, signed.signature)
    (traded,) = system.exchange.events_in(receipt, "Traded")
    assert (traded.args["futureId"], traded.args["seller"], traded.args["buyer"]) == (
        int.from_bytes(won.b, "big"), rival.address, outsider.address)
    assert (_holds(market, outsider, won.b), market.usd(rival.address) - rival_usd) == (1, PRICE)
    digest = order_hash(exchange_domain(chain.chain_id, system.exchange.address), signed.order)
    assert status_of(system.exchange, digest) is OrderStatus.FILLED


def test_a_named_buy_order_is_filled_by_the_futures_winner(
        chain: Chain, market: Market, won: Won, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    _funded(chain, market, outsider, PRICE)
    signed = trade.buy_order(market.system, outsider, won.a, PRICE,
                             chain.pending_timestamp() + HOUR)
    trade.fill(market.system, buyer, signed.order, signed.signature)
    assert (_holds(market, outsider, won.a), _holds(market, buyer, won.a)) == (1, 0)


def test_a_buy_order_the_exchange_would_refuse_is_not_signed(
        chain: Chain, market: Market, won: Won, outsider: LocalAccount) -> None:
    system, later = market.system, chain.pending_timestamp() + HOUR
    _funded(chain, market, outsider, PRICE)
    criteria = trade.Criteria(won.round_id, 2, 3)
    for wanted, price, expiry, match in [
        (criteria, 0, later, "price_usd: must be above 0"),
        (criteria, PRICE, 1, "expiry: .* has passed"),
        (criteria, PRICE + 1, later, "price_usd: costs 25.000001 USD, the wallet holds 25.00"),
        (trade.Criteria(won.round_id + 1, 2, 3), PRICE, later,
         f"round_id: no round {won.round_id + 1} on this deployment"),
        (trade.Criteria(won.round_id, 4, 3), PRICE, later,
         f"item: round {won.round_id} has no item 4 \\(items 0 to 3\\)"),
        (trade.Criteria(won.round_id, 2, 0), PRICE, later, "min_quantity: must be above 0"),
        (won.lost, PRICE, later, "future_id: 0x.* is not a won future"),
    ]:
        _refused(chain, outsider, match,
                 lambda w=wanted, p=price, e=expiry: trade.buy_order(system, outsider, w, p, e))


def test_a_criteria_fill_the_exchange_would_refuse_is_not_sent(
        chain: Chain, market: Market, won: Won, buyer: LocalAccount, rival: LocalAccount,
        outsider: LocalAccount) -> None:
    system = market.system
    signed = _criteria_order(chain, market, outsider, trade.Criteria(won.round_id, 2, 3))
    order, signature = signed.order, signed.signature
    assert isinstance(order, CriteriaOrder)

    def refused(taker: LocalAccount, match: str, wanted: CriteriaOrder = order,
                future_id: bytes | None = None) -> None:
        _refused(chain, taker, match, lambda: trade.fill(
            system, taker, wanted, _signed_by(chain, system, outsider, wanted), future_id))

    refused(outsider, "order: is this wallet's own order")
    refused(buyer, f"future_id: this wallet holds no future of round {won.round_id} with at "
                   "least 3 units of item 2")
    refused(buyer, "future_id: future 0x.* delivers no units of item 2", future_id=won.a)
    refused(rival, "future_id: future 0x.* delivers 4 units of item 2, the order wants at "
                   "least 5", replace(order, min_quantity=5), won.b)
    refused(rival, f"future_id: future 0x.* is of round {won.round_id}, the order wants round "
                   f"{won.round_id + 1}", replace(order, round_id=won.round_id + 1), won.b)
    refused(buyer, "future_id: future 0x.* was won by .*, not this wallet", future_id=won.b)
    take = system.usd.functions.approve(system.exchange.address, 0)
    chain.send(take, outsider)
    refused(rival, "order: costs 25.00 USD, its maker lets the exchange take 0.00")
    chain.send(system.usd.functions.transfer(buyer.address, PRICE), outsider)
    refused(rival, "order: costs 25.00 USD, its maker holds 0.00")
    trade.cancel(system, outsider, [order])
    refused(rival, "order: was cancelled already")
    assert signature == _signed_by(chain, system, outsider, order)


def test_cancelling_all_reports_the_new_counter_and_kills_criteria_orders(
        chain: Chain, market: Market, won: Won, rival: LocalAccount, outsider: LocalAccount
) -> None:
    signed = _criteria_order(chain, market, outsider, trade.Criteria(won.round_id, 2, 3))
    assert trade.cancel_all(market.system, outsider).counter == 1
    assert trade.cancel_all(market.system, outsider).counter == 2
    _refused(chain, rival, "order: was cancelled: its maker cancelled all its orders",
             lambda: trade.fill(market.system, rival, signed.order, signed.signature))


def _signed_by(chain: Chain, system: System, maker: LocalAccount, order: CriteriaOrder
               ) -> bytes:
    return sign_order(maker, exchange_domain(chain.chain_id, system.exchange.address), order)
