"""`rcm demo`: the whole life of a compute future, end to end."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rcm.commands.common import JsonOption, print_json
from rcm.commands.market_serve import DEFAULT_PORT

app = typer.Typer(help="Run the whole life of a compute future, end to end.")


@app.command()
def demo(
    rpc: Annotated[
        str, typer.Option("--rpc", help="Run on this JSON-RPC chain instead of the embedded one.")
    ] = "embedded",
    serve: Annotated[bool, typer.Option(
        "--serve", help="Then keep serving the demo's market (indexer, relay and dashboard, "
                        "with its oracle nodes for the verdicts' failed clauses) and print "
                        "the dashboard's URL; Ctrl-C stops it. Needs --rpc: the "
                        "embedded chain ends with the command.")] = False,
    port: Annotated[int, typer.Option(min=1, max=65535,
                                      help="With --serve, the port to listen on.")
                    ] = DEFAULT_PORT,
    json_out: JsonOption = False,
) -> None:
    """Deploy, stake, audit, lock and slash — each step under a heading, with tables."""
    import sys
    from pathlib import Path

    from chain.system import System
    from rcm.commands.market_serve import require_free, run_service
    from rcm.demo import Printer, run

    host = "127.0.0.1"
    if serve:
        if rpc == "embedded":
            raise typer.BadParameter("the embedded chain ends with the command: start a node "
                                     "(`rcm testnet start`) and pass its --rpc URL",
                                     param_hint="--serve")
        require_free(host, port)
    out = sys.stderr if json_out else sys.stdout

    def serving(system: System, workdir: Path, summary: dict[str, Any], nodes: list[str]
                ) -> None:
        # The story's summary first: the service runs until interrupted.
        if json_out:
            print_json(summary)
            sys.stdout.flush()
        run_service(system, workdir / "market.sqlite", host, port, poll_ms=500,
                    confirmations=0, nodes=nodes, announce=lambda url, _path, _block: print(
                        f"dashboard: {url} (Ctrl-C stops it)", file=out, flush=True))

    summary = run(rpc, Printer(out), then=serving if serve else None)
    if json_out and not serve:
        print_json(summary)
