"""`tokens.trade` against a real FuturesExchange: a holder's signed sell order, filled by
another wallet, moves the future and the USD in one transaction; every trade the exchange would
revert is refused first in a line, with nothing signed or sent."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

import rcm
from chain.connection import Chain
from chain.exchange import OrderStatus, exchange_domain, order_hash, status_of
from tests.contracts.settlement_fixtures import USD, Market
from tests.tokens.test_futures import Won, _holds, _refused
from tests.tokens.test_futures import won as won  # the module's own settled round
from tokens import trade

PRICE = 25 * USD
HOUR = 3_600


def _funded(chain: Chain, market: Market, account: LocalAccount, usd: int) -> None:
    chain.send(market.system.usd.functions.mint(account.address, usd), market.governance)


def test_a_signed_sell_order_is_filled_in_one_transaction_for_an_unclaimed_future(
        chain: Chain, market: Market, won: Won, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    system = market.system
    expiry = chain.pending_timestamp() + HOUR
    order, signature = trade.sell_order(system, buyer, won.a, PRICE, expiry)
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
    order, signature = trade.sell_order(system, rival, won.b, PRICE, later)
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
