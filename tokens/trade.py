"""Futures traded on the FuturesExchange: a holder signs a sell order, anyone else fills it,
and the future and the USD move in one transaction or not at all. Each check the exchange
makes is made here first, so that a trade that would revert is refused in a line, with
nothing signed or sent."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chain.addresses import parse_address
from chain.amounts import amount_text
from chain.compute_futures import is_operator
from chain.erc20 import allowance, balance_of
from chain.exchange import (
    AnyOrder,
    CriteriaOrder,
    Order,
    OrderStatus,
    Side,
    counter_of,
    exchange_domain,
    order_hash,
    sign_order,
)
from chain.exchange import status_of as order_status
from chain.times import unix_and_utc
from tokens.errors import TokensError
from tokens.futures import hex_id, require_deliverable, require_future, require_holder

if TYPE_CHECKING:
    from chain.contract import Receipt
    from chain.signer import Signer
    from chain.system import System


def sell_order(system: System, seller: Signer, future_id: bytes, price_micro_usd: int,
               expiry_timestamp: int) -> tuple[Order, bytes]:
    """The seller's signed order to sell its future (claimed or not) at `price_micro_usd`
    until `expiry_timestamp`. Lets the exchange move the seller's futures first if it may not
    yet (one transaction); signs nothing for a future the seller cannot deliver."""
    record = require_future(system, future_id)
    require_holder(system, record, future_id, seller.address)
    require_deliverable(system, record, future_id)
    if price_micro_usd <= 0:
        raise TokensError("must be above 0", field="price_usd")
    now = system.chain.pending_timestamp()
    if expiry_timestamp <= now:
        raise TokensError(f"{unix_and_utc(expiry_timestamp)} has passed", field="expiry")
    exchange = system.exchange
    if not is_operator(system.futures, seller.address, exchange.address):
        system.chain.send(system.futures.functions.setApprovalForAll(exchange.address, True),
                          seller)
    order = Order(seller.address, Side.SELL, int.from_bytes(future_id, "big"), price_micro_usd,
                  expiry_timestamp, secrets.randbits(256),
                  counter_of(exchange, seller.address))
    return order, sign_order(seller, exchange_domain(system.chain.chain_id, exchange.address),
                             order)


def fill(system: System, buyer: Signer, order: AnyOrder, signature: bytes) -> Receipt:
    """Buys the future a sell order offers: pays its price (approving the exchange for it if
    needed) and receives the future, in the fill's one transaction."""
    if isinstance(order, CriteriaOrder):
        raise TokensError("is a buy order: only sell orders are filled here", field="order")
    exchange = system.exchange
    future_id = order.future_id.to_bytes(32, "big")
    if order.side != Side.SELL:
        raise TokensError("is a buy order: only sell orders are filled here", field="order")
    if order.maker == buyer.address:
        raise TokensError("is this wallet's own order", field="order")
    status = order_status(exchange, order_hash(exchange_domain(system.chain.chain_id,
                                                               exchange.address), order))
    if status is not OrderStatus.OPEN:
        raise TokensError(f"was {status.name.lower()} already", field="order")
    if order.counter != counter_of(exchange, order.maker):
        raise TokensError("was cancelled: its maker cancelled all its orders", field="order")
    if order.expiry_timestamp < system.chain.pending_timestamp():
        raise TokensError(f"expired at {unix_and_utc(order.expiry_timestamp)}", field="order")
    record = require_future(system, future_id)
    require_deliverable(system, record, future_id)
    try:
        require_holder(system, record, future_id, order.maker)
    except TokensError:
        raise TokensError(f"its maker no longer holds future {hex_id(future_id)}",
                          field="order") from None
    token, price = system.payment_token, order.price_micro_usd
    held = balance_of(token, buyer.address)
    if held < price:
        raise TokensError(f"costs {amount_text(price, 'usd')} USD, the wallet holds "
                          f"{amount_text(held, 'usd')}", field="order")
    if allowance(token, buyer.address, exchange.address) < price:
        system.chain.send(token.functions.approve(exchange.address, price), buyer)
    return system.chain.send(exchange.functions.fill(order.as_args(), signature), buyer)


