"""The Ethical Pricing Function: what each winner of a cleared round pays, and why.

A payment is the sum of four named components (docs/pricing.md has the formulation and a worked
example):

- supply and demand: item prices times units. The prices come from a lexicographic LP over
  item prices that keeps every winner's bundle within its value: first the largest amount by
  which a losing bundle is worth more than it would cost is made as small as possible (as
  core-selecting auctions do), then the total of those amounts, then the prices themselves,
  as markups on the reserve. Where linear prices support the allocation these are the least
  competitive (Walrasian) prices, the buyer-optimal point of the LP relaxation's dual prices.
  Prices never fall below the average reserve price of the units sold.
- a privacy premium, growing with the bid's ε over its dataset's remaining budget;
- a safety premium, growing with the risk rating;
- an equity adjustment: a discount for the policy's equity classes, funded by a levy on the
  other winners of the same round.

The premiums are closed-form and applied after the prices, each capped by what is left of the
bid's value, so no winner pays more than its bid and a higher ε or risk never lowers a payment.
Everything a buyer sees is integer micro-USD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from ortools.linear_solver import pywraplp

from market.eligibility import screen
from market.errors import MarketError
from market.model import BASIS_POINTS, Bid, Market
from market.result import Clearing, Component, LossReason, Payment, PricedClearing

MICROS = 1_000_000
# only losers that wanted the capacity at some price constrain prices; the rest lost to a rule
_PRICE_LOSSES = (LossReason.OUTBID, LossReason.BELOW_RESERVE, LossReason.UNSELECTED)
# how far, in USD, a stage may give up the previous stage's optimum: a few times GLOP's
# feasibility tolerance, far below the half micro-USD that rounding to integers hides
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class _Winner:
    bid: Bid
    items: dict[str, int]
    value: int
    reserve_share: int  # micro-USD: the reserve cost of its units at the items' floors


def price(market: Market, clearing: Clearing, now: int) -> PricedClearing:
    """Item prices and one payment per winner of `clearing`, a clearing of `market` at `now`."""
    sold = units_sold(market, clearing)
    floors = reserve_floors(market, sold)
    bid_by_id = {bid.id: bid for bid in market.bids}
    winners = [_winner(floors, number, bid_by_id[fill.bid], fill.bundle)
               for number, fill in enumerate(clearing.allocation)]
    losing = losing_bundles(market, clearing, now)
    prices = competitive_prices(floors, supply_ceilings(market, sold, losing), winners, losing)
    violation = max((value - _cost(prices, items) for items, value in losing), default=0)
    return PricedClearing(**dict(clearing), item_prices=prices,
                          payments=payments(market, prices, winners),
                          competitive_violation=max(violation, 0))


def units_sold(market: Market, clearing: Clearing) -> dict[str, int]:
    sold = dict.fromkeys(market.item_by_id, 0)
    for fill in clearing.allocation:
        for item_id, units in fill.items.items():
            sold[item_id] += units
    return sold


def reserve_floors(market: Market, sold: dict[str, int]) -> dict[str, Fraction]:
    """Lowest price per unit of each item: the average reserve price of the units sold, so that
    the providers' reserves are covered; for an item none of which is sold, its cheapest ask."""
    return {item_id: (Fraction(market.supply_cost(item_id, 0, units), units) if units
                      else Fraction(steps[0][0] if (steps := market.supply_curve[item_id]) else 0))
            for item_id, units in sold.items()}


def supply_ceilings(market: Market, sold: dict[str, int],
                    losing: list[tuple[dict[str, int], int]]) -> dict[str, int]:
    """Highest competitive price per unit of each item whose unsold units would serve a losing
    bundle: the reserve of the last unit that bundle needs. Above it providers would sell
    more; an item whose remaining units are too few for any losing bundle has none, as
    indivisible demand can leave units unsold at a price above their reserve."""
    smallest: dict[str, int] = {}
    for items, _ in losing:
        for item_id, units in items.items():
            smallest[item_id] = min(units, smallest.get(item_id, units))
    ceilings = {}
    for item_id, units in smallest.items():
        needed = sold[item_id] + units
        for reserve, available in market.supply_curve[item_id]:
            if needed <= available:
                ceilings[item_id] = reserve
                break
            needed -= available
    return ceilings


def _winner(floors: dict[str, Fraction], number: int, bid: Bid, bundle: int) -> _Winner:
    items = bid.bundles[bundle].items
    value = bid.bundles[bundle].value
    share = math.ceil(sum(floors[item_id] * units for item_id, units in items.items()))
    if share > value:
        # only a locally improvable allocation does this (dropping the bid raises welfare),
        # which clear() never returns: it drops such bids (wdp._repaired)
        raise MarketError(f"allocation[{number}]: bid {bid.id} is worth {value} micro-USD, "
                          f"less than the reserve cost {share} of its units: leave it out, "
                          "which raises welfare")
    return _Winner(bid, items, value, share)


