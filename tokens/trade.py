"""Futures traded on the FuturesExchange by signed orders: a holder signs a sell order, or a
buyer a buy order naming one future or criteria (any future of a round delivering at least a
quantity of an item); anyone else fills it, and the future and the USD move in one transaction
or not at all. Each check the exchange makes is made here first, so that a trade that would
revert is refused in a line, with nothing signed or sent."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chain.addresses import parse_address
from chain.amounts import amount_text
from chain.bid import fill_args
from chain.clearing_house import Round, round_count
from chain.compute_futures import is_operator
from chain.erc20 import allowance, balance_of
from chain.events import events
from chain.exchange import (
    MAX_PRICE_MICRO_USD,
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
from chain.futures_terms import revealed_bid
from chain.settlement import ask_from_event
from chain.times import unix_and_utc
from tokens.errors import TokensError
from tokens.futures import (
    futures,
    hex_id,
    require_deliverable,
    require_future,
    require_holder,
)

if TYPE_CHECKING:
    from chain.bid import Bid
    from chain.clearing_house import BidRecord
    from chain.contract import Receipt
    from chain.signer import Signer
    from chain.system import System


@dataclass(frozen=True)
class Criteria:
    """What a buy order by criteria wants: any future of round `round_id` whose won bundle
    delivers at least `min_quantity` units of the round's item `item` (its index)."""

    round_id: int
    item: int
    min_quantity: int


@dataclass(frozen=True)
class Signed:
    """A signed order, and the approval sent first so that it can fill (None: none was
    needed)."""

    order: AnyOrder
    signature: bytes
    approval: Receipt | None


@dataclass(frozen=True)
class NewCounter:
    """Every order its maker signed before is cancelled: orders now need `counter`."""

    counter: int
    receipt: Receipt


def sell_order(system: System, seller: Signer, future_id: bytes, price_micro_usd: int,
               expiry_timestamp: int) -> Signed:
    """The seller's signed order to sell its future (claimed or not) at `price_micro_usd`
    until `expiry_timestamp`. Lets the exchange move the seller's futures first if it may not
    yet (one transaction); signs nothing for a future the seller cannot deliver."""
    record = require_future(system, future_id)
    require_holder(system, record, future_id, seller.address)
    require_deliverable(system, record, future_id)
    _require_terms(system, price_micro_usd, expiry_timestamp)
    approval = _let_move_futures(system, seller)
    order = Order(seller.address, Side.SELL, int.from_bytes(future_id, "big"), price_micro_usd,
                  expiry_timestamp, secrets.randbits(256),
                  counter_of(system.exchange, seller.address))
    return Signed(order, _sign(system, seller, order), approval)


def buy_order(system: System, buyer: Signer, wanted: bytes | Criteria, price_micro_usd: int,
              expiry_timestamp: int) -> Signed:
    """The buyer's signed order to pay `price_micro_usd` until `expiry_timestamp` for the
    future `wanted` names, or for any future meeting its criteria. Lets the exchange take the
    price from the buyer first if it may not yet (one transaction)."""
    if isinstance(wanted, Criteria):
        _require_criteria(system, wanted)
    else:
        require_deliverable(system, require_future(system, wanted), wanted)
    _require_terms(system, price_micro_usd, expiry_timestamp)
    approval = _let_take_payment(system, buyer, price_micro_usd, "price_usd")
    salt, counter = secrets.randbits(256), counter_of(system.exchange, buyer.address)
    order: AnyOrder
    if isinstance(wanted, Criteria):
        order = CriteriaOrder(buyer.address, wanted.round_id, wanted.item, wanted.min_quantity,
                              price_micro_usd, expiry_timestamp, salt, counter)
    else:
        order = Order(buyer.address, Side.BUY, int.from_bytes(wanted, "big"), price_micro_usd,
                      expiry_timestamp, salt, counter)
    return Signed(order, _sign(system, buyer, order), approval)


