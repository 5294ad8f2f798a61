"""What one simulated market run produces: a log line per round, the price series against the
fundamental, and the run's metrics (each defined in docs/stability.md). Runs are written as
JSON lines, one per run, so a sweep's output is read back without the simulator."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sim.config import RunConfig

# name → what it measures; docs/stability.md gives each formula.
METRICS: dict[str, str] = {
    "efficiency": "true value delivered to end users less reserve cost, over the optimum",
    "auction_efficiency": "true value of the auction's allocation, over the optimum",
    "gap": "mean relative optimality gap the winner determination reached",
    "fundamental_gap": "mean relative gap of the unhurried solves the fundamental comes from",
    "proven_share": "share of rounds proven optimal (within the gap asked for)",
    "failed_rounds": "rounds whose winner determination returned no allocation in time",
    "lottery_rate": "share of bids whose win or loss flips across solver seeds",
    "shading": "mean end-user bid over true value",
    "violations": "losing bundles worth more than their price at the round's item prices",
    "violation_excess": "their total excess, over the round's welfare",
    "price_deviation": "mean |price - fundamental| / fundamental",
    "volatility": "standard deviation of log returns of the price index",
    "return_autocorrelation": "first-order autocorrelation of returns",
    "abs_return_autocorrelation": "first-order autocorrelation of |returns|",
    "gsadf": "Phillips-Shi-Yu GSADF statistic of the price index",
    "bubble_share": "share of steps date-stamped inside a bubble",
    "spread": "mean relative bid-ask spread per unit, over items quoted on both sides",
    "depth": "mean units listed on the secondary book at the end of a step",
    "volume": "futures traded per round on the secondary market",
    "idle_capacity": "share of capacity, at reserve prices, no job ran on at delivery",
    "speculator_return": "speculators' resale receipts over what they paid at auction, less 1",
    "seconds_per_round": "wall seconds per round, clearing and trading",
    "extra_seconds_per_round": "wall seconds per round of the fundamental and lottery solves",
}

# What a run measures of the machine, not of the market: they differ between any two runs.
WALL_CLOCK_METRICS = frozenset({"seconds_per_round", "extra_seconds_per_round"})


class RoundLog(BaseModel):
    """One round as it happened."""

    model_config = ConfigDict(frozen=True)

    round: int
    status: str  # market.result.Status, or "failed" when nothing came back in time
    gap: float
    seconds: float = Field(description="Wall seconds of the winner determination.")
    welfare_micro_usd: int
    bids: int
    winners: int
    fallback: str | None = Field(default=None, description="What the round fell back to, and why.")


class RunResult(BaseModel):
    """One run: its knobs and seed, each round, the price index and the fundamental per
    trading step (the auction is a step), the bubble periods date-stamped on it, its metrics."""

    model_config = ConfigDict(frozen=True)

    config: RunConfig
    seed: int
    rounds: list[RoundLog]
    price: list[float] = Field(description="Price index per step, USD per basket.")
    fundamental: list[float] = Field(description="The fundamental's index per step, same basket.")
    bubbles: list[tuple[int, int]] = Field(description="First and last step of each bubble.")
    metrics: dict[str, float]

    def line(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_line(cls, line: str) -> RunResult:
        return cls.model_validate_json(line)

    def repeatable(self) -> dict[str, Any]:
        """The run without its wall-clock times: what a repeat of its seed reproduces in
        deterministic mode."""
        record = self.model_dump()
        record["metrics"] = {name: value for name, value in self.metrics.items()
                             if name not in WALL_CLOCK_METRICS}
        record["rounds"] = [{**log, "seconds": None} for log in record["rounds"]]
        return record

    def cell(self, knobs: list[str]) -> dict[str, Any]:
        """The values of `knobs` this run was made with."""
        return {knob: getattr(self.config, knob) for knob in knobs}
