"""Ctrl-C during `rcm auction clear` of a market big enough to solve for half a minute: at
every stage (loading the solver stack, presolve, the LP, CP-SAT's search) the command stops
within two seconds, says so in one line and exits 130; it never finishes the solve, aborts in
C++ or blames the input."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from market.generate import generate_market

SECONDS_TO_STOP = 2.0


@pytest.fixture(scope="module")
def far_cats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CATS file of 400 single-bundle bids for 2-10 of 100 goods, worth a little more per good
    the bigger the bundle: its LP bound is far above any allocation (as test_portfolio's
    far_problem), so the portfolio's local search runs, in a process of its own."""
    rng = random.Random(3)
    lines = ["goods 100", "bids 400", "dummy 0"]
    for bid in range(400):
        goods = rng.sample(range(100), rng.randint(2, 10))
        price = round(len(goods) ** 1.2 * rng.randint(1_000, 1_200)) / 100
        lines.append(f"{bid} {price} {' '.join(map(str, sorted(goods)))} #")
    path = tmp_path_factory.mktemp("interrupt") / "far.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def big_market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("interrupt") / "market.json"
    path.write_text(generate_market(6_000, 3, 2, 0).model_dump_json(exclude_none=True))
    return path


def _interrupted(market: Path, after_spawn: float, after_progress: float | None,
                 options: tuple[str, ...] = ("--no-portfolio",), progress: str = ""
                 ) -> tuple[int, list[str], float, list[int]]:
    """Sends SIGINT `after_spawn` seconds after starting the clear, or `after_progress` seconds
    after its first progress line that contains `progress` (the solve is under way); its exit
    code, the stderr lines that are not progress, the seconds from the signal to the exit, and
    the processes the clear had started when it was signalled.
    CP-SAT alone searches the market for its whole time limit; the portfolio proves it in
    about 7 s."""
    clear = subprocess.Popen(
        [sys.executable, "-m", "rcm", "auction", "clear", str(market), "--time-limit", "30",
         *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert clear.stderr is not None
    lines: list[str] = []
    progressing = threading.Event()

    def read(stream: list[str]) -> None:
        for line in clear.stderr:  # type: ignore[union-attr]
            stream.append(line.rstrip("\n"))
            if line.startswith("[") and progress in line:
                progressing.set()

    reader = threading.Thread(target=read, args=(lines,))
    reader.start()
    if after_progress is None:
        time.sleep(after_spawn)
    else:
        assert progressing.wait(30), lines
        time.sleep(after_progress)
    assert clear.poll() is None, "the clear ended before the signal"
    children = _children(clear.pid)
    signalled = time.monotonic()
    clear.send_signal(signal.SIGINT)
    code = clear.wait(30)
    stopped = time.monotonic() - signalled
    reader.join()
    # A progress line starts with its `[component]`; a wrapped one continues indented.
    return code, [line for line in lines if not line.startswith(("[", " "))], stopped, children


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):  # ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """Whether the process exists and has not ended (a zombie has: no one reaped it yet)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize(("after_spawn", "after_progress"), [
    (1.2, None),  # loading the solver stack or presolving
    (0.0, 0.0),  # the first component's LP or CP-SAT
    (0.0, 0.8),
    (0.0, 2.5),  # CP-SAT searching a later component
])
def test_ctrl_c_stops_the_clear_at_once_with_one_line_and_exit_130(
        big_market: Path, after_spawn: float, after_progress: float | None) -> None:
    code, said, stopped, _ = _interrupted(big_market, after_spawn, after_progress)
    assert (code, said) == (130, ["interrupted"])
    assert stopped < SECONDS_TO_STOP


def test_ctrl_c_stops_the_portfolio_with_one_line_and_exit_130(big_market: Path) -> None:
    code, said, stopped, _ = _interrupted(big_market, 0.0, 0.5, options=(),
                                          progress="portfolio: CP-SAT beside HiGHS")
    assert (code, said) == (130, ["interrupted"])
    assert stopped < SECONDS_TO_STOP


def test_ctrl_c_stops_the_local_search_process_too(far_cats: Path) -> None:
    code, said, stopped, children = _interrupted(far_cats, 0.0, 0.5, options=("--workers", "2"),
                                                 progress="local search: from")
    assert (code, said) == (130, ["interrupted"])
    assert stopped < SECONDS_TO_STOP
    assert len(children) == 1  # the local search, in a session of its own: the signal missed it
    assert not _running(children[0])