def fill(system: System, taker: Signer, order: AnyOrder, signature: bytes,
         future_id: bytes | None = None) -> Receipt:
    """Takes the other side of an order in one transaction: buys the future a sell order
    offers, paying its price (approving the exchange for it if needed); or sells to a buy order
    the future it names, or, for criteria, `future_id` or the taker's future that meets them
    with the fewest units of the item (letting the exchange move the taker's futures if it may
    not yet)."""
    _require_fillable(system, taker, order)
    exchange = system.exchange
    if isinstance(order, CriteriaOrder):
        bid, index = _criteria_future(system, taker, order, future_id)
        _require_can_pay(system, order)
        _let_move_futures(system, taker)
        call = exchange.functions.fillCriteria(order.as_args(), signature, fill_args(bid, index))
        return system.chain.send(call, taker)
    named = order.future_id.to_bytes(32, "big")
    if future_id is not None and future_id != named:
        raise TokensError(f"the order is for future {hex_id(named)}", field="future_id")
    record = require_future(system, named)
    require_deliverable(system, record, named)
    if order.side is Side.BUY:
        require_holder(system, record, named, taker.address)
        _require_can_pay(system, order)
        _let_move_futures(system, taker)
    else:
        _require_maker_holds(system, record, named, order.maker)
        _let_take_payment(system, taker, order.price_micro_usd, "order")
    return system.chain.send(exchange.functions.fill(order.as_args(), signature), taker)


def cancel(system: System, maker: Signer, orders: Sequence[AnyOrder]) -> list[Receipt]:
    """Cancels open orders of the maker, of either kind: one transaction per kind, sent once
    every order has passed its checks."""
    for order in orders:
        if order.maker != maker.address:
            raise TokensError("is not this wallet's order", field="order")
        status = _status(system, order)
        if status is not OrderStatus.OPEN:
            raise TokensError(f"was {status.name.lower()} already", field="order")
    functions = system.exchange.functions
    named = [order.as_args() for order in orders if not isinstance(order, CriteriaOrder)]
    criteria = [order.as_args() for order in orders if isinstance(order, CriteriaOrder)]
    calls = ([functions.cancel(named)] if named else []) + (
        [functions.cancelCriteria(criteria)] if criteria else [])
    return [system.chain.send(call, maker) for call in calls]


def cancel_all(system: System, maker: Signer) -> NewCounter:
    """Cancels every order the maker has signed: its counter moves on."""
    exchange = system.exchange
    receipt = system.chain.send(exchange.functions.incrementCounter(), maker)
    (moved,) = exchange.events_in(receipt, "CounterIncremented")
    return NewCounter(int(moved.args["counter"]), receipt)


# ---- checks ----


def _status(system: System, order: AnyOrder) -> OrderStatus:
    exchange = system.exchange
    return order_status(exchange, order_hash(exchange_domain(system.chain.chain_id,
                                                             exchange.address), order))


def _sign(system: System, maker: Signer, order: AnyOrder) -> bytes:
    return sign_order(maker, exchange_domain(system.chain.chain_id, system.exchange.address),
                      order)


def _require_terms(system: System, price_micro_usd: int, expiry_timestamp: int) -> None:
    if price_micro_usd <= 0:
        raise TokensError("must be above 0", field="price_usd")
    if price_micro_usd > MAX_PRICE_MICRO_USD:
        raise TokensError(f"is above {amount_text(MAX_PRICE_MICRO_USD, 'usd')} USD, beyond what "
                          "any USD supply pays", field="price_usd")
    if expiry_timestamp <= system.chain.pending_timestamp():
        raise TokensError(f"{unix_and_utc(expiry_timestamp)} has passed", field="expiry")


