"""Ctrl-C while native code runs: a solve (CP-SAT, HiGHS, GLOP) is stopped at once, and the
signal reaches Python's handler (KeyboardInterrupt, by default) once the native code has
returned.

Python runs its SIGINT handler only when the main thread runs bytecode, which it does not while
it waits in a solver's C++, so the solve would go on to its time limit. Where it does run
bytecode inside native code, a KeyboardInterrupt raised there unwinds through C++: in a
CP-SAT solution callback that aborts the process; in a pybind11 module's initialisation it
fails the import ("ImportError: initialization failed"). So for the length of the native call
the handler only records the signal, and for a solve a watcher thread, woken through the
interpreter's signal wakeup fd (written from the C signal handler itself), stops the solver.
"""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

# A stop can land before the solver has started (CP-SAT's stop_search is a no-op until its
# solve has begun), so the watcher repeats it this often until the block is over.
_RESTOP_SECONDS = 0.05


@contextmanager
def deferred() -> Iterator[threading.Event | None]:
    """SIGINT during the block is only recorded (in the event yielded), then handed to the
    handler the block displaced. Where Python has no handler to displace (off the main thread,
    or SIGINT ignored or left to the system), the block runs as it is, and gets None."""
    if (threading.current_thread() is not threading.main_thread()
            or not callable(signal.getsignal(signal.SIGINT))):
        yield None
        return
    caught = threading.Event()

    def record(_signum: int, _frame: FrameType | None) -> None:
        caught.set()

    previous = signal.signal(signal.SIGINT, record)
    try:
        yield caught
    finally:
        # A signal still pending from the block reaches `record` or the displaced handler,
        # never both: one Ctrl-C, one KeyboardInterrupt.
        signal.signal(signal.SIGINT, previous)
        if caught.is_set():
            signal.raise_signal(signal.SIGINT)


@contextmanager
def stoppable(stop: Callable[[], object]) -> Iterator[None]:
    """As `deferred`, and SIGINT calls `stop` from another thread while the block runs."""
    with deferred() as caught:
        if caught is None:
            yield
            return
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)  # the C handler must never block on a full pipe
        watcher = threading.Thread(target=_watch, args=(read_fd, caught, stop), daemon=True,
                                   name="sigint-watcher")
        previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        watcher.start()
        try:
            yield
        finally:
            signal.set_wakeup_fd(previous_fd)
            os.close(write_fd)  # the watcher reads end-of-file and returns
            watcher.join()
            os.close(read_fd)


def _watch(read_fd: int, caught: threading.Event, stop: Callable[[], object]) -> None:
    """Until the write end closes: on SIGINT (its number among the bytes the wakeup fd
    carries) stop, and stop again while the block runs."""
    while True:
        timeout = _RESTOP_SECONDS if caught.is_set() else None
        readable, _, _ = select.select([read_fd], [], [], timeout)
        if readable:
            received = os.read(read_fd, 64)
            if not received:
                return
            if signal.SIGINT in received:
                caught.set()
        if caught.is_set():
            stop()
