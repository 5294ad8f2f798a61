"""The run's metrics, added up round by round (docs/stability.md defines each): what the
auction and the secondary market delivered against the optimum on true values, how well the
solver did, and how the book looked."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import fmean


@dataclass(frozen=True)
class RoundFigures:
    """What one round contributes, micro-USD where an amount."""

    optimum_micro_usd: int  # the fundamental solve's welfare on true values
    fundamental_gap: float  # how far that solve is from proven
    delivered_micro_usd: int  # true value of the jobs run on the futures delivered
    won_by_users_micro_usd: int  # true value of the bundles users won at auction
    reserve_cost_micro_usd: int  # reserve cost of every unit the auction sold
    welfare_micro_usd: int  # the round's welfare on the bids as submitted
    gap: float
    proven: bool
    failed: bool
    bids: int
    flipped: int  # bids whose outcome another solver seed changes
    shading: float  # mean user bid over true value
    violations: int
    violation_excess_micro_usd: int
    trades: int
    speculator_paid_micro_usd: int
    speculator_received_micro_usd: int
    capacity_value_micro_usd: int  # every unit offered, at its reserve price
    idle_value_micro_usd: int  # the units no job ran on, at their reserve prices
    seconds: float  # clearing and trading
    extra_seconds: float  # the fundamental and the lottery's re-solves


@dataclass
class Tally:
    rounds: list[RoundFigures] = field(default_factory=list)
    spreads: list[float] = field(default_factory=list)
    listed_units: list[int] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        rounds = self.rounds
        optimum = max(sum(r.optimum_micro_usd for r in rounds), 1)
        cost = sum(r.reserve_cost_micro_usd for r in rounds)
        cleared = [r for r in rounds if not r.failed]
        paid = sum(r.speculator_paid_micro_usd for r in rounds)
        return {
            "efficiency": (sum(r.delivered_micro_usd for r in rounds) - cost) / optimum,
            "auction_efficiency": (sum(r.won_by_users_micro_usd for r in rounds) - cost)
            / optimum,
            "gap": fmean(r.gap for r in cleared) if cleared else 0.0,
            "fundamental_gap": fmean(r.fundamental_gap for r in rounds),
            "proven_share": sum(r.proven for r in rounds) / len(rounds),
            "failed_rounds": float(len(rounds) - len(cleared)),
            "lottery_rate": sum(r.flipped for r in rounds) / max(sum(r.bids for r in rounds), 1),
            "shading": fmean(r.shading for r in rounds),
            "violations": float(sum(r.violations for r in rounds)),
            "violation_excess": sum(r.violation_excess_micro_usd for r in rounds)
            / max(sum(r.welfare_micro_usd for r in rounds), 1),
            "spread": fmean(self.spreads) if self.spreads else 0.0,
            "depth": fmean(self.listed_units) if self.listed_units else 0.0,
            "volume": sum(r.trades for r in rounds) / len(rounds),
            "idle_capacity": sum(r.idle_value_micro_usd for r in rounds)
            / max(sum(r.capacity_value_micro_usd for r in rounds), 1),
            "speculator_return": (sum(r.speculator_received_micro_usd for r in rounds) - paid)
            / paid if paid else 0.0,
            "seconds_per_round": fmean(r.seconds for r in rounds),
            "extra_seconds_per_round": fmean(r.extra_seconds for r in rounds),
        }
