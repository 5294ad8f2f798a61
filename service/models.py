"""What the relay answers, as JSON: amounts in their smallest unit, ids 0x-hex, addresses
EIP-55, times unix seconds. The request body of `POST /orders` is `tokens.trade.OrderFile`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from market.book import Level
from market.prices import IndexPoint, PricePoint
from tokens.trade import OrderFile


class ErrorPublic(BaseModel):
    detail: str
    field: str | None


class PostedPublic(BaseModel):
    order: str  # its hash: what `GET /orders/{hash}` and the exchange's events name it by
    sequence: int


State = Literal["open", "filled", "cancelled", "unfillable"]


class OrderPublic(BaseModel):
    """An order the relay holds, and whether it can still fill; `reason` says why not."""

    order: str
    sequence: int
    state: State
    reason: str | None
    file: OrderFile


class LevelPublic(BaseModel):
    price_micro_usd: int
    order_count: int
    quantity_units: int

    @classmethod
    def of(cls, level: Level) -> LevelPublic:
        return cls(price_micro_usd=level.price_micro_usd, order_count=level.order_count,
                   quantity_units=level.units)


class EntryPublic(BaseModel):
    """A live order at the top of one side: what a taker fills."""

    order: str
    maker: str
    price_micro_usd: int
    quantity_units: int  # of the book's item the future delivers, or the bid wants
    future: str | None  # None: a criteria bid


class BookPublic(BaseModel):
    round: int
    item: int
    timestamp: int  # the moment the book was judged at (expiries, deliveries)
    best_bid_micro_usd: int | None
    best_ask_micro_usd: int | None
    bids: list[LevelPublic]
    asks: list[LevelPublic]
    top_bids: list[EntryPublic]
    top_asks: list[EntryPublic]


class TradePublic(BaseModel):
    order: str
    future: str
    seller: str
    buyer: str
    price_micro_usd: int
    fee_micro_usd: int
    block: int
    tx: str
    timestamp: int


class HealthPublic(BaseModel):
    status: Literal["ok"]
    chain_id: int
    exchange: str
    block: int  # the last block indexed
    timestamp: int  # its timestamp
    order_count: int  # orders held, live or not


class PriceRecordPublic(BaseModel):
    """One of an item's price records (`market.prices.PricePoint`): its round's clearing price,
    or a trade's share of its future's price, per unit; a trade names its future, order and
    parties."""

    round: int
    timestamp: int
    source: Literal["clearing", "trade"]
    price_per_unit_micro_usd: int
    quantity_units: int
    future: str | None
    order_hash: str | None
    seller: str | None
    buyer: str | None

    @classmethod
    def of(cls, point: PricePoint) -> PriceRecordPublic:
        return cls(round=point.round_id, timestamp=point.timestamp, source=point.source.value,
                   price_per_unit_micro_usd=point.price_per_unit_micro_usd,
                   quantity_units=point.units, future=_hex(point.future),
                   order_hash=_hex(point.order_hash), seller=point.seller, buyer=point.buyer)


class ItemPricesPublic(BaseModel):
    """An item's price records, oldest first (`rcm market prices`)."""

    item: str  # its label (`market.model.item_label`)
    prices: list[PriceRecordPublic]


class PriceIndexPublic(BaseModel):
    """The price index of each resource and region over time (`rcm market index`)."""

    window_seconds: int
    index: list[IndexPoint]  # market.prices' own record, as it is


def _hex(raw: bytes | None) -> str | None:
    return None if raw is None else "0x" + raw.hex()
