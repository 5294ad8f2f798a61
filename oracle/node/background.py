"""Nodes served over real HTTP on loopback from background threads of this process: for the
demo and end-to-end tests, where starting one process per node would only add start-up time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from oracle.config import NodeConfig
from oracle.errors import ConfigError
from oracle.node.service import FutureReader, Pricer, load_node

STARTUP_SECONDS = 20


@contextmanager
def serving(config: NodeConfig, password: str, pricer: Pricer | None = None,
            futures: FutureReader | None = None) -> Iterator[str]:
    """Serves one node on 127.0.0.1 at a free port; yields its URL; stops it on exit."""
    import uvicorn

    from oracle.node.app import create_app

    node = load_node(config, password, pricer, futures)
    server = uvicorn.Server(  # no log_config: see service/background.py
        uvicorn.Config(create_app(node), host="127.0.0.1", port=0, log_level="warning",
                       log_config=None)
    )
    thread = threading.Thread(target=server.run, name=f"oracle-{config.name}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"{config.name}: the node did not start")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        node.store.close()


@contextmanager
def serving_all(configs: list[NodeConfig], password: str, pricer: Pricer | None = None,
                futures: FutureReader | None = None) -> Iterator[list[str]]:
    with ExitStack() as stack:
        yield [stack.enter_context(serving(config, password, pricer, futures))
               for config in configs]
