"""One simulated market: `simulate(config, seed)` runs its rounds — draw, fundamental, bids,
clearing, secondary trading, delivery, learning — and returns the run's record."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Collection, Mapping
from statistics import fmean
from typing import Any

import numpy as np

from market.model import Market
from market.pricing import losing_bundles
from market.result import LossReason, PricedClearing
from sim.agents import EndUsers, MarketMaker, PriceState, Speculator, speculators
from sim.bubble import BubbleTest, UntestableSeries, gsadf
from sim.clearing import Cleared, clear_round, fundamental, lottery_flips
from sim.config import RunConfig
from sim.result import RoundLog, RunResult
from sim.secondary import Book, Future
from sim.series import autocorrelation, log_returns, volatility
from sim.tally import RoundFigures, Tally
from sim.trading import Need, Traders, trade_round
from sim.world import CLEARING_TIMESTAMP, Draw, World, job_of

_PRICE_LOSSES = (LossReason.OUTBID, LossReason.BELOW_RESERVE, LossReason.UNSELECTED)
_RAISE = 0.05  # a user that lost although its bid covered the prices bids this much more
_PROOF_TOLERANCE = 1e-12
_MICRO = 1_000_000


def simulate(config: RunConfig, seed: int) -> RunResult:
    world = World(config, seed)
    users = EndUsers(config.bids_per_round, config.initial_shading, config.learning_rate)
    trading_rng = random.Random(f"{seed}-trading")
    makers = {f"maker-{m}": MarketMaker(config.maker_inventory)
              for m in range(config.market_makers)}
    state = PriceState()
    tally = Tally()
    logs: list[RoundLog] = []
    prices: list[float] = []
    fundamentals: list[float] = []
    basket: dict[str, int] = {}
    for number in range(config.rounds):
        started = time.monotonic()
        draw = world.next_round(number)
        truth = fundamental(draw.market, config)
        extra = time.monotonic() - started
        if number == 0:
            basket = dict(draw.market.capacity)
            state.cleared(_reserves(draw.market), _reserves(draw.market))
        crowd = speculators(len(draw.shapes), config.trend_follower_share)
        bids = users.bids(draw.users) + [speculator.bid(shape, j, state) for j, (speculator, shape)
                                         in enumerate(zip(crowd, draw.shapes, strict=True))]
        market = draw.market.model_copy(update={"bids": bids})
        cleared = clear_round(market, config)
        lottery_started = time.monotonic()
        flipped = (lottery_flips(market, config, {f.bid for f in cleared.priced.allocation})
                   if cleared.priced is not None and config.lottery_seeds else 0)
        extra += time.monotonic() - lottery_started
        shading = sum(users.shading[:len(draw.users)]) / max(len(draw.users), 1)

        futures, traders = _issue(draw, market, cleared, users, crowd, makers,
                                  [trading_rng.randint(1, max(config.trading_steps, 1))
                                   for _ in draw.late])
        _learn(draw, cleared, users)
        fundamental_index = _index(basket, {i: float(p) for i, p in truth.item_prices.items()})
        if cleared.priced is not None:
            state.cleared(cleared.priced.item_prices, truth.item_prices)
        prices.append(_index(basket, state.last))
        fundamentals.append(fundamental_index)
        book = Book(number, [item.id for item in market.items])
        books = trade_round(book, futures, traders, state, config.trading_steps, trading_rng)
        prices += [_index(basket, b.prices) for b in books]
        fundamentals += [fundamental_index] * len(books)
        tally.spreads += [b.spread for b in books if b.spread is not None]
        tally.listed_units += [b.units for b in books]
        for maker in makers.values():
            maker.held = 0  # what a maker still holds at delivery expires
        figures = _figures(draw, market, cleared, truth, futures, book, flipped, shading,
                           config, traders.speculators.keys())
        tally.rounds.append(RoundFigures(**figures, seconds=time.monotonic() - started - extra,
                                         extra_seconds=extra))
        logs.append(_log(number, cleared, len(bids)))
    metrics = tally.metrics() | _series_metrics(prices, fundamentals)
    bubbles = _bubbles([p / f for p, f in zip(prices, fundamentals, strict=True)])
    metrics |= {"gsadf": bubbles.statistic if bubbles else 0.0,
                "bubble_share": sum(last - first + 1 for first, last in bubbles.periods)
                / len(prices) if bubbles else 0.0}
    return RunResult(config=config, seed=seed, rounds=logs, price=prices,
                     fundamental=fundamentals, bubbles=bubbles.periods if bubbles else [],
                     metrics=metrics)


def _issue(draw: Draw, market: Market, cleared: Cleared, users: EndUsers,
           crowd: list[Speculator], makers: dict[str, MarketMaker], arrivals: list[int]
           ) -> tuple[list[Future], Traders]:
    """The futures the auction issued, held by the bids that won them (a trader is named by
    its bid), and who trades them: the users who lost on price from the first step, the late
    ones from their `arrivals`."""
    spec_ids = {bid.id: speculator for bid, speculator
                in zip(market.bids[len(draw.users):], crowd, strict=True)}
    first = len(draw.users)
    needs = {bid.id: Need(job_of(bid, market), users.shading[first + k], arrives)
             for k, (bid, arrives) in enumerate(zip(draw.late, arrivals, strict=True))}
    if cleared.priced is None:
        return [], Traders(spec_ids, makers, needs)
    user_index = {bid.id: i for i, bid in enumerate(draw.users)}
    for loss in cleared.priced.losing:
        if loss.reason in _PRICE_LOSSES and loss.bid in user_index:
            i = user_index[loss.bid]
            needs[loss.bid] = Need(job_of(draw.users[i], market), users.shading[i], 1)
    futures = [Future(k, dict(fill.items), fill.bid)
               for k, fill in enumerate(cleared.priced.allocation)]
    return futures, Traders(spec_ids, makers, needs)


def _learn(draw: Draw, cleared: Cleared, users: EndUsers) -> None:
    """Each user's shading moves toward what it paid, if it won, or toward what its home bundle
    cost at the round's prices, if it lost on price and that was within its value."""
    if cleared.priced is None:
        return
    paid = {payment.winner: payment.total for payment in cleared.priced.payments}
    won = {fill.bid: fill.bundle for fill in cleared.priced.allocation}
    lost_on_price = {loss.bid for loss in cleared.priced.losing if loss.reason in _PRICE_LOSSES}
    prices = cleared.priced.item_prices
    for i, truthful in enumerate(draw.users):
        if truthful.id in won:
            users.learn(i, truthful.bundles[won[truthful.id]].value, paid[truthful.id])
        elif truthful.id in lost_on_price:
            home = truthful.bundles[0]
            needed = sum(units * prices[item] for item, units in home.items.items())
            if needed < home.value:
                bid = users.shading[i] * home.value
                users.learn(i, home.value, min(home.value, max(needed, bid * (1 + _RAISE))))