def losing_bundles(market: Market, clearing: Clearing, now: int
                    ) -> list[tuple[dict[str, int], int]]:
    """(items, value) of every eligible bundle of the bids that lost on price."""
    eligible = screen(market, now).eligible
    index_of = {bid.id: index for index, bid in enumerate(market.bids)}
    return [(dict(market.bids[index].bundles[number].items),
             market.bids[index].bundles[number].value)
            for loss in clearing.losing if loss.reason in _PRICE_LOSSES
            for index in [index_of[loss.bid]] for number in eligible.get(index, [])]


def competitive_prices(floors: dict[str, Fraction], ceilings: dict[str, int],
                       winners: list[_Winner], losing: list[tuple[dict[str, int], int]]
                       ) -> dict[str, int]:
    """Integer micro-USD per unit: the LP's prices rounded to the nearest micro-USD, never
    below the item's floor."""
    solved = _PriceProgram(floors, ceilings, winners, losing).solve()
    return {item_id: max(round(solved.get(item_id, 0.0) * MICROS), math.ceil(floor))
            for item_id, floor in floors.items()}


class _PriceProgram:
    """min t, then min Σ s, then min Σ p / scale, over USD prices floor <= p <= ceiling with
    Σ p·q <= value for every winner and Σ p·q + s >= value, 0 <= s <= t for every losing
    bundle. USD, not micro-USD, keeps the coefficients near one for the simplex."""

    def __init__(self, floors: dict[str, Fraction], ceilings: dict[str, int],
                 winners: list[_Winner],
                 losing: list[tuple[dict[str, int], int]]) -> None:
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        # prices become integer micro-USD: a tolerance of 1e-6 USD would shift them by units
        self.solver.SetSolverSpecificParametersAsString(
            "primal_feasibility_tolerance: 1e-10 dual_feasibility_tolerance: 1e-10")
        used = sorted({item_id for winner in winners for item_id in winner.items}
                      | {item_id for items, _ in losing for item_id in items})
        infinity = self.solver.infinity()

        # p[i]: price of one unit of item i, USD.
        self.p = {item_id: self.solver.NumVar(
            float(floors[item_id]) / MICROS,
            ceilings[item_id] / MICROS if item_id in ceilings else infinity, f"p[{item_id}]")
            for item_id in used}
        # t: the largest amount by which a losing bundle is worth more than its price.
        self.t = self.solver.NumVar(0.0, infinity, "t")
        # s[b]: how much losing bundle b is worth more than its price.
        self.s = [self.solver.NumVar(0.0, infinity, f"s[{b}]") for b in range(len(losing))]
        # least prices measured as markups on the reserve: where no linear prices support the
        # allocation, the gap is closed by raising scarce GPUs a few percent, not storage
        # tenfold because it sells fewer units
        positive = [float(floor) / MICROS for floor in floors.values() if floor > 0]
        self.scale = {item_id: max(float(floors[item_id]) / MICROS, min(positive, default=1.0))
                      for item_id in used}

        # Individual rationality: no winner's bundle costs more than it is worth.
        for winner in winners:
            row = self.solver.Constraint(-infinity, winner.value / MICROS)
            for item_id, units in winner.items.items():
                row.SetCoefficient(self.p[item_id], units)

        # Competitive conditions: a losing bundle costs at least its value, up to its slack,
        # and no slack exceeds t.
        for b, (items, value) in enumerate(losing):
            row = self.solver.Constraint(value / MICROS, infinity)
            for item_id, units in items.items():
                row.SetCoefficient(self.p[item_id], units)
            row.SetCoefficient(self.s[b], 1.0)
            cap = self.solver.Constraint(-infinity, 0.0)
            cap.SetCoefficient(self.s[b], 1.0)
            cap.SetCoefficient(self.t, -1.0)

    def solve(self) -> dict[str, float]:
        """Three stages, each keeping the previous optimum (up to a tolerance) as a bound."""
        self._minimise({self.t: 1.0})
        self._keep({self.t: 1.0})
        self._minimise(dict.fromkeys(self.s, 1.0))
        self._keep(dict.fromkeys(self.s, 1.0))
        self._minimise({var: 1.0 / self.scale[item_id] for item_id, var in self.p.items()})
        return {item_id: var.solution_value() for item_id, var in self.p.items()}

    def _minimise(self, terms: dict[pywraplp.Variable, float]) -> None:
        objective = self.solver.Objective()
        objective.Clear()
        for var, coefficient in terms.items():
            objective.SetCoefficient(var, coefficient)
        objective.SetMinimization()
        status = self.solver.Solve()
        match status:
            case pywraplp.Solver.OPTIMAL:
                pass
            case pywraplp.Solver.INFEASIBLE:
                raise RuntimeError("pricing LP infeasible although its floors meet every "
                                   "winner's value")
            case pywraplp.Solver.UNBOUNDED:
                raise RuntimeError("pricing LP unbounded although every objective is bounded "
                                   "below by zero")
            case pywraplp.Solver.FEASIBLE | pywraplp.Solver.ABNORMAL | pywraplp.Solver.NOT_SOLVED:
                raise RuntimeError(f"GLOP stopped on the pricing LP with status {status}")
            case _:
                raise RuntimeError(f"unexpected GLOP status {status}")

    def _keep(self, terms: dict[pywraplp.Variable, float]) -> None:
        optimum = self.solver.Objective().Value()
        row = self.solver.Constraint(-self.solver.infinity(),
                                     optimum + _TOLERANCE * max(1.0, abs(optimum)))
        for var, coefficient in terms.items():
            row.SetCoefficient(var, coefficient)


