"""The traders and how each decides: end users who learn how far to shade their bids,
speculators of two kinds (Brock and Hommes 1998: fundamentalists who expect prices to return
to the fundamental, trend followers who extrapolate the last change), and market makers who
quote both sides of the secondary book within an inventory limit.

Prices here are per unit of an item, micro-USD, as the Ethical Pricing Function sets them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from market.model import Bid, Bundle, EquityClass
from sim.world import Job

SHADING_FLOOR = 0.3  # no user bids below this share of its value
SPECULATOR_MARGIN = 0.1  # the return a speculator wants on a future's expected resale price
TREND_GAIN = 1.0  # trend followers expect last round's change to repeat
MAKER_HALF_SPREAD = 0.05  # a market maker buys this far below its mid and sells this far above
SPECULATOR_RISK_BPS = 1_000  # speculators declare no job: the lowest risk band's floor


class Kind(StrEnum):
    FUNDAMENTALIST = "fundamentalist"
    TREND_FOLLOWER = "trend_follower"


@dataclass
class PriceState:
    """What every trader sees: each item's last price (the clearing price, then the trades'),
    the clearing price a round before, and the last round's fundamental price."""

    last: dict[str, float] = field(default_factory=dict)
    previous: dict[str, float] = field(default_factory=dict)
    fundamental: dict[str, float] = field(default_factory=dict)

    def cleared(self, prices: dict[str, int], fundamental: dict[str, int]) -> None:
        self.previous = dict(self.last)
        self.last = {item: float(price) for item, price in prices.items()}
        self.fundamental = {item: float(price) for item, price in fundamental.items()}

    def value(self, items: dict[str, int], prices: dict[str, float]) -> float:
        return sum(units * prices.get(item, self.last.get(item, 0.0))
                   for item, units in items.items())


class EndUsers:
    """The users of a run, by their place in each round's draw; each keeps its own shading (bid
    over true value) and moves it toward what its last round suggests: down to what it paid
    when it won, up to what the bundle cost when it lost on price."""

    def __init__(self, count: int, initial_shading: float, learning_rate: float) -> None:
        self.shading = [initial_shading] * count
        self.learning_rate = learning_rate

    def bids(self, truthful: list[Bid]) -> list[Bid]:
        return [_valued(bid, [round(b.value * self.shading[i]) for b in bid.bundles])
                for i, bid in enumerate(truthful)]

    def learn(self, user: int, value_micro_usd: int, target_micro_usd: float) -> None:
        """Move user's shading toward `target` / `value` (what it paid, or what it would have
        needed to bid)."""
        target = min(1.0, max(SHADING_FLOOR, target_micro_usd / max(value_micro_usd, 1)))
        self.shading[user] += self.learning_rate * (target - self.shading[user])


@dataclass(frozen=True)
class Speculator:
    kind: Kind

    def expected_prices(self, state: PriceState) -> dict[str, float]:
        """Per item, the price it expects to resell at."""
        if self.kind is Kind.FUNDAMENTALIST:
            return state.fundamental
        return {item: max(0.0, price + TREND_GAIN * (price - state.previous.get(item, price)))
                for item, price in state.last.items()}

    def bid(self, shape: Bid, number: int, state: PriceState) -> Bid:
        """A bid for the bundles of `shape`, each at its expected resale value less the
        margin: with stake, ε and eligibility like any bidder's, and no job to run."""
        expected = self.expected_prices(state)
        return Bid(id=f"spec-{number:05d}", buyer=f"{self.kind}-{number:04d}",
                   bundles=[Bundle(items=b.items, value=round(
                       (1 - SPECULATOR_MARGIN) * state.value(b.items, expected)))
                       for b in shape.bundles],
                   risk_bps=SPECULATOR_RISK_BPS, purpose="speculation",
                   equity_class=EquityClass.COMMERCIAL)

    def ask(self, items: dict[str, int], state: PriceState, step: int, steps: int) -> int:
        """Its price for a future it holds at `step` of `steps`: the expected value, lowered
        as delivery nears, since an unsold future expires worthless."""
        expected = state.value(items, self.expected_prices(state))
        return max(1, round(expected * (1 - step / (steps + 1))))


def speculators(count: int, trend_follower_share: float) -> list[Speculator]:
    followers = round(count * trend_follower_share)
    return ([Speculator(Kind.FUNDAMENTALIST)] * (count - followers)
            + [Speculator(Kind.TREND_FOLLOWER)] * followers)


@dataclass
class MarketMaker:
    """Quotes both sides of the futures listed for sale, around the last prices of their
    items, holding at most `inventory` futures; what it holds at delivery expires worthless."""

    inventory: int
    held: int = 0

    def bid(self, items: dict[str, int], state: PriceState) -> int:
        """Its bid for a future delivering `items` (it names the future it bids for)."""
        return max(1, round(state.value(items, state.last) * (1 - MAKER_HALF_SPREAD)))

    @property
    def full(self) -> bool:
        return self.held >= self.inventory

    def ask(self, items: dict[str, int], state: PriceState) -> int:
        return max(1, round(state.value(items, state.last) * (1 + MAKER_HALF_SPREAD)))


def user_bid(job: Job, shading: float) -> int:
    """What a user who lost the auction bids on the secondary market for its job."""
    return max(1, round(job.value_micro_usd * shading))


def _valued(bid: Bid, values: list[int]) -> Bid:
    return bid.model_copy(update={"bundles": [
        Bundle(items=bundle.items, value=value) for bundle, value in zip(bid.bundles, values,
                                                                         strict=True)]})