def _figures(draw: Draw, market: Market, cleared: Cleared, truth: PricedClearing,
             futures: list[Future], book: Book, flipped: int, shading: float,
             config: RunConfig, speculators: Collection[str]) -> dict[str, Any]:
    users = {bid.id: bid for bid in draw.users + draw.late}
    capacity = _reserve_value(market, market.capacity)
    figures: dict[str, Any] = dict(
        optimum_micro_usd=truth.welfare, fundamental_gap=truth.gap, delivered_micro_usd=0,
        won_by_users_micro_usd=0, reserve_cost_micro_usd=0, welfare_micro_usd=0, gap=0.0,
        proven=False, failed=True,
        bids=len(market.bids), flipped=flipped, shading=shading, violations=0,
        violation_excess_micro_usd=0, trades=len(book.trades), speculator_paid_micro_usd=0,
        speculator_received_micro_usd=sum(t.price_micro_usd for t in book.trades
                                          if t.seller in speculators),
        capacity_value_micro_usd=capacity, idle_value_micro_usd=capacity)
    priced = cleared.priced
    if priced is None:
        return figures
    sold: Counter[str] = Counter()
    delivered: Counter[str] = Counter()
    for future, fill in zip(futures, priced.allocation, strict=True):
        sold.update(fill.items)
        if future.holder not in users:
            continue  # a speculator's or a market maker's: it expires unused
        delivered.update(fill.items)
        if future.holder == fill.bid:
            figures["delivered_micro_usd"] += users[fill.bid].bundles[fill.bundle].value
        else:
            figures["delivered_micro_usd"] += users[future.holder].bundles[0].value
    excesses = [value - sum(units * priced.item_prices[item] for item, units in items.items())
                for items, value in losing_bundles(market, priced, CLEARING_TIMESTAMP)]
    figures.update(
        won_by_users_micro_usd=sum(users[f.bid].bundles[f.bundle].value
                                   for f in priced.allocation if f.bid in users),
        reserve_cost_micro_usd=_reserve_value(market, sold), welfare_micro_usd=priced.welfare,
        gap=priced.gap, proven=priced.gap <= config.relative_gap + _PROOF_TOLERANCE,
        failed=False, violations=sum(1 for excess in excesses if excess > 0),
        violation_excess_micro_usd=sum(excess for excess in excesses if excess > 0),
        speculator_paid_micro_usd=sum(p.total for p in priced.payments
                                      if p.winner in speculators),
        idle_value_micro_usd=capacity - _reserve_value(market, delivered))
    return figures


def _log(number: int, cleared: Cleared, bids: int) -> RoundLog:
    priced = cleared.priced
    return RoundLog(round=number, status=cleared.status if priced is None else priced.status,
                    gap=priced.gap if priced else 0.0, seconds=round(cleared.seconds, 4),
                    welfare_micro_usd=priced.welfare if priced else 0, bids=bids,
                    winners=len(priced.allocation) if priced else 0, fallback=cleared.fallback)


def _reserves(market: Market) -> dict[str, int]:
    """Each item's cheapest reserve price: what prices start from before any round clears."""
    return {item: steps[0][0] for item, steps in market.supply_curve.items() if steps}


def _reserve_value(market: Market, units: Mapping[str, int]) -> int:
    return sum(market.supply_cost(item, 0, count) for item, count in units.items() if count)


def _index(basket: dict[str, int], prices: Mapping[str, float]) -> float:
    """USD for the basket (round 0's capacity of every item) at `prices`."""
    return sum(units * prices.get(item, 0.0) for item, units in basket.items()) / _MICRO


def _bubbles(relative_prices: list[float]) -> BubbleTest | None:
    """The bubble test of price over fundamental; None for a run too short to test."""
    try:
        return gsadf(relative_prices)
    except UntestableSeries:
        return None


def _series_metrics(prices: list[float], fundamentals: list[float]) -> dict[str, float]:
    returns = log_returns(prices)
    return {
        "price_deviation": fmean(abs(p - f) / f for p, f in zip(prices, fundamentals,
                                                                 strict=True)),
        "volatility": volatility(prices),
        "return_autocorrelation": autocorrelation(returns),
        "abs_return_autocorrelation": autocorrelation(np.abs(returns)),
    }
