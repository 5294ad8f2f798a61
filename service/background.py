"""The service as it runs: the indexer, the relay and the learner of failed clauses over one
store file, the indexer polling the chain from a thread of its own and the learner asking the
oracle nodes from another."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chain.errors import RcmError
from chain.exchange import exchange_domain
from chain.system import System
from service.clauses import ClauseLearner
from service.errors import ServiceError
from service.indexer import Indexer
from service.relay import Limits, Relay
from service.store import connect

POLL_SECONDS = 0.5
FRESH_SECONDS = 5.0
STARTUP_SECONDS = 20
log = logging.getLogger(__name__)


@dataclass
class Service:
    indexer: Indexer
    relay: Relay
    clauses: ClauseLearner


@contextmanager
def opened(system: System, path: Path, limits: Limits | None = None,
           confirmations: int = 0, nodes: Sequence[str] = ()) -> Iterator[Service]:
    """The indexer (`confirmations` blocks behind the head), the relay and the learner of the
    failed clauses from oracle `nodes` on `path`, each with its own connection; closed on
    exit."""
    indexer_db = connect(path)
    others: list[sqlite3.Connection] = []
    try:
        indexer = Indexer(system, indexer_db, confirmations)
        relay_db, clauses_db = connect(path), connect(path)
        others += [relay_db, clauses_db]
        domain = exchange_domain(system.chain.chain_id, system.exchange.address)
        yield Service(indexer, Relay(relay_db, domain, indexer.follow_funds, limits),
                      ClauseLearner(clauses_db, nodes))
    finally:
        for db in others:
            db.close()
        indexer_db.close()


class Poller:
    """Runs the indexer's syncs from its own thread, every `every_seconds` and whenever a
    reader asks for a fresh index (`caught_up`)."""

    def __init__(self, indexer: Indexer, every_seconds: float) -> None:
        self.indexer, self.every_seconds = indexer, every_seconds
        self.wake, self.stop = threading.Event(), threading.Event()
        self.synced = threading.Condition()
        self.started = self.finished = 0

    def caught_up(self, timeout_seconds: float = FRESH_SECONDS) -> None:
        """Returns once a sync that started after the call has finished: whatever was mined
        before it is indexed (read-your-writes for a client that just sent a transaction)."""
        with self.synced:
            wanted = self.started + 1
            self.wake.set()
            self.synced.wait_for(lambda: self.finished >= wanted, timeout_seconds)

    def run(self) -> None:
        while not self.stop.is_set():
            self.wake.wait(self.every_seconds)
            self.wake.clear()
            with self.synced:
                self.started += 1
            try:
                self.indexer.sync()
            except (RcmError, OSError) as exc:
                log.warning("indexing stopped at block %d: %s", self.indexer.last_block, exc)
            finally:
                with self.synced:
                    self.finished = self.started
                    self.synced.notify_all()


@contextmanager
def polling(indexer: Indexer, every_seconds: float = POLL_SECONDS,
            clauses: ClauseLearner | None = None) -> Iterator[Poller]:
    """Syncs the index now, then from a thread until exit (`Poller`); with `clauses`, asks the
    oracle nodes for failed clauses from another thread as often, so that no reader waiting
    for the index (`caught_up`) waits for a node. A failed poll (the node unreachable) is
    logged and tried again at the next."""
    indexer.sync()
    poller = Poller(indexer, every_seconds)
    threads = [threading.Thread(target=poller.run, name="rcm-indexer", daemon=True)]
    if clauses is not None:
        threads.append(threading.Thread(target=_learning, args=(clauses, poller.stop,
                                                                every_seconds),
                                        name="rcm-clauses", daemon=True))
    for thread in threads:
        thread.start()
    try:
        yield poller
    finally:
        poller.stop.set()
        poller.wake.set()
        for thread in threads:
            thread.join()


def _learning(clauses: ClauseLearner, stop: threading.Event, every_seconds: float) -> None:
    while not stop.is_set():
        try:
            clauses.learn()
        except sqlite3.Error as exc:
            log.warning("learning the failed clauses stopped: %s", exc)
        stop.wait(every_seconds)


@contextmanager
def serving(relay: Relay, host: str = "127.0.0.1",
            caught_up: Callable[[], None] | None = None) -> Iterator[str]:
    """Serves `relay` over HTTP at a free port of `host` from a thread (reads first waiting
    for `caught_up`, as `create_app` says); yields its URL."""
    import time

    import uvicorn

    from service.app import create_app

    # log_config None: uvicorn's own logging setup (logging.config.dictConfig) closes every
    # handler of the process it is embedded in, the host's and pytest's capture among them
    server = uvicorn.Server(uvicorn.Config(create_app(relay, caught_up), host=host, port=0,
                                          log_level="warning", access_log=False,
                                          log_config=None))
    thread = threading.Thread(target=server.run, name="rcm-relay", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ServiceError("did not start", field="relay")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join()
