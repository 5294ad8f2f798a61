"""One round's secondary market, between its auction and its delivery: an order book kept by
the exchange's own rules (`market.book`: how orders are listed, ranked and crossed). An order
that arrives fills against the best resting order it crosses, at that order's price, as a
taker's fill does on chain; one it does not cross rests. A trader has one order per future
(or, for a bid by criteria, per item): a new one replaces it and goes to the back of the
queue at its price, as a cancel and a new order do."""

from __future__ import annotations

from dataclasses import dataclass

from chain.exchange import Side
from market.book import Entry, crosses, entries, priority

Key = tuple[str, str, int]  # (trader, "sell" | "buy" | "criteria", future or item)


@dataclass
class Future:
    number: int
    items: dict[str, int]
    holder: str


@dataclass(frozen=True)
class Trade:
    step: int
    future: int
    seller: str
    buyer: str
    price_micro_usd: int


class Book:
    def __init__(self, round_number: int, items: list[str]) -> None:
        self.round_number = round_number
        self.item_index = {item: index for index, item in enumerate(items)}
        self.orders: dict[Key, list[Entry]] = {}
        self.sequence = 0
        self.futures: dict[int, Future] = {}
        self.trades: list[Trade] = []

    def sell(self, step: int, future: Future, price_micro_usd: int) -> Trade | None:
        self.futures[future.number] = future
        return self._post(step, (future.holder, "sell", future.number), entries(
            self._hash(), Side.SELL, price_micro_usd, self.sequence, self.round_number,
            self._indexed(future.items), future.number))

    def bid_for(self, step: int, trader: str, future: Future, price_micro_usd: int
                ) -> Trade | None:
        """A buy order naming one future."""
        return self._post(step, (trader, "buy", future.number), entries(
            self._hash(), Side.BUY, price_micro_usd, self.sequence, self.round_number,
            self._indexed(future.items), future.number))

    def bid_criteria(self, step: int, trader: str, item: str, units: int,
                     price_micro_usd: int) -> Trade | None:
        """A buy order for any future of the round with at least `units` of `item`."""
        index = self.item_index[item]
        return self._post(step, (trader, "criteria", index), [Entry(
            self._hash(), Side.BUY, price_micro_usd, self.sequence, self.round_number, index,
            units, None)])

    def live(self) -> list[Entry]:
        return [entry for listed in self.orders.values() for entry in listed]

    def _post(self, step: int, key: Key, listed: list[Entry]) -> Trade | None:
        self.sequence += 1
        self.orders.pop(key, None)
        trader, kind, _ = key
        matches = [(other_key, resting) for other_key, others in self.orders.items()
                   if other_key[0] != trader  # the exchange refuses a fill of one's own order
                   for resting in others for mine in listed
                   if (crosses(resting, mine) if kind == "sell" else crosses(mine, resting))]
        if not matches:
            self.orders[key] = listed
            return None
        resting_key, resting = min(matches, key=lambda match: priority(match[1]))
        del self.orders[resting_key]
        seller, buyer = (trader, resting_key[0]) if kind == "sell" else (resting_key[0], trader)
        future_number = key[2] if kind == "sell" else resting_key[2]
        self.orders.pop((seller, "sell", future_number), None)
        future = self.futures[future_number]
        future.holder = buyer
        trade = Trade(step, future_number, seller, buyer, resting.price_micro_usd)
        self.trades.append(trade)
        return trade

    def _hash(self) -> bytes:
        return self.sequence.to_bytes(32, "big")

    def _indexed(self, items: dict[str, int]) -> dict[int, int]:
        return {self.item_index[item]: units for item, units in items.items()}
