"""Issued futures and signed orders for the futures exchange's tests and gas benchmark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from chain.bid import Bid, Bundle, fill_args
from chain.contract import Contract, Receipt
from chain.exchange import (
    AnyOrder,
    CriteriaOrder,
    Order,
    Side,
    exchange_domain,
    order_hash,
    sign_order,
)
from tests.contracts.settlement_fixtures import ASKS, USD, Market

FUTURE_VALUE = 2 * USD
UNLIMITED = 2**256 - 1


def issue_futures(market: Market, holders: Sequence[LocalAccount], per_holder: int) -> list[Bid]:
    """A round, settled and closed, whose result fills `per_holder` one-unit bids of each
    holder (`holders` are bidders of the market, funded by `build_market`); the futures stay
    unclaimed. Returns the bids holder by holder."""
    round_id = market.open_round()
    bids = [
        (holder, market.bid(holder, round_id, Bundle(((i * per_holder + n) % len(ASKS),), (1,),
                                                     FUTURE_VALUE), nonce=n))
        for i, holder in enumerate(holders) for n in range(per_holder)
    ]
    market.commit_and_reveal(round_id, *((bid, holder) for holder, bid in bids))
    market.post(round_id, *((bid, 0) for _, bid in bids))
    market.settle(round_id)
    return [bid for _, bid in bids]


def future_id(market: Market, bid: Bid) -> int:
    return int.from_bytes(market.digest(bid), "big")


@dataclass
class Exchange:
    """The market's exchange as its traders use it."""

    market: Market

    @property
    def contract(self) -> Contract:
        return self.market.system.exchange

    def order(self, maker: LocalAccount | Contract, side: Side, future: int, price: int,
              salt: int = 0, expiry: int | None = None, counter: int = 0) -> Order:
        deadline = self.market.now() + 3_600 if expiry is None else expiry
        return Order(maker.address, side, future, price, deadline, salt, counter)

    def criteria(self, maker: LocalAccount | Contract, round_id: int, item: int,
                 min_quantity: int, price: int, salt: int = 0, expiry: int | None = None,
                 counter: int = 0) -> CriteriaOrder:
        deadline = self.market.now() + 3_600 if expiry is None else expiry
        return CriteriaOrder(maker.address, round_id, item, min_quantity, price, deadline, salt,
                             counter)

    def sign(self, order: AnyOrder, signer: LocalAccount) -> bytes:
        domain = exchange_domain(self.market.chain.chain_id, self.contract.address)
        return sign_order(signer, domain, order)

    def hash(self, order: AnyOrder) -> bytes:
        return order_hash(exchange_domain(self.market.chain.chain_id, self.contract.address),
                          order)

    def fill(self, order: Order, signature: bytes, taker: LocalAccount) -> Receipt:
        return self.market.chain.send(self.contract.functions.fill(order.as_args(), signature),
                                      taker)

    def fill_criteria(self, order: CriteriaOrder, signature: bytes, bid: Bid, bundle_index: int,
                      taker: LocalAccount) -> Receipt:
        """Fills a buy order by criteria with the future of `bid`, proven by its bundle
        `bundle_index`."""
        call = self.contract.functions.fillCriteria(order.as_args(), signature,
                                                    fill_args(bid, bundle_index))
        return self.market.chain.send(call, taker)

    def approve(self, *traders: LocalAccount) -> None:
        """Each trader lets the exchange move its futures and its USD."""
        system, chain = self.market.system, self.market.chain
        for trader in traders:
            chain.send(system.futures.functions.setApprovalForAll(self.contract.address, True),
                       trader)
            chain.send(system.usd.functions.approve(self.contract.address, UNLIMITED), trader)
