"""A sweep's figures and summary, drawn from its directory alone (sim/sweep.py's layout):

    summary.json                 per cell: its knobs, and for each metric n, mean and 95 % CI
    heatmap-<metric>.png         the metric's mean over the two plotted knobs, one per metric
    price-vs-fundamental.png     one run per cell, bubble periods shaded
    efficiency-vs-gap.png        every run, and binned means with their 95 % CI

Every interval is the mean ± t(0.975, n − 1) · sd / √n over a cell's seeds (Student's t: a cell
has some 30 seeds, where 1.96 would be too narrow). Heatmaps plot time limit × speculator share
when the grid varies both, else its first two knobs; a grid with more knobs gets one panel per
combination of the others' values, never an average over them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from sim.config import SweepConfig
from sim.result import METRICS, RunResult
from sim.sweep import read_runs

SUMMARY_FILE = "summary.json"
PRICE_FILE = "price-vs-fundamental.png"
EFFICIENCY_FILE = "efficiency-vs-gap.png"
PLOTTED = ("time_limit", "speculator_share")
GAP_BINS = 8
DPI = 110


@dataclass(frozen=True)
class Estimate:
    """A metric over a cell's runs: non-finite values (a statistic undefined for a run) are
    left out of n."""

    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def half_width(self) -> float | None:
        if self.mean is None or self.ci_high is None:
            return None
        return self.ci_high - self.mean


@dataclass(frozen=True)
class Report:
    summary: Path
    figures: list[Path]


def estimate(values: list[float]) -> Estimate:
    from scipy.special import stdtrit  # Student's t quantile; scipy.stats takes a second to load

    finite = [value for value in values if math.isfinite(value)]
    n = len(finite)
    if n == 0:
        return Estimate(0, None, None, None)
    mean = sum(finite) / n
    if n == 1:
        return Estimate(1, mean, None, None)
    sd = math.sqrt(sum((value - mean) ** 2 for value in finite) / (n - 1))
    half = float(stdtrit(n - 1, 0.975)) * sd / math.sqrt(n)
    return Estimate(n, mean, mean - half, mean + half)


def draw(directory: Path) -> Report:
    """Write the summary and every figure into `directory`, replacing earlier ones."""
    import matplotlib

    matplotlib.use("Agg")
    config, runs = read_runs(directory)
    cells = _by_cell(config, runs)
    summary = directory / SUMMARY_FILE
    summary.write_text(json.dumps(_summary(config, cells), indent=1) + "\n", encoding="utf-8")
    figures = _heatmaps(config, cells, directory)
    figures.append(_prices(config, cells, directory / PRICE_FILE))
    figures.append(_efficiency_against_gap(runs, directory / EFFICIENCY_FILE))
    return Report(summary, figures)


def _by_cell(config: SweepConfig, runs: list[RunResult]) -> dict[tuple[Any, ...], list[RunResult]]:
    """Runs per cell, keyed by the grid knobs' values, cells in the grid's order."""
    knobs = list(config.grid)
    cells: dict[tuple[Any, ...], list[RunResult]] = {}
    for run in runs:
        cells.setdefault(tuple(getattr(run.config, knob) for knob in knobs), []).append(run)
    return cells


def _metrics(runs: list[RunResult]) -> list[str]:
    """The metrics the runs report: METRICS' order first, then any others the engine adds."""
    present = {name for run in runs for name in run.metrics}
    return [name for name in METRICS if name in present] + sorted(present - set(METRICS))


def _summary(config: SweepConfig, cells: dict[tuple[Any, ...], list[RunResult]]
             ) -> dict[str, Any]:
    knobs = list(config.grid)
    return {
        "interval": "95 % CI: mean ± t(0.975, n-1)·sd/√n over the cell's seeds",
        "knobs": knobs,
        "cells": [{
            "knobs": dict(zip(knobs, values, strict=True)),
            "runs": len(runs),
            "metrics": {name: vars(estimate([run.metrics.get(name, math.nan) for run in runs]))
                        for name in _metrics(runs)},
        } for values, runs in cells.items()],
    }


def _axes(config: SweepConfig) -> tuple[str | None, str | None, list[str]]:
    """The heatmaps' x knob, y knob and the knobs that split them into panels."""
    knobs = list(config.grid)
    plotted = [knob for knob in PLOTTED if knob in knobs]
    plotted += [knob for knob in knobs if knob not in plotted][:2 - len(plotted)]
    x = plotted[0] if plotted else None
    y = plotted[1] if len(plotted) > 1 else None
    return x, y, [knob for knob in knobs if knob not in plotted]


