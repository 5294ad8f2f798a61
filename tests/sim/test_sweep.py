"""sim/sweep.py: every cell with the same seeds, on a real two-process LocalCluster; a sweep
stopped mid-way (Ctrl-C, then a kill that tears the line being written) resumes to the same
runs as one straight through, on another number of workers; a directory is one config's."""

from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

import pytest

from sim.config import SimError, SweepConfig
from sim.sweep import RUNS_FILE, Progress, read_runs, sweep


@pytest.fixture(scope="module")
def straight(tiny_sweep: SweepConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny sweep run straight through on a local cluster of two worker processes."""
    directory = tmp_path_factory.mktemp("straight")
    outcome = sweep(tiny_sweep, directory, workers=2)
    assert (outcome.total, outcome.new, outcome.resumed) == (12, 12, 0)
    return directory


def test_every_cell_runs_with_the_same_seeds(straight: Path, tiny_sweep: SweepConfig) -> None:
    config, runs = read_runs(straight)
    assert config == tiny_sweep
    cells = [{"time_limit": t, "speculator_share": s} for t in (0.5, 1.0) for s in (0.0, 0.5)]
    assert [(run.cell(list(config.grid)), run.seed) for run in runs] == [
        (cell, seed) for cell in cells for seed in (1, 2, 3)]
    assert len((straight / RUNS_FILE).read_text().splitlines()) == 12


def test_a_sweep_stopped_midway_resumes_to_the_runs_of_one_straight_through(
        straight: Path, tiny_sweep: SweepConfig, tmp_path: Path) -> None:
    def stop_after_five(progress: Progress) -> None:
        if progress.new == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(tiny_sweep, tmp_path, workers=1, on_run=stop_after_five)
    assert len((tmp_path / RUNS_FILE).read_text().splitlines()) == 5
    # Then a kill in the middle of writing a sixth line.
    sixth = (straight / RUNS_FILE).read_text().splitlines()[11]
    with (tmp_path / RUNS_FILE).open("a") as runs:
        runs.write(sixth[:len(sixth) // 2])

    outcome = sweep(tiny_sweep, tmp_path, workers=0)

    assert (outcome.total, outcome.new, outcome.resumed) == (12, 7, 5)
    assert len((tmp_path / RUNS_FILE).read_text().splitlines()) == 12
    resumed, once = read_runs(tmp_path)[1], read_runs(straight)[1]
    assert [run.repeatable() for run in resumed] == [run.repeatable() for run in once]


def test_a_finished_sweep_run_again_runs_nothing(straight: Path, tiny_sweep: SweepConfig,
                                                 tmp_path: Path) -> None:
    shutil.copytree(straight, tmp_path, dirs_exist_ok=True)
    before = (tmp_path / RUNS_FILE).read_bytes()
    outcome = sweep(tiny_sweep, tmp_path, workers=0)
    assert (outcome.new, outcome.resumed) == (0, 12)
    assert (tmp_path / RUNS_FILE).read_bytes() == before


def test_a_resume_with_another_config_is_refused_by_the_knob_that_differs(
        straight: Path, tiny_sweep: SweepConfig, tmp_path: Path) -> None:
    shutil.copytree(straight, tmp_path, dirs_exist_ok=True)
    before = (tmp_path / RUNS_FILE).read_bytes()
    other = SweepConfig.model_validate(
        {**tiny_sweep.model_dump(), "base": {**tiny_sweep.base.model_dump(), "rounds": 3}})
    with pytest.raises(SimError, match=r"base\.rounds = 2, not 3") as refused:
        sweep(other, tmp_path, workers=0)
    assert refused.value.field == "directory"
    assert (tmp_path / RUNS_FILE).read_bytes() == before


def test_a_line_other_than_the_last_that_is_no_run_is_refused_not_dropped(
        straight: Path, tiny_sweep: SweepConfig, tmp_path: Path) -> None:
    shutil.copytree(straight, tmp_path, dirs_exist_ok=True)
    lines = (tmp_path / RUNS_FILE).read_text().splitlines(keepends=True)
    damaged = "".join([lines[0], "{not a run\n", *lines[1:]])
    (tmp_path / RUNS_FILE).write_text(damaged)
    with pytest.raises(SimError, match="line 2 is no run record"):
        sweep(tiny_sweep, tmp_path, workers=0)
    assert (tmp_path / RUNS_FILE).read_text() == damaged


def test_a_directory_holding_other_files_is_refused(tiny_sweep: SweepConfig,
                                                   tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SimError, match="not empty") as refused:
        sweep(tiny_sweep, tmp_path, workers=0)
    assert refused.value.field == "directory"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_an_unreachable_scheduler_is_refused_before_the_directory_is_made(
        tiny_sweep: SweepConfig, tmp_path: Path) -> None:
    with pytest.raises(SimError, match="no Dask scheduler answers") as refused:
        sweep(tiny_sweep, tmp_path / "out", scheduler="tcp://127.0.0.1:9")
    assert refused.value.field == "scheduler"
    assert not (tmp_path / "out").exists()


def test_workers_are_refused_with_a_scheduler(tiny_sweep: SweepConfig, tmp_path: Path) -> None:
    with pytest.raises(SimError) as refused:
        sweep(tiny_sweep, tmp_path, scheduler="tcp://127.0.0.1:9", workers=2)
    assert refused.value.field == "workers"



def test_a_reader_skips_the_line_being_written_and_leaves_it(straight: Path,
                                                             tmp_path: Path) -> None:
    shutil.copytree(straight, tmp_path, dirs_exist_ok=True)
    lines = (tmp_path / RUNS_FILE).read_text().splitlines(keepends=True)
    being_written = "".join(lines[:4]) + lines[4][:100]
    (tmp_path / RUNS_FILE).write_text(being_written)
    assert len(read_runs(tmp_path)[1]) == 4
    assert (tmp_path / RUNS_FILE).read_text() == being_written


def test_a_second_sweep_into_a_directory_being_swept_is_refused(
        straight: Path, tiny_sweep: SweepConfig, tmp_path: Path) -> None:
    shutil.copytree(straight, tmp_path, dirs_exist_ok=True)
    with (tmp_path / RUNS_FILE).open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(SimError, match="another sweep is writing"):
            sweep(tiny_sweep, tmp_path, workers=0)
