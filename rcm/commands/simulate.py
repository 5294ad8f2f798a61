"""`rcm simulate`: the market-stability simulator — one market, a sweep of markets on Dask, and
the sweep's figures. The simulator is imported inside the commands so that `rcm simulate
--help` stays instant."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rcm.commands.common import JsonOption, print_json
from rcm.commands.tables import counted, paragraph

if TYPE_CHECKING:
    from sim.result import RunResult
    from sim.sweep import Progress

app = typer.Typer(no_args_is_help=True,
                  help="Simulate the market: one run, a sweep on Dask, a sweep's figures.")

_LOG_EVERY_SECONDS = 30.0  # progress lines when stderr is a file, not a terminal

ConfigArgument = Annotated[Path, typer.Argument(
    exists=True, dir_okay=False, metavar="CONFIG",
    help="The simulator's knobs (TOML): a run's, or a sweep's (its [base] table, [grid] and "
         "seeds).")]
DirectoryArgument = Annotated[Path, typer.Argument(
    exists=True, file_okay=False, metavar="DIR", help="A sweep's directory (`sweep --out`).")]


@app.command()
def run(
    config: ConfigArgument,
    seed: Annotated[int, typer.Option(min=0, help="The run's random seed.")] = 1,
    json_out: JsonOption = False,
) -> None:
    """Simulate one market and print its metrics; --json prints the whole run: each round,
    the price index against the fundamental, the bubbles and the metrics."""
    import json

    from sim.config import load_run_config
    from sim.run import simulate

    knobs = load_run_config(config)
    started = time.monotonic()
    result = simulate(knobs, seed)
    if json_out:
        print_json(json.loads(result.line()))
        return
    _print_run(result, time.monotonic() - started)


def _print_run(result: RunResult, seconds: float) -> None:
    from rcm.commands.tables import table
    from sim.result import METRICS

    typer.echo(f"{counted(len(result.rounds), 'round')} of "
               f"{counted(result.config.bids_per_round, 'bid')}, seed {result.seed}, "
               f"{counted(len(result.bubbles), 'bubble')}, {seconds:.1f} s")
    rows = [[name, f"{value:.4g}", METRICS.get(name, "")] for name, value in
            sorted(result.metrics.items(), key=lambda item: (
                list(METRICS).index(item[0]) if item[0] in METRICS else len(METRICS)))]
    typer.echo("\n" + table(["metric", "value", "what it measures"], rows, right={1},
                             title="Metrics (docs/stability.md defines each)"))


@app.command()
def sweep(
    config: ConfigArgument,
    directory: Annotated[Path, typer.Option(
        "--out", file_okay=False, show_default=False,
        help="Directory for the sweep's config.toml and runs.jsonl; a sweep stopped there "
             "resumes with the runs it lacks when run again with the same config.")],
    scheduler: Annotated[str | None, typer.Option(
        help="Address of a running Dask scheduler (tcp://HOST:8786) to run on, whose workers "
             "have rcm installed; default: a local cluster.")] = None,
    workers: Annotated[int | None, typer.Option(
        min=0, help="Processes of the local cluster; 0 runs in this process, without Dask. "
                    "Default: one per core.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Run every cell of the grid with the same seeds (common random numbers), each run a Dask
    task, each finished run appended to DIR/runs.jsonl as it ends; progress on stderr."""
    from sim.config import load_sweep_config
    from sim.sweep import RUNS_FILE
    from sim.sweep import sweep as run_sweep

    knobs = load_sweep_config(config)
    progress = _ProgressLine()
    try:
        outcome = run_sweep(knobs, directory, scheduler=scheduler, workers=workers,
                            on_run=progress)
    except KeyboardInterrupt:
        progress.close()
        typer.echo(f"the runs so far are kept in {directory / RUNS_FILE}; the same command "
                   "resumes", err=True)
        raise
    progress.close()
    document = {"directory": str(directory), "runs_file": str(directory / RUNS_FILE),
                "runs_count": outcome.total, "new_count": outcome.new,
                "resumed_count": outcome.resumed, "cells_count": len(knobs.cells()),
                "seeds_count": knobs.seeds, "elapsed_seconds": round(outcome.elapsed_seconds, 3)}
    if json_out:
        print_json(document)
        return
    cells = counted(len(knobs.cells()), "cell")
    typer.echo(paragraph(
        f"{counted(outcome.total, 'run')} ({cells} × {counted(knobs.seeds, 'seed')}) in "
        f"{directory / RUNS_FILE}: {outcome.new} run now, {outcome.resumed} from before, in "
        f"{_clock(outcome.elapsed_seconds)}; `rcm simulate report {directory}` draws them"))


class _ProgressLine:
    """`run 12/120, 0:01:40 elapsed, ~0:15:00 left` on stderr: rewritten in place on a
    terminal, a new line every half minute (and the last) in a log."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.shown = False  # a live line is on screen, unended
        self.printed_at = float("-inf")

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        last = progress.done == progress.total
        if not self.live and not last and now - self.printed_at < _LOG_EVERY_SECONDS:
            return
        self.printed_at = now
        left = progress.elapsed_seconds / progress.new * (progress.total - progress.done)
        line = (f"run {progress.done}/{progress.total}, {_clock(progress.elapsed_seconds)} "
                f"elapsed, ~{_clock(left)} left")
        if self.live:
            sys.stderr.write(f"\r{line}\033[K")
            self.shown = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            self.shown = False


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


@app.command()
def report(directory: DirectoryArgument, json_out: JsonOption = False) -> None:
    """Draw a sweep's figures into DIR — heatmaps of each metric over time limit × speculator
    share, price against fundamental with bubbles shaded, efficiency against gap, all with 95 %
    confidence intervals — and write DIR/summary.json; print their paths."""
    from sim.report import draw

    drawn = draw(directory)
    if json_out:
        print_json({"directory": str(directory), "summary": str(drawn.summary),
                    "figures": [str(path) for path in drawn.figures]})
        return
    typer.echo("\n".join(str(path) for path in (drawn.summary, *drawn.figures)))
