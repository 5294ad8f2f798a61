"""Who posts what on a round's secondary market, step by step until delivery: speculators and
market makers offer the futures they hold, users who lost the auction on price (from the first
step) and users whose jobs came up after it (from the step they arrive) bid by criteria for a
future their job fits, and market makers bid for the futures others offer. Each step the
traders act in a random order; each trade moves the prices everyone sees."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from chain.exchange import Side
from market.prices import BundleLine, attributed
from sim.agents import MarketMaker, PriceState, Speculator, user_bid
from sim.secondary import Book, Future, Trade
from sim.world import Job


@dataclass(frozen=True)
class Need:
    """A user without a future: its job, its bid over value, and the step it starts bidding."""

    job: Job
    shading: float
    arrives: int


@dataclass(frozen=True)
class Traders:
    """Who trades this round, by the name they hold futures under."""

    speculators: dict[str, Speculator]
    makers: dict[str, MarketMaker]
    needs: dict[str, Need]


@dataclass(frozen=True)
class StepBook:
    """The end of a step: the book's mean relative spread over the items quoted on both sides
    (None when none is), the units listed on either side, and each item's last price."""

    spread: float | None
    units: int
    prices: dict[str, float]


def trade_round(book: Book, futures: list[Future], traders: Traders, state: PriceState,
                steps: int, rng: random.Random) -> list[StepBook]:
    """Runs the round's `steps` trading steps."""
    clearing = dict(state.last)
    books = []
    for step in range(1, steps + 1):
        actions: list[Callable[[], Trade | None]] = []
        for future in futures:
            actions.append(_offer(book, step, future, traders, state, steps))
        actions += [_want(book, step, user, need) for user, need in traders.needs.items()
                    if need.arrives == step]
        for name, maker in traders.makers.items():
            actions.append(_make(book, step, name, maker, futures, state))
        rng.shuffle(actions)
        for action in actions:
            trade = action()
            if trade is not None:
                _settle(trade, book, traders, state, clearing)
        books.append(_step_book(book, state))
    return books


def _offer(book: Book, step: int, future: Future, traders: Traders, state: PriceState,
           steps: int) -> Callable[[], Trade | None]:
    def act() -> Trade | None:
        if future.holder in traders.speculators:
            speculator = traders.speculators[future.holder]
            return book.sell(step, future, speculator.ask(future.items, state, step, steps))
        if future.holder in traders.makers:
            return book.sell(step, future, traders.makers[future.holder].ask(future.items, state))
        return None  # a user keeps its future to run its job
    return act


def _want(book: Book, step: int, user: str, need: Need) -> Callable[[], Trade | None]:
    job = need.job
    return lambda: book.bid_criteria(step, user, job.gpu_item, job.gpus,
                                     user_bid(job, need.shading))


def _make(book: Book, step: int, name: str, maker: MarketMaker, futures: list[Future],
          state: PriceState) -> Callable[[], Trade | None]:
    """The maker's bid for the offered future that is cheapest against its value, while it
    has room; one bid per step."""
    def act() -> Trade | None:
        offered = [f for f in futures if f.holder != name
                   and (f.holder, "sell", f.number) in book.orders]
        if maker.full or not offered:
            return None
        cheapest = min(offered, key=lambda f: book.orders[f.holder, "sell", f.number][0]
                       .price_micro_usd / max(state.value(f.items, state.last), 1.0))
        return book.bid_for(step, name, cheapest, maker.bid(cheapest.items, state))
    return act


def _settle(trade: Trade, book: Book, traders: Traders, state: PriceState,
            clearing: dict[str, float]) -> None:
    """The trade's effects on who holds what and on the prices everyone sees."""
    if trade.seller in traders.makers:
        traders.makers[trade.seller].held -= 1
    if trade.buyer in traders.makers:
        traders.makers[trade.buyer].held += 1
    traders.needs.pop(trade.buyer, None)
    items = book.futures[trade.future].items
    lines = [BundleLine(item, "", "", units, round(clearing.get(item, 0.0)))
             for item, units in sorted(items.items())]
    for line, per_unit in zip(lines, attributed(trade.price_micro_usd, lines), strict=True):
        state.last[line.item] = float(per_unit)


def _step_book(book: Book, state: PriceState) -> StepBook:
    best_bid: dict[int, float] = {}
    best_ask: dict[int, float] = {}
    units = 0
    for entry in book.live():
        units += entry.units
        per_unit = entry.price_micro_usd / entry.units
        if entry.side is Side.BUY:
            best_bid[entry.item] = max(best_bid.get(entry.item, 0.0), per_unit)
        else:
            best_ask[entry.item] = min(best_ask.get(entry.item, float("inf")), per_unit)
    spreads = [max(0.0, best_ask[i] - best_bid[i]) / ((best_ask[i] + best_bid[i]) / 2)
               for i in best_bid.keys() & best_ask.keys()]
    return StepBook(sum(spreads) / len(spreads) if spreads else None, units, dict(state.last))
