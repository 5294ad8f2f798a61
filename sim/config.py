"""What one simulated market is (`RunConfig`) and what a sweep runs (`SweepConfig`), read from
TOML. Every knob is a field here, so an unknown knob, a share outside [0, 1] or zero rounds is
refused by name before anything runs."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chain.errors import RcmError

Model = TypeVar("Model", bound=BaseModel)


class SimError(RcmError):
    """What the simulator refuses; the message names the field."""


class RunConfig(BaseModel):
    """One market: its size, how hard clearing is made, and who trades in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(default=30, ge=1, description="Auction rounds, one delivery period each.")
    bids_per_round: int = Field(default=500, ge=10, le=5_000)
    regions: int = Field(default=3, ge=1, le=10)
    slots: int = Field(default=2, ge=1, le=8)
    # How hard clearing is: the knobs the question is about.
    time_limit: float = Field(default=1.0, gt=0.0, description=(
        "Seconds of winner determination per round; in deterministic mode, CP-SAT's "
        "deterministic time units instead."))
    relative_gap: float = Field(default=0.0, ge=0.0, lt=1.0, description=(
        "Stop once the allocation is proven within this share of the optimum; 0: prove it."))
    solver: Literal["cp-sat", "greedy"] = "cp-sat"
    solver_seed: int = Field(default=0, ge=0)
    lottery_seeds: int = Field(default=0, ge=0, le=16, description=(
        "Extra solver seeds each round's bids are cleared with, to measure who wins by luck."))
    fundamental_time_limit: float = Field(default=10.0, gt=0.0, description=(
        "Seconds for the unhurried solve on true values that gives the fundamental prices."))
    deterministic: bool = Field(default=False, description=(
        "One solver worker and a deterministic time limit, so a seed repeats exactly."))
    # Who trades.
    speculator_share: float = Field(default=0.0, ge=0.0, le=1.0, description=(
        "Share of each round's bids from speculators."))
    trend_follower_share: float = Field(default=0.5, ge=0.0, le=1.0, description=(
        "Share of speculators who extrapolate the trend; the rest trade toward fundamental."))
    late_user_share: float = Field(default=0.2, ge=0.0, le=1.0, description=(
        "Share of end users whose jobs come up after the auction: they can only buy a future "
        "on the secondary market."))
    market_makers: int = Field(default=0, ge=0, le=20)
    maker_inventory: int = Field(default=2, ge=1, description=(
        "Futures a market maker may hold at once."))
    learning_rate: float = Field(default=0.2, ge=0.0, le=1.0, description=(
        "How far an end user moves its shading toward what last round's surplus suggests."))
    initial_shading: float = Field(default=1.0, gt=0.0, le=1.0, description=(
        "An end user's first bid over its true value."))
    demand_volatility: float = Field(default=0.1, ge=0.0, le=1.0, description=(
        "Standard deviation of the log demand shock per round."))
    supply_response: float = Field(default=0.5, ge=0.0, le=1.0, description=(
        "Share of last round's unmet demand providers add as capacity."))
    trading_steps: int = Field(default=5, ge=0, le=100, description=(
        "Secondary-market steps between an auction and its delivery."))


class SweepConfig(BaseModel):
    """A grid of knob values over a base market, each cell run with the same seeds (common
    random numbers), so cells differ by their knobs and not by their luck."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: RunConfig = Field(default_factory=lambda: RunConfig())
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: int = Field(default=30, ge=1)
    first_seed: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _grid_names_knobs(self) -> SweepConfig:
        for knob, values in self.grid.items():
            if knob not in RunConfig.model_fields:
                raise ValueError(f"grid.{knob}: not a knob of a run")
            if not values:
                raise ValueError(f"grid.{knob}: no values")
            for value in values:
                try:
                    RunConfig.model_validate({**self.base.model_dump(), knob: value})
                except ValidationError as error:
                    raise ValueError(f"grid.{knob}: {value!r}: "
                                     f"{error.errors()[0]['msg']}") from None
        return self

    def cells(self) -> list[dict[str, Any]]:
        """Each combination of grid values, in a fixed order."""
        combinations: list[dict[str, Any]] = [{}]
        for knob, values in self.grid.items():
            combinations = [{**cell, knob: value} for cell in combinations for value in values]
        return combinations

    def run_config(self, cell: dict[str, Any]) -> RunConfig:
        return RunConfig.model_validate({**self.base.model_dump(), **cell})


def load_run_config(path: Path) -> RunConfig:
    """A run's knobs from a TOML file: its top-level keys, or its `[base]` table when the file is
    a sweep's."""
    document = _read(path)
    return _validated(RunConfig, document.get("base", document), path)


def load_sweep_config(path: Path) -> SweepConfig:
    return _validated(SweepConfig, _read(path), path)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except OSError as error:
        raise SimError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SimError(f"{path}: not TOML: {error}") from None


def _validated(model: type[Model], document: dict[str, Any], path: Path) -> Model:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["loc"]:
            field = ".".join(str(part) for part in first["loc"])
        else:  # the grid's own checks name the knob at fault first: "grid.KNOB: ..."
            field, message = message.split(": ", 1)
        raise SimError(f"{message}, in {path}", field=field) from None
