"""A sweep: every cell of a SweepConfig's grid run with the same seeds (common random numbers),
each (cell, seed) one task on Dask distributed, each finished run appended to `runs.jsonl` as it
ends. The directory holds the sweep's config beside its runs, so a sweep stopped anywhere —
killed, Ctrl-C, a lost cluster — resumes with the runs it lacks and never mixes in another
config's.

    DIR/config.toml   the sweep's config, every knob written out (defaults too)
    DIR/runs.jsonl    one RunResult per line, in the order the runs ended

A run is a pure function of its config and seed, so nothing depends on that order or on how many
workers ran it; readers sort (`read_runs`)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from sim.config import RunConfig, SimError, SweepConfig, load_sweep_config
from sim.result import RunResult

CONFIG_FILE = "config.toml"
RUNS_FILE = "runs.jsonl"
CONNECT_TIMEOUT_SECONDS = 10
POLL_SECONDS = 0.05  # how often the sweep looks for finished runs

# (the run's value of each grid knob, in the grid's order; its seed)
TaskKey = tuple[tuple[Any, ...], int]


@dataclass(frozen=True)
class Task:
    cell: int  # index into SweepConfig.cells()
    config: RunConfig
    seed: int


@dataclass(frozen=True)
class Progress:
    done: int  # runs on disk, from before and from now
    total: int
    new: int  # of `done`, those run by this call
    elapsed_seconds: float  # since this call's first task was handed out


@dataclass(frozen=True)
class SweepOutcome:
    directory: Path
    total: int
    new: int
    resumed: int
    elapsed_seconds: float


def tasks(config: SweepConfig) -> list[Task]:
    """Every (cell, seed) of the sweep, the same seeds in every cell, seed by seed: a sweep
    stopped early has about as many runs of every cell, and its report compares them."""
    seeds = range(config.first_seed, config.first_seed + config.seeds)
    cells = [config.run_config(cell) for cell in config.cells()]
    return [Task(index, run, seed) for seed in seeds for index, run in enumerate(cells)]


def task_key(config: SweepConfig, run: RunConfig, seed: int) -> TaskKey:
    return tuple(getattr(run, knob) for knob in config.grid), seed


def sweep(config: SweepConfig, directory: Path, *, scheduler: str | None = None,
          workers: int | None = None,
          on_run: Callable[[Progress], None] | None = None) -> SweepOutcome:
    """Run every task of `config` not yet in `directory`, on the Dask scheduler at `scheduler`,
    else on a local cluster of `workers` processes (default: one per core), or in this process
    with `workers=0`; `on_run` hears of each run as it is written."""
    if scheduler is not None and workers is not None:
        raise SimError("only for a local cluster; the scheduler's cluster has its own",
                       field="workers")
    if workers is not None and workers < 0:
        raise SimError(f"must be 0 (in this process) or more, got {workers}", field="workers")
    if scheduler is not None:
        _check_reachable(scheduler)  # before the directory is made: a refusal leaves nothing
    _claim(directory, config)
    with (directory / RUNS_FILE).open("a", encoding="utf-8") as runs:
        _hold(runs, directory)
        done = {task_key(config, run.config, run.seed)
                for run in _read_lines(directory / RUNS_FILE, cut_torn=True)}
        every = tasks(config)
        todo = [task for task in every if task_key(config, task.config, task.seed) not in done]
        resumed = len(every) - len(todo)
        started = time.monotonic()
        new = 0
        with closing(_results(todo, scheduler, workers)) as results:
            for result in results:
                _append(runs, result)
                new += 1
                if on_run is not None:
                    on_run(Progress(resumed + new, len(every), new,
                                    time.monotonic() - started))
    return SweepOutcome(directory, len(every), new, resumed, time.monotonic() - started)


def read_runs(directory: Path) -> tuple[SweepConfig, list[RunResult]]:
    """A sweep's config and its runs, cell by cell in the grid's order and by seed within each:
    the same list however many workers wrote them, in whatever order."""
    if not (directory / CONFIG_FILE).is_file():
        raise SimError(f"{directory}: no {CONFIG_FILE}; not a sweep's directory",
                       field="directory")
    config = load_sweep_config(directory / CONFIG_FILE)
    order = {task_key(config, task.config, task.seed): (task.cell, task.seed)
             for task in tasks(config)}
    runs = {task_key(config, run.config, run.seed): run
            for run in _read_lines(directory / RUNS_FILE)}
    if not runs:
        raise SimError(f"{directory}: no runs in {RUNS_FILE} yet", field="directory")
    return config, [runs[key] for key in sorted(runs, key=lambda key: order[key])]


def _claim(directory: Path, config: SweepConfig) -> None:
    """Make `directory` this sweep's, or check that it already is: a resume with another config
    would put two experiments' runs in one file."""
    written = directory / CONFIG_FILE
    if written.is_file():
        difference = _difference(load_sweep_config(written).model_dump(), config.model_dump())
        if difference:
            raise SimError(f"{written} was swept with {difference}; use a new directory",
                           field="directory")
        return
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise SimError(f"{directory}: not empty and no sweep's ({CONFIG_FILE} is missing)",
                       field="directory")
    import tomli_w

    directory.mkdir(parents=True, exist_ok=True)
    partial = written.with_suffix(".partial")
    partial.write_text(tomli_w.dumps(config.model_dump()), encoding="utf-8")
    partial.replace(written)


