"""market/price_history.py on the embedded chain: a round the oracle quorum priced and a future
sold on the exchange (then sold straight back, a wash trade) become the records
market/prices.py defines; a round left unpriced weighs its trades by reserve prices."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pytest
from eth_account import Account

from chain.bid import Bundle
from chain.connection import connect
from chain.deploy import deploy_system
from chain.exchange import Side
from chain.settlement import Phase
from market.errors import MarketError
from market.price_history import PriceHistory, read_price_history
from market.prices import Source
from tests.contracts.exchange_fixtures import Exchange
from tests.contracts.settlement_fixtures import USD, Market, build_market

# ASKS: four certified GPU items in us-east, an hour apart from 2033-05-18 03:33:20 UTC.
LABELS = [f"gpu-us-east-2033-05-18T0{3 + i}:33Z-certified" for i in range(4)]
ITEM_PRICES = [3 * USD, 2 * USD, 3 * USD // 2, USD]
SALE_PRICE = 26 * USD
WASH_PRICE = 260 * USD


@dataclass(frozen=True)
class Traded:
    """Round 1 priced at ITEM_PRICES: the buyer's future (2 of item 0, 3 of item 1) sold to the
    rival at SALE_PRICE, who sold it back at WASH_PRICE; the rival's future (4 of item 2) kept.
    Round 2 unpriced, of the same items: the buyer's future (1 each of items 2 and 3, both
    at a reserve of 1 USD) sold to an outsider
    at SALE_PRICE."""

    market: Market
    orders: list[bytes]  # the three trades' order hashes, in order
    futures: list[bytes]  # the buyer's round-1 and round-2 futures
    priced_at: int
    traded_at: list[int]

    @property
    def history(self) -> PriceHistory:
        return read_price_history(self.market.system)


@pytest.fixture(scope="module")
def traded() -> Traded:
    chain = connect()
    governance, auctioneer, provider, owner, buyer, rival, outsider = (
        chain.dev_account(i) for i in range(7))
    nodes = [Account.from_key(bytes([0x40 + i]) * 32) for i in range(3)]
    market = build_market(deploy_system(chain, governance), governance, auctioneer, provider,
                          owner, [buyer, rival], nodes)
    exchange = Exchange(market)
    exchange.approve(buyer, rival, outsider)
    chain.send(market.system.usd.functions.mint(outsider.address, SALE_PRICE), governance)

    first = market.open_round()
    mine = market.bid(buyer, first, Bundle((0, 1), (2, 3), 20 * USD))
    theirs = market.bid(rival, first, Bundle((2,), (4,), 12 * USD))
    market.commit_and_reveal(first, (mine, buyer), (theirs, rival))
    market.post(first, (mine, 0), (theirs, 0))
    market.enter(first, Phase.PRICE)
    priced = market.price(first, market.report(first, item_prices=ITEM_PRICES))
    market.settle(first)

    second = market.open_round()
    later = market.bid(buyer, second, Bundle((2, 3), (1, 1), 5 * USD), nonce=1)
    market.fill(second, buyer, [later])
    market.settle(second, priced=False)

    orders, receipts = [], []
    for seller, taker, bid, price in ((buyer, rival, mine, SALE_PRICE),
                                      (rival, buyer, mine, WASH_PRICE),
                                      (buyer, outsider, later, SALE_PRICE)):
        future = int.from_bytes(market.digest(bid), "big")
        order = exchange.order(seller, Side.SELL, future, price, salt=len(orders))
        receipts.append(exchange.fill(order, exchange.sign(order, seller), taker))
        orders.append(exchange.hash(order))
    times = chain.block_timestamps([priced.block_number, *(r.block_number for r in receipts)])
    return Traded(market, orders, [market.digest(mine), market.digest(later)],
                  times[priced.block_number], [times[r.block_number] for r in receipts])


def test_a_priced_round_records_each_items_final_price_and_the_units_it_sold(
        traded: Traded) -> None:
    clearing = [p for p in traded.history.points if p.source is Source.CLEARING]
    assert [(p.item, p.round_id, p.timestamp, p.price_per_unit_micro_usd, p.units)
            for p in clearing] == [
        (label, 1, traded.priced_at, price, units)
        for label, price, units in zip(LABELS, ITEM_PRICES, (2, 3, 4, 0), strict=True)]
    assert {(p.resource, p.region) for p in clearing} == {("gpu", "us-east")}


def test_a_fill_on_the_exchange_is_priced_per_unit_by_the_rounds_clearing_prices(
        traded: Traded) -> None:
    market = traded.market
    buyer, rival = (account.address for account in market.bidders)
    first = [p for p in traded.history.points if p.order_hash == traded.orders[0]]
    cost = 2 * ITEM_PRICES[0] + 3 * ITEM_PRICES[1]  # the bundle at the round's prices
    assert [(p.item, p.round_id, p.timestamp, p.price_per_unit_micro_usd, p.units)
            for p in first] == [
        (LABELS[0], 1, traded.traded_at[0], round(Fraction(SALE_PRICE * ITEM_PRICES[0], cost)),
         2),
        (LABELS[1], 1, traded.traded_at[0], round(Fraction(SALE_PRICE * ITEM_PRICES[1], cost)),
         3)]
    assert {(p.future, p.seller, p.buyer) for p in first} == {(traded.futures[0], buyer, rival)}


def test_an_unpriced_rounds_future_is_split_by_its_reserves_and_adds_no_clearing_price(
        traded: Traded) -> None:
    """Equal reserves split it evenly, where round 1's clearing prices would not; its item 3
    is round 1's item 3 again: one label, one series across both rounds."""
    history = traded.history
    assert history.label_of("2:3") == history.label_of("1:3") == LABELS[3]
    assert [(p.source, p.round_id, p.price_per_unit_micro_usd, p.units)
            for p in history.series("2:3")] == [
        (Source.CLEARING, 1, ITEM_PRICES[3], 0), (Source.TRADE, 2, SALE_PRICE // 2, 1)]


def test_the_wash_trade_straight_back_leaves_the_index_at_the_clearing_price(
        traded: Traded) -> None:
    """Both fills of the round-1 future are between the buyer and the rival, one each way."""
    last = traded.history.index("gpu", "us-east")[-1]
    assert (last.trade_count, last.excluded_trade_count) == (1, 2)
    sold = {0: 2, 1: 3, 2: 4}
    anchor = Fraction(sum(ITEM_PRICES[i] * units for i, units in sold.items()),
                      sum(sold.values()))
    # The one trade counted, the round-2 future, is clamped to 1.5 × the anchor.
    assert last.index_micro_usd == round(anchor * Fraction(11, 10))
    assert last.clearing_micro_usd == round(anchor)


@pytest.mark.parametrize("text, reason", [
    ("9:0", "item: round 9 offered no item 0"),
    ("1:4", "item: round 1 offered no item 4"),
    ("gpu-us-east-2040-01-01T00:00Z-certified", "item: no round offered gpu-us-east-2040"),
    ("gpu us-east", "item: 'gpu us-east' is neither ROUND:INDEX nor a label"),
    ("1:x", "item: '1:x' is neither"),
])
def test_an_item_no_round_offered_or_a_malformed_name_is_refused(
        traded: Traded, text: str, reason: str) -> None:
    with pytest.raises(MarketError, match=reason):
        traded.history.series(text)


def test_a_resource_or_region_never_priced_is_refused(traded: Traded) -> None:
    with pytest.raises(MarketError, match="resource: expected one of gpu, power, storage"):
        traded.history.index("tpu")
    with pytest.raises(MarketError, match="region: no gpu was priced in euw1"):
        traded.history.index("gpu", "euw1")
    assert traded.history.index("power") == []