def _heatmaps(config: SweepConfig, cells: dict[tuple[Any, ...], list[RunResult]],
              directory: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib import patheffects

    legible = [patheffects.withStroke(linewidth=2.5, foreground="white")]  # on any colour
    x, y, split = _axes(config)
    if x is None:
        return []  # one cell: summary.json has its numbers, a map would have one square
    knobs = list(config.grid)
    xs, ys = config.grid[x], config.grid[y] if y else [None]
    panels = list(product(*(config.grid[knob] for knob in split)))
    runs = [run for cell in cells.values() for run in cell]
    figures = []
    for metric in _metrics(runs):
        figure, axes = plt.subplots(1, len(panels), squeeze=False,
                                    figsize=(1.6 + 1.9 * len(xs) * len(panels),
                                             1.4 + 0.9 * len(ys)))
        for panel, axis in zip(panels, axes[0], strict=True):
            fixed = dict(zip(split, panel, strict=True))
            means = np.full((len(ys), len(xs)), np.nan)
            for row, y_value in enumerate(ys):
                for column, x_value in enumerate(xs):
                    where = {**fixed, x: x_value, **({y: y_value} if y else {})}
                    found = cells.get(tuple(_normal(config, knob, where[knob])
                                            for knob in knobs), [])
                    value = estimate([run.metrics.get(metric, math.nan) for run in found])
                    if value.mean is None:
                        continue
                    means[row, column] = value.mean
                    half = value.half_width
                    axis.text(column, row, f"{value.mean:.3g}" + (
                        f"\n± {half:.2g}" if half is not None else ""),
                        ha="center", va="center", fontsize=8, path_effects=legible)
            image = axis.imshow(means, cmap="viridis", aspect="auto", origin="lower")
            figure.colorbar(image, ax=axis, shrink=0.8)
            axis.set_xticks(range(len(xs)), [f"{value:g}" if isinstance(value, float) else
                                             str(value) for value in xs])
            axis.set_yticks(range(len(ys)), [str(value) for value in ys])
            axis.set_xlabel(x.replace("_", " "))
            axis.set_ylabel(y.replace("_", " ") if y else "")
            if fixed:
                axis.set_title(", ".join(f"{knob} = {value}" for knob, value in fixed.items()),
                               fontsize=9)
        figure.suptitle(f"{metric}: mean ± 95 % CI half-width over seeds", fontsize=10)
        figure.tight_layout()
        path = directory / f"heatmap-{metric}.png"
        figure.savefig(path, dpi=DPI)
        plt.close(figure)
        figures.append(path)
    return figures


def _normal(config: SweepConfig, knob: str, value: Any) -> Any:
    """A grid value as a run's config holds it (`1` in a float knob's list is 1.0)."""
    return getattr(config.run_config({knob: value}), knob)


def _prices(config: SweepConfig, cells: dict[tuple[Any, ...], list[RunResult]], path: Path
            ) -> Path:
    """The price index against the fundamental for each cell's first seed: with common random
    numbers the cells' panels share their demand shocks, so they differ by their knobs."""
    import matplotlib.pyplot as plt

    columns = min(len(cells), 4)
    rows = math.ceil(len(cells) / columns)
    figure, axes = plt.subplots(rows, columns, squeeze=False, sharex=True,
                                figsize=(3.6 * columns, 2.6 * rows))
    knobs = list(config.grid)
    for axis, (values, runs) in zip(axes.flat, cells.items(), strict=False):
        run = runs[0]
        axis.plot(run.price, linewidth=1, label="price index")
        axis.plot(run.fundamental, linewidth=1, linestyle="--", label="fundamental")
        for first, last in run.bubbles:
            axis.axvspan(first - 0.5, last + 0.5, color="tab:red", alpha=0.2, linewidth=0)
        axis.set_title(", ".join(f"{knob} = {value}" for knob, value in zip(
            knobs, values, strict=True)) or "base", fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(cells):]:
        axis.set_visible(False)
    axes[0][0].legend(fontsize=7)
    figure.supxlabel("trading step (each round's auction is one)", fontsize=9)
    figure.supylabel("USD per basket", fontsize=9)
    figure.suptitle(f"Price against fundamental, seed {cells[next(iter(cells))][0].seed}; "
                    "bubbles shaded", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def _efficiency_against_gap(runs: list[RunResult], path: Path) -> Path:
    """Every run's efficiency over its mean optimality gap, and the mean efficiency of runs in
    equal-width bins of gap with its 95 % CI."""
    import matplotlib.pyplot as plt

    pairs = [(run.metrics["gap"], run.metrics["efficiency"]) for run in runs
             if math.isfinite(run.metrics.get("gap", math.nan))
             and math.isfinite(run.metrics.get("efficiency", math.nan))]
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.scatter([gap for gap, _ in pairs], [eff for _, eff in pairs], s=8, alpha=0.35,
                 label="run")
    if pairs:
        low, high = min(gap for gap, _ in pairs), max(gap for gap, _ in pairs)
        width = (high - low) / GAP_BINS or 1.0
        bins: dict[int, list[tuple[float, float]]] = {}
        for gap, efficiency in pairs:
            bins.setdefault(min(int((gap - low) / width), GAP_BINS - 1), []).append(
                (gap, efficiency))
        centres, means, errors = [], [], []
        for members in (bins[key] for key in sorted(bins)):
            value = estimate([efficiency for _, efficiency in members])
            centres.append(sum(gap for gap, _ in members) / len(members))
            means.append(value.mean if value.mean is not None else math.nan)
            errors.append(value.half_width or 0.0)
        axis.errorbar(centres, means, yerr=errors, fmt="o-", color="black", capsize=3,
                      label="bin mean ± 95 % CI")
    axis.set_xlabel("mean relative optimality gap")
    axis.set_ylabel("efficiency")
    axis.set_title("Efficiency against the gap clearing reached", fontsize=10)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path
