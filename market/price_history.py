"""A deployment's price history, rebuilt from its events in one pass over its logs: each round's
asks (`AskPosted`: what its items are), revealed bids (`Revealed`: the bundles its futures
hold), results (`BatchPosted`: which bundle of which bid won) and final prices (`Priced`, its
latest version), and every trade on the futures exchange (`Traded`). The records themselves are
`market/prices.py`'s.

An item is named across rounds by its label (`market.model.item_label`), or as `ROUND:INDEX`,
its index in one round.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.clearing_house import Round
from chain.events import emitted
from chain.settlement import KIND_CODES, TIER_CODES, Award, ask_from_event, bid_from_event
from market.errors import MarketError
from market.onchain import market_item
from market.prices import (
    BundleLine,
    ClearedRound,
    IndexPoint,
    ItemSale,
    PricePoint,
    Trade,
    clearing_points,
    price_index,
    trade_points,
    wash_trades,
)

if TYPE_CHECKING:
    from chain.bid import Bid
    from chain.contract import Event
    from chain.settlement import Ask
    from chain.system import System

ROUND_ITEM = re.compile(r"(\d+):(\d+)")
LABEL = re.compile(rf"({'|'.join(KIND_CODES)})-.+-({'|'.join(TIER_CODES)})")


@dataclass(frozen=True)
class PriceHistory:
    """Every price record of a deployment, oldest first, and the label of every item each
    round offered, by (round, item index)."""

    points: list[PricePoint]
    labels: dict[tuple[int, int], str]

    def label_of(self, text: str) -> str:
        """The label `text` names: a label, or `ROUND:INDEX`."""
        indexed = ROUND_ITEM.fullmatch(text)
        if indexed:
            round_id, index = map(int, indexed.groups())
            if (round_id, index) not in self.labels:
                raise MarketError(f"round {round_id} offered no item {index}", field="item")
            return self.labels[round_id, index]
        if not LABEL.fullmatch(text):
            raise MarketError(f"{text!r} is neither ROUND:INDEX nor a label such as "
                              "gpu-euw1-2027-06-07T00:00Z-certified", field="item")
        if text not in self.labels.values():
            raise MarketError(f"no round offered {text}", field="item")
        return text

    def series(self, text: str) -> list[PricePoint]:
        """The records of the item `text` names, oldest first."""
        label = self.label_of(text)
        return [point for point in self.points if point.item == label]

    def index(self, resource: str | None = None, region: str | None = None
              ) -> list[IndexPoint]:
        """The index of each resource and region recorded (of `resource`, in `region`, when
        given), in time order."""
        if resource is not None and resource not in KIND_CODES:
            raise MarketError(f"expected one of {', '.join(KIND_CODES)}, got {resource!r}",
                              field="resource")
        markets = sorted({(p.resource, p.region) for p in self.points
                          if resource in (None, p.resource) and region in (None, p.region)})
        if region is not None and not markets:
            raise MarketError(f"no {resource or 'item'} was priced in {region}", field="region")
        excluded = wash_trades(self.points)
        series = [point for market in markets
                  for point in price_index(self.points, *market, excluded=excluded)]
        return sorted(series, key=lambda point: point.timestamp)


def read_price_history(system: System) -> PriceHistory:
    """Every round's final prices and every trade's, per item, in the order the chain recorded
    them."""
    house, exchange = system.clearing_house, system.exchange
    found: dict[str, list[Event]] = defaultdict(list)
    for _, event in emitted(system, [house, exchange]):
        found[event.name].append(event)
    asks: dict[int, dict[int, Ask]] = defaultdict(dict)
    for event in found["AskPosted"]:
        asks[int(event.args["roundId"])][int(event.args["item"])] = ask_from_event(
            event.args["ask"])
    bids = {bytes(e.args["digest"]): bid_from_event(e.args["bid"]) for e in found["Revealed"]}
    awards: dict[tuple[int, int], list[tuple[int, list[Award]]]] = defaultdict(list)
    for event in found["BatchPosted"]:
        awards[int(event.args["roundId"]), int(event.args["version"])].append(
            (int(event.args["batch"]), [Award.from_event(a) for a in event.args["awards"]]))
    priced: dict[int, Event] = {}
    for event in found["Priced"]:  # a later version replaces an earlier one
        round_id = int(event.args["roundId"])
        if round_id not in priced or event.args["version"] >= priced[round_id].args["version"]:
            priced[round_id] = event
    traded = [(e, int(e.args["futureId"]).to_bytes(32, "big")) for e in found["Traded"]]
    final = {round_id: _final_awards(system, awards, priced, round_id)
             for round_id in {*priced, *(bids[future].round_id for _, future in traded)}}
    rounds = _Rounds(asks, bids, final, priced)
    times = system.chain.block_timestamps(
        [e.block_number for e in (*priced.values(), *found["Traded"])])

    dated: list[tuple[int, int, list[PricePoint]]] = []
    for round_id, event in priced.items():
        prices = [int(p) for p in event.args["itemPricesMicroUsd"]]
        cleared = ClearedRound(round_id, times[event.block_number], rounds.sales(round_id),
                               prices)
        dated.append((event.block_number, event.log_index, clearing_points(cleared)))
    for event, future in traded:
        bid = bids[future]
        trade = Trade(bytes(event.args["orderHash"]), future, bid.round_id,
                      times[event.block_number], event.args["seller"], event.args["buyer"],
                      int(event.args["priceMicroUsd"]))
        dated.append((event.block_number, event.log_index,
                      trade_points(trade, rounds.lines(future, bid))))
    dated.sort(key=lambda entry: entry[:2])
    labels = {(round_id, index): market_item(index, ask).label
              for round_id, offered in asks.items() for index, ask in offered.items()}
    return PriceHistory([point for *_, points in dated for point in points], labels)


def _final_awards(system: System, awards: dict[tuple[int, int], list[tuple[int, list[Award]]]],
                  priced: dict[int, Event], round_id: int) -> list[Award]:
    """The awards of the round's priced result, else of its standing one (an unpriced round's
    futures are issued from it, and only its view says which it is), in batch order."""
    event = priced.get(round_id)
    version = (int(event.args["version"]) if event is not None
               else Round.read(system.clearing_house, round_id).standing_version)
    return [award for _, batch in sorted(awards[round_id, version], key=lambda n: n[0])
            for award in batch]


@dataclass(frozen=True)
class _Rounds:
    """What the events say of each round's final result."""

    asks: dict[int, dict[int, Ask]]
    bids: dict[bytes, Bid]
    final: dict[int, list[Award]]
    priced: dict[int, Event]

    def sales(self, round_id: int) -> list[ItemSale]:
        """Each item of the round, in item order, with the units its result sold."""
        sold: dict[int, int] = defaultdict(int)
        for award in self.final[round_id]:
            bundle = self.bids[award.bid_digest].bundles[award.bundle_index]
            for item, quantity in zip(bundle.items, bundle.quantities, strict=True):
                sold[item] += quantity
        offered = self.asks[round_id]
        return [ItemSale(market_item(index, offered[index]).label, offered[index].resource,
                         offered[index].region, sold[index]) for index in sorted(offered)]

    def lines(self, future: bytes, bid: Bid) -> list[BundleLine]:
        """The future's bundle, each item weighed by its round's final price per unit: the
        clearing price, or the reserve an unpriced round's winners paid."""
        (award,) = [a for a in self.final[bid.round_id] if a.bid_digest == future]
        bundle = bid.bundles[award.bundle_index]
        offered = self.asks[bid.round_id]
        event = self.priced.get(bid.round_id)
        prices = ([int(p) for p in event.args["itemPricesMicroUsd"]] if event is not None
                  else [offered[i].reserve_price_micro_usd for i in sorted(offered)])
        return [BundleLine(market_item(item, offered[item]).label, offered[item].resource,
                           offered[item].region, quantity, prices[item])
                for item, quantity in zip(bundle.items, bundle.quantities, strict=True)]
