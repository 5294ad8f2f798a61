"""`rcm market serve`: the market service — the chain indexer, the order relay and the
dashboard — on one port."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rcm.commands.common import DEFAULT_RPC_URL, RpcOption, load_system

if TYPE_CHECKING:
    from chain.system import System

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
    confirmations: Annotated[int, typer.Option(
        min=0, help="Blocks the index stays behind the chain's head: a reorg of at most this "
                    "many blocks never reaches it, and answers lag the chain by as many. 0 "
                    "suits a dev chain, which does not reorganise.")] = 0,
    nodes: Annotated[str, typer.Option(
        help="Comma-separated oracle node URLs to learn each violation's failed clauses from: "
             "shown only when their ids hash to the verdict's clausesHash on chain, else the "
             "hash is shown.")] = "",
) -> None:
    """Index the deployment's events into SQLite and serve the order relay (POST /orders,
    GET /orders/{hash}, /book, /trades, /health, /metrics, /openapi.json) and the dashboard
    (/rounds, /rounds/{round}, /prices, each also as .json). Answers come from the index,
    which every read of the relay first brings up to the chain's head (less
    --confirmations); every fill is checked again on chain. With --nodes, the verdicts page
    shows each violation's failed clauses once a node's ids are proven by the chain's hash."""
    from service.store import default_path

    urls = node_urls(nodes)
    require_free(host, port)
    system = load_system(rpc)
    run_service(system, db or default_path(), host, port, poll_ms, confirmations, urls,
                announce=lambda url, path, block: typer.echo(
                    f"indexing chain {system.chain.chain_id} into {path} (block {block}); "
                    f"relay and dashboard on {url}", err=True))


def node_urls(nodes: str) -> list[str]:
    """The comma-separated URLs of `--nodes`, each an http(s) URL."""
    urls = [url.strip() for url in nodes.split(",") if url.strip()]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise typer.BadParameter(f"{url!r} is not an http(s) URL", param_hint="--nodes")
    return urls


def run_service(system: System, path: Path, host: str, port: int, poll_ms: int,
                confirmations: int, nodes: list[str],
                announce: Callable[[str, Path, int], None]) -> None:
    """Indexes `system` into `path` and serves the relay and dashboard until interrupted,
    learning failed clauses from the oracle `nodes`; `announce` is given the dashboard's URL,
    the file and the last block indexed once the index has caught up."""
    import uvicorn

    from service.app import create_app
    from service.background import opened, polling

    with opened(system, path, confirmations=confirmations, nodes=nodes) as service, \
            polling(service.indexer, poll_ms / 1_000, service.clauses) as poller:
        announce(f"http://{host}:{port}/rounds", path, service.indexer.last_block)
        uvicorn.run(create_app(service.relay, poller.caught_up), host=host, port=port,
                    log_level="warning", access_log=False)


def require_free(host: str, port: int) -> None:
    """Refuses a port another process listens on, in one line, before the index is opened."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise typer.BadParameter(f"{host}:{port} is in use (a relay already serving?)",
                                     param_hint="--port") from None