def _require_criteria(system: System, wanted: Criteria) -> None:
    rounds = round_count(system.clearing_house)
    if not 1 <= wanted.round_id <= rounds:
        raise TokensError(f"no round {wanted.round_id} on this deployment (rounds 1 to "
                          f"{rounds})", field="round_id")
    items = Round.read(system.clearing_house, wanted.round_id).item_count
    if not 0 <= wanted.item < items:
        raise TokensError(f"round {wanted.round_id} has no item {wanted.item} (items 0 to "
                          f"{items - 1})", field="item")
    if wanted.min_quantity <= 0:
        raise TokensError("must be above 0", field="min_quantity")
    (posted,) = events(system, system.clearing_house, "AskPosted", roundId=wanted.round_id,
                       item=wanted.item)
    capacity = ask_from_event(posted.args["ask"]).capacity
    if wanted.min_quantity > capacity:
        raise TokensError(f"round {wanted.round_id}'s item {wanted.item} has {capacity:,} "
                          f"units in all: no future delivers {wanted.min_quantity:,} of it",
                          field="min_quantity")


def _require_fillable(system: System, taker: Signer, order: AnyOrder) -> None:
    """What the exchange checks of any order: another taker, open, its maker's current
    counter, not expired."""
    if order.maker == taker.address:
        raise TokensError("is this wallet's own order", field="order")
    status = _status(system, order)
    if status is not OrderStatus.OPEN:
        raise TokensError(f"was {status.name.lower()} already", field="order")
    if order.counter != counter_of(system.exchange, order.maker):
        raise TokensError("was cancelled: its maker cancelled all its orders", field="order")
    if order.expiry_timestamp < system.chain.pending_timestamp():
        raise TokensError(f"expired at {unix_and_utc(order.expiry_timestamp)}", field="order")


def _require_maker_holds(system: System, record: BidRecord, future_id: bytes, maker: str
                         ) -> None:
    try:
        require_holder(system, record, future_id, maker)
    except TokensError:
        raise TokensError(f"its maker no longer holds future {hex_id(future_id)}",
                          field="order") from None


def _require_can_pay(system: System, order: AnyOrder) -> None:
    """A buy order's maker holds its price and lets the exchange take it."""
    token, exchange, price = system.payment_token, system.exchange, order.price_micro_usd
    held = balance_of(token, order.maker)
    if held < price:
        raise TokensError(f"costs {amount_text(price, 'usd')} USD, its maker holds "
                          f"{amount_text(held, 'usd')}", field="order")
    allowed = allowance(token, order.maker, exchange.address)
    if allowed < price:
        raise TokensError(f"costs {amount_text(price, 'usd')} USD, its maker lets the exchange "
                          f"take {amount_text(allowed, 'usd')}", field="order")


def _let_take_payment(system: System, payer: Signer, price_micro_usd: int, field: str
                      ) -> Receipt | None:
    """Lets the exchange take the price from the payer, who must hold it, if it may not yet."""
    token, exchange = system.payment_token, system.exchange
    held = balance_of(token, payer.address)
    if held < price_micro_usd:
        raise TokensError(f"costs {amount_text(price_micro_usd, 'usd')} USD, the wallet holds "
                          f"{amount_text(held, 'usd')}", field=field)
    if allowance(token, payer.address, exchange.address) >= price_micro_usd:
        return None
    return system.chain.send(token.functions.approve(exchange.address, price_micro_usd), payer)


def _let_move_futures(system: System, holder: Signer) -> Receipt | None:
    """Lets the exchange move the holder's futures, if it may not yet."""
    exchange = system.exchange
    if is_operator(system.futures, holder.address, exchange.address):
        return None
    return system.chain.send(system.futures.functions.setApprovalForAll(exchange.address, True),
                             holder)


# ---- criteria ----


def _criteria_future(system: System, taker: Signer, order: CriteriaOrder,
                     future_id: bytes | None) -> tuple[Bid, int]:
    """The revealed bid and won bundle index of the future the taker sells to `order`:
    `future_id`, checked against the criteria, or the taker's own future that meets them with
    the fewest units of the item."""
    if future_id is not None:
        _, bid, index = _meets(system, taker, order, future_id)
        return bid, index
    found = []
    for candidate in _own_futures(system, taker.address, order.round_id):
        try:
            found.append(_meets(system, taker, order, candidate))
        except TokensError:
            continue
    if not found:
        raise TokensError(f"this wallet holds no future of round {order.round_id} with at "
                          f"least {order.min_quantity} units of item {order.item}",
                          field="future_id")
    _, bid, index = min(found, key=lambda match: match[0])
    return bid, index