def _difference(before: Any, now: Any, path: str = "") -> str | None:
    """The first field where two configs differ, as `base.rounds = 3, not 5`."""
    if isinstance(before, dict) and isinstance(now, dict):
        for key in sorted(before.keys() | now.keys()):
            found = _difference(before.get(key), now.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    return None if before == now else f"{path} = {before!r}, not {now!r}"


def _hold(runs: IO[str], directory: Path) -> None:
    """Two sweeps appending to one file would run each task twice: the second is refused."""
    import fcntl

    try:
        fcntl.flock(runs.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SimError(f"{directory}: another sweep is writing to it now",
                       field="directory") from None


def _read_lines(path: Path, cut_torn: bool = False) -> list[RunResult]:
    """The runs in `path`. A last line without its newline is one being written, or one a kill
    cut short (`_append` writes a line and its newline at once): it is skipped, and with
    `cut_torn` (by the sweep that holds the file) cut off, so that the next run appends after
    the last whole one. Any other unreadable line is refused, not dropped."""
    if not path.is_file():
        return []
    text = path.read_bytes()
    runs = []
    whole = 0  # bytes of whole lines
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if not line.endswith(b"\n"):
            if cut_torn:
                with path.open("r+b") as file:
                    file.truncate(whole)
            break
        whole += len(line)
        if not line.strip():
            continue
        try:
            runs.append(RunResult.from_line(line.decode("utf-8")))
        except (ValidationError, UnicodeDecodeError):
            raise SimError(f"{path}: line {number} is no run record",
                           field="directory") from None
    return runs


def _append(runs: IO[str], result: RunResult) -> None:
    runs.write(result.line() + "\n")
    runs.flush()
    os.fsync(runs.fileno())


def _results(todo: list[Task], scheduler: str | None, workers: int | None
             ) -> Generator[RunResult, None, None]:
    """Each task's result as it ends, run where the caller asked."""
    from sim.run import simulate

    if not todo:
        return
    if workers == 0:
        for task in todo:
            yield simulate(task.config, task.seed)
        return
    from distributed import as_completed

    sweep_id = uuid.uuid4().hex[:8]  # a shared scheduler may hold another sweep's tasks
    with _client(scheduler, workers) as client:
        futures = [client.submit(simulate, task.config, task.seed, pure=False,
                                 key=f"simulate-{sweep_id}-cell{task.cell}-seed{task.seed}")
                   for task in todo]
        pending = as_completed(futures)
        try:
            # Polled, not waited on: a Ctrl-C inside distributed's blocking wait trips a bug
            # of its own (a NameError logged from its event loop) on the way out.
            while not pending.is_empty():
                finished = pending.next_batch(block=False)
                for future in finished:
                    yield future.result()
                if not finished:
                    time.sleep(POLL_SECONDS)
        finally:
            client.cancel(futures)


def _check_reachable(scheduler: str) -> None:
    """Refuse a TCP scheduler that nothing listens at now; Dask's client would retry a refused
    connection until its time-out."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    if address.scheme != "tcp":
        return  # tls:// and others: the client connects, or says why not
    try:
        port = address.port
    except ValueError:
        port = None
    if not address.hostname or port is None:
        raise SimError(f"{scheduler}: not an address such as tcp://HOST:8786",
                       field="scheduler")
    try:
        socket.create_connection((address.hostname, port),
                                 timeout=CONNECT_TIMEOUT_SECONDS).close()
    except OSError as error:
        raise SimError(f"{scheduler}: no Dask scheduler answers "
                       f"({error.strerror or error})", field="scheduler") from None


@contextmanager
def _client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client of the cluster at `scheduler`, or of a local cluster of processes with one
    thread each: CP-SAT and the agents hold the GIL, threads would not run them side by side."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_SECONDS)
        except (OSError, TimeoutError, ValueError) as error:
            raise SimError(f"{scheduler}: no Dask scheduler answers ({error})",
                           field="scheduler") from None
        with client:
            yield client
        return
    # its HTTP server on any free port: on Dask's 8787, a second sweep beside a first (or a
    # Dask dashboard) printed a warning that the port was taken
    with _deaf_to_ctrl_c():
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
    with cluster, Client(cluster) as client:
        yield client


@contextmanager
def _deaf_to_ctrl_c() -> Iterator[None]:
    """Worker processes started meanwhile ignore SIGINT (it is inherited): Ctrl-C reaches the
    whole process group, and workers would each print a traceback of their own. This process
    hears it, and closes the cluster."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; it alone hears Ctrl-C anyway
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
