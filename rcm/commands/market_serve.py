"""`rcm market serve`: the market service — the chain indexer, the order relay and the
dashboard — on one port."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rcm.commands.common import DEFAULT_RPC_URL, RpcOption, load_system

DEFAULT_PORT = 8800


def serve(
    rpc: RpcOption = DEFAULT_RPC_URL,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    db: Annotated[Path | None, typer.Option(
        dir_okay=False, show_default=False,
        help="The index's SQLite file; default $RCM_HOME/market.sqlite. One made for another "
             "deployment starts over.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    poll_ms: Annotated[int, typer.Option(min=50, help="How often the indexer polls the "
                                                      "chain for new blocks.")] = 500,
) -> None:
    """Index the deployment's events into SQLite and serve the order relay (POST /orders,
    GET /orders/{hash}, /book, /trades, /health, /metrics, /openapi.json) and the dashboard
    (/rounds, /rounds/{round}, /prices, each also as .json). Answers come from the index,
    which every read of the relay first brings up to the chain's head; every fill is checked
    again on chain."""
    import uvicorn

    from service.app import create_app
    from service.background import opened, polling
    from service.store import default_path

    _require_free(host, port)
    system = load_system(rpc)
    path = db or default_path()
    with opened(system, path) as service, polling(service.indexer, poll_ms / 1_000) as poller:
        typer.echo(f"indexing chain {system.chain.chain_id} into {path} (block "
                   f"{service.indexer.last_block}); relay and dashboard on "
                   f"http://{host}:{port}/rounds", err=True)
        uvicorn.run(create_app(service.relay, poller.caught_up), host=host, port=port,
                    log_level="warning", access_log=False)


def _require_free(host: str, port: int) -> None:
    """Refuses a port another process listens on, in one line, before the index is opened."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise typer.BadParameter(f"{host}:{port} is in use (a relay already serving?)",
                                     param_hint="--port") from None