def _meets(system: System, taker: Signer, order: CriteriaOrder, future_id: bytes
           ) -> tuple[int, Bid, int]:
    """The units of the order's item the taker's future delivers, its bid and won bundle
    index; refused in a line when it does not meet the order or is not the taker's to sell."""
    record = require_future(system, future_id)
    shown = hex_id(future_id)
    if record.round_id != order.round_id:
        raise TokensError(f"future {shown} is of round {record.round_id}, the order wants "
                          f"round {order.round_id}", field="future_id")
    bid = revealed_bid(system, future_id)
    if bid is None:
        raise AssertionError("a future's bid was revealed")
    bundle = bid.bundles[record.bundle_index]
    units = dict(zip(bundle.items, bundle.quantities, strict=True)).get(order.item, 0)
    if units == 0:
        raise TokensError(f"future {shown} delivers no units of item {order.item}",
                          field="future_id")
    if units < order.min_quantity:
        raise TokensError(f"future {shown} delivers {units} units of item {order.item}, the "
                          f"order wants at least {order.min_quantity}", field="future_id")
    require_holder(system, record, future_id, taker.address)
    require_deliverable(system, record, future_id)
    return units, bid, record.bundle_index


def _own_futures(system: System, address: str, round_id: int) -> list[bytes]:
    """The futures of round `round_id` that `address` may sell: won and unclaimed, or held."""
    return [bytes.fromhex(view.id[2:]) for view in futures(system, address)
            if view.round == round_id and view.status in ("unclaimed", "held")]


class OrderFile(BaseModel):
    """A signed order as a file or the relay carries it from its maker to a taker (`rcm trade
    sell|buy --out`, `rcm trade fill`, `POST /orders`): amounts in their unit, ids 0x-hex, the
    expiry in unix seconds. It names one `future`, or, for a buy order only, criteria: any
    future of `round` delivering at least `min_quantity_units` units of the round's `item` (its
    index among the round's asks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    side: Literal["sell", "buy"]
    maker: str
    future: str | None = Field(default=None, pattern=r"^0x[0-9a-f]{64}$")
    round: int | None = Field(default=None, ge=0, lt=2**32)
    item: int | None = Field(default=None, ge=0, lt=2**16)
    min_quantity_units: int | None = Field(default=None, gt=0, lt=2**32)
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
        criteria = (self.round, self.item, self.min_quantity_units)
        if self.future is not None:
            if any(part is not None for part in criteria):
                raise ValueError("names a future and criteria: one or the other")
        elif any(part is None for part in criteria):
            raise ValueError("needs a future, or round, item and min_quantity_units")
        elif self.side != "buy":
            raise ValueError("criteria are for buy orders only")
        return self

    @classmethod
    def of(cls, order: AnyOrder, signature: bytes) -> OrderFile:
        terms: dict[str, int | str]
        if isinstance(order, CriteriaOrder):
            terms = {"round": order.round_id, "item": order.item,
                     "min_quantity_units": order.min_quantity}
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
            assert self.min_quantity_units is not None
            return CriteriaOrder(self.maker, self.round, self.item, self.min_quantity_units,
                                 self.price_micro_usd, self.expires_at, salt, self.counter)
        return Order(self.maker, Side[self.side.upper()], int(self.future, 16),
                     self.price_micro_usd, self.expires_at, salt, self.counter)

    def signature_bytes(self) -> bytes:
        return bytes.fromhex(self.signature[2:])

    def text(self) -> str:
        """The file's JSON, without the fields its kind leaves out."""
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"