def cancel(system: System, maker: Signer, order: AnyOrder) -> Receipt:
    """Cancels one of the maker's open orders."""
    if isinstance(order, CriteriaOrder):
        raise TokensError("is a criteria order: not yet cancelled here", field="order")
    if order.maker != maker.address:
        raise TokensError("is not this wallet's order", field="order")
    exchange = system.exchange
    status = order_status(exchange, order_hash(exchange_domain(system.chain.chain_id,
                                                               exchange.address), order))
    if status is not OrderStatus.OPEN:
        raise TokensError(f"was {status.name.lower()} already", field="order")
    return system.chain.send(exchange.functions.cancel([order.as_args()]), maker)


def cancel_all(system: System, maker: Signer) -> Receipt:
    """Cancels every order the maker has signed (its counter moves on)."""
    return system.chain.send(system.exchange.functions.incrementCounter(), maker)


class OrderFile(BaseModel):
    """A signed order as a file or the relay carries it from its maker to a taker (`rcm trade
    sell|buy --out`, `rcm trade fill`, `POST /orders`): amounts in their unit, ids 0x-hex, the
    expiry in unix seconds. It names one `future`, or, for a buy order only, criteria: any
    future of `round` delivering at least `min_quantity` units of the round's `item` (its
    index among the round's asks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    side: Literal["sell", "buy"]
    maker: str
    future: str | None = Field(default=None, pattern=r"^0x[0-9a-f]{64}$")
    round: int | None = Field(default=None, ge=0, lt=2**32)
    item: int | None = Field(default=None, ge=0, lt=2**16)
    min_quantity: int | None = Field(default=None, gt=0, lt=2**32)
    price_micro_usd: int = Field(gt=0, lt=2**256)
    expires_at: int = Field(ge=0, lt=2**64)
    salt: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    counter: int = Field(ge=0, lt=2**256)
    signature: str = Field(pattern=r"^0x([0-9a-f]{2})+$")

    @field_validator("maker")
    @classmethod
    def _checksummed(cls, maker: str) -> str:
        return parse_address(maker, "maker")

    @model_validator(mode="after")
    def _one_kind(self) -> OrderFile:
        criteria = (self.round, self.item, self.min_quantity)
        if self.future is not None:
            if any(part is not None for part in criteria):
                raise ValueError("names a future and criteria: one or the other")
        elif any(part is None for part in criteria):
            raise ValueError("needs a future, or round, item and min_quantity")
        elif self.side != "buy":
            raise ValueError("criteria are for buy orders only")
        return self

    @classmethod
    def of(cls, order: AnyOrder, signature: bytes) -> OrderFile:
        terms: dict[str, int | str]
        if isinstance(order, CriteriaOrder):
            terms = {"round": order.round_id, "item": order.item,
                     "min_quantity": order.min_quantity}
        else:
            terms = {"future": f"0x{order.future_id:064x}"}
        return cls.model_validate({
            "side": order.side.name.lower(), "maker": order.maker, **terms,
            "price_micro_usd": order.price_micro_usd, "expires_at": order.expiry_timestamp,
            "salt": f"0x{order.salt:064x}", "counter": order.counter,
            "signature": "0x" + signature.hex()})

    def order(self) -> AnyOrder:
        salt = int(self.salt, 16)
        if self.future is None:
            assert self.round is not None and self.item is not None
            assert self.min_quantity is not None
            return CriteriaOrder(self.maker, self.round, self.item, self.min_quantity,
                                 self.price_micro_usd, self.expires_at, salt, self.counter)
        return Order(self.maker, Side[self.side.upper()], int(self.future, 16),
                     self.price_micro_usd, self.expires_at, salt, self.counter)

    def signature_bytes(self) -> bytes:
        return bytes.fromhex(self.signature[2:])

    def text(self) -> str:
        """The file's JSON, without the fields its kind leaves out."""
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"
