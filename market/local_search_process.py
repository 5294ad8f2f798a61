"""The local search (local_search.py) in a process of its own, beside the portfolio's solvers.

It is Python, so in a thread it would hold the GIL that HiGHS's callbacks wait for at every node
(measured: 4.7 times fewer nodes beside a Python loop). The parent writes the problem, the seed,
the seconds and the packing to start from, pickled, to the child's standard input; the child
writes each new best packing's columns to its standard output, a line of JSON each, and ends at
its deadline, when killed, or when its output is closed. It runs in a session of its own, so a
Ctrl-C at the terminal reaches the parent alone, which stops it.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import subprocess
import sys
from collections.abc import Callable

from market.local_search import Packing, iterated_local_search
from market.presolve import Problem


def search_beside(problem: Problem, seed: int, seconds: float, start: list[int],
                  offer: Callable[[list[int]], None],
                  enter: Callable[[Callable[[], object]], None]) -> int:
    """Runs the search in a child process, offering each packing it finds, until its deadline
    or until the `stop` given to `enter` is called; the child's exit code."""
    child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    assert child.stdin is not None and child.stdout is not None
    enter(child.kill)
    try:
        with child.stdin:
            pickle.dump((problem, seed, seconds, start), child.stdin)
    except BrokenPipeError:  # stopped before it read the problem
        pass
    with child.stdout:
        for line in child.stdout:
            offer(json.loads(line))
    return child.wait()


def _main() -> None:
    problem, seed, seconds, start = pickle.load(sys.stdin.buffer)

    def tell(packing: Packing) -> None:
        print(json.dumps(packing.columns), flush=True)

    with contextlib.suppress(BrokenPipeError):  # the parent stopped listening
        iterated_local_search(problem, seed, sys.maxsize, seconds, start, improved=tell)


if __name__ == "__main__":
    _main()
