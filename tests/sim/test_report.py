"""sim/report.py: a sweep's summary holds each cell's mean and 95 % t-interval as computed by
hand here, and its figures are PNGs under their stable names."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sim.config import SimError, SweepConfig
from sim.report import EFFICIENCY_FILE, PRICE_FILE, Report, _axes, draw, estimate
from sim.result import METRICS
from sim.sweep import CONFIG_FILE, read_runs, sweep

T_975_2 = 4.302652729911275  # Student's t, 97.5th percentile, 2 degrees of freedom (3 seeds)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def drawn(tiny_sweep: SweepConfig, tmp_path_factory: pytest.TempPathFactory) -> Report:
    directory = tmp_path_factory.mktemp("report")
    sweep(tiny_sweep, directory, workers=0)
    return draw(directory)


def test_every_figure_is_a_png_under_its_stable_name(drawn: Report) -> None:
    directory = drawn.summary.parent
    assert sorted(path.name for path in drawn.figures) == sorted(
        [*(f"heatmap-{metric}.png" for metric in METRICS), PRICE_FILE, EFFICIENCY_FILE])
    for path in drawn.figures:
        assert path.parent == directory
        assert path.read_bytes().startswith(PNG)


def test_the_summary_holds_each_cells_mean_and_t_interval(drawn: Report) -> None:
    summary = json.loads(drawn.summary.read_text())
    _, runs = read_runs(drawn.summary.parent)
    assert summary["knobs"] == ["time_limit", "speculator_share"]
    assert len(summary["cells"]) == 4
    first = summary["cells"][0]
    assert first["knobs"] == {"time_limit": 0.5, "speculator_share": 0.0}
    assert first["runs"] == 3
    values = [run.metrics["efficiency"] for run in runs[:3]]
    mean = sum(values) / 3
    half = T_975_2 * math.sqrt(sum((v - mean) ** 2 for v in values) / 2) / math.sqrt(3)
    efficiency = first["metrics"]["efficiency"]
    assert efficiency["n"] == 3
    assert efficiency["mean"] == pytest.approx(mean)
    assert (efficiency["ci_low"], efficiency["ci_high"]) == pytest.approx((mean - half,
                                                                           mean + half))


def test_an_estimate_leaves_out_undefined_values_and_needs_two_for_an_interval() -> None:
    assert estimate([2.0, math.nan]) == estimate([2.0])
    one = estimate([2.0])
    assert (one.n, one.mean, one.ci_low, one.ci_high) == (1, 2.0, None, None)
    assert estimate([math.inf]).mean is None


def test_heatmaps_plot_time_limit_by_speculator_share_with_a_panel_per_other_knob(
        tiny_sweep: SweepConfig) -> None:
    grid = {"market_makers": [0, 2], "speculator_share": [0.0, 0.5], "time_limit": [0.5, 1]}
    wider = SweepConfig.model_validate({**tiny_sweep.model_dump(), "grid": grid})
    assert _axes(wider) == ("time_limit", "speculator_share", ["market_makers"])


def test_a_directory_without_runs_is_refused(tiny_sweep: SweepConfig, tmp_path: Path) -> None:
    sweep(tiny_sweep.model_copy(update={"grid": {}}), tmp_path, workers=0)
    (tmp_path / "runs.jsonl").write_text("")
    assert (tmp_path / CONFIG_FILE).is_file()
    with pytest.raises(SimError, match="no runs") as refused:
        draw(tmp_path)
    assert refused.value.field == "directory"