def payments(market: Market, prices: dict[str, int], winners: list[_Winner]) -> list[Payment]:
    """Components per winner: supply and demand, then the premiums capped by what is left of
    the value, then the equity adjustment."""
    weights = market.policy.pricing
    bases = [min(max(_cost(prices, winner.items), winner.reserve_share), winner.value)
             for winner in winners]
    premiums = []
    for winner, base in zip(winners, bases, strict=True):
        headroom = winner.value - base
        privacy = min(math.floor(base * weights.privacy_bps * budget_share(market, winner.bid)
                                 / BASIS_POINTS), headroom)
        safety = min(math.floor(base * market.policy.safety_rate_bps(winner.bid.risk_bps)
                                / BASIS_POINTS), headroom - privacy)
        premiums.append((privacy, safety))
    equity = _equity_adjustments(market, winners, bases,
                                 [privacy + safety for privacy, safety in premiums])
    return [Payment(winner=winner.bid.id, total=base + privacy + safety + adjustment,
                    components={Component.SUPPLY_DEMAND: base, Component.PRIVACY_RISK: privacy,
                                Component.SAFETY_RISK: safety, Component.EQUITY: adjustment})
            for winner, base, (privacy, safety), adjustment
            in zip(winners, bases, premiums, equity, strict=True)]


def budget_share(market: Market, bid: Bid) -> Fraction:
    """ε over the dataset's remaining budget, at most 1; 1 when the budget is unknown or
    spent, since the bid may then take all that is left."""
    if bid.epsilon_micros == 0:
        return Fraction(0)
    remaining = market.remaining_budget_micros.get(bid.dataset) if bid.dataset else None
    if not remaining:
        return Fraction(1)
    return Fraction(min(bid.epsilon_micros, remaining), remaining)


def _equity_adjustments(market: Market, winners: list[_Winner], bases: list[int],
                        premiums: list[int]) -> list[int]:
    """Negative for equity classes, positive for the rest. Each discount is the weight's share
    of the supply-and-demand price, never taking the payment below the reserve share; the
    levy that funds them is spread over the other winners in proportion to their
    supply-and-demand price, none paying more than its value. When the levy cannot fund every
    discount in full, all of them shrink in proportion: discounts are rounded down and levies
    up, so the round never pays out more than it raises."""
    classes = market.policy.equity_classes
    bps = market.policy.pricing.equity_discount_bps
    wanted = {n: min(base * bps // BASIS_POINTS, base + premium - winner.reserve_share)
              for n, (winner, base, premium) in enumerate(zip(winners, bases, premiums,
                                                              strict=True))
              if winner.bid.equity_class in classes}
    room = {n: winner.value - base - premium if base else 0
            for n, (winner, base, premium) in enumerate(zip(winners, bases, premiums,
                                                            strict=True))
            if winner.bid.equity_class not in classes}
    asked, available = sum(wanted.values()), sum(room.values())
    funded = min(asked, available)
    adjustments = [0] * len(winners)
    if funded == 0:
        return adjustments
    for n, amount in wanted.items():
        adjustments[n] = -(amount * funded // asked)
    rate = _levy_rate(funded, {n: bases[n] for n in room}, room)
    for n, cap in room.items():
        adjustments[n] = min(math.ceil(rate * bases[n]), cap)
    return adjustments


def _levy_rate(amount: int, bases: dict[int, int], caps: dict[int, int]) -> Fraction:
    """The rate λ with Σ min(λ·base, cap) = amount (water-filling; amount <= Σ cap)."""
    need, rest = amount, sum(bases.values())
    for n in sorted((n for n in bases if bases[n]), key=lambda n: Fraction(caps[n], bases[n])):
        if caps[n] * rest > need * bases[n]:
            break
        need -= caps[n]
        rest -= bases[n]
    return Fraction(need, rest) if rest else Fraction(0)


def _cost(prices: dict[str, int], items: dict[str, int]) -> int:
    return sum(prices[item_id] * units for item_id, units in items.items())
