"""`rcm demo`: the whole life of a compute future, end to end."""

from __future__ import annotations

from typing import Annotated

import typer

from rcm.commands.common import JsonOption, print_json

app = typer.Typer(help="Run the whole life of a compute future, end to end.")


@app.command()
def demo(
    rpc: Annotated[
        str, typer.Option("--rpc", help="Run on this JSON-RPC chain instead of the embedded one.")
    ] = "embedded",
    json_out: JsonOption = False,
) -> None:
    """Deploy, stake, audit, lock and slash — each step under a heading, with tables."""
    import sys

    from rcm.demo import Printer, run

    summary = run(rpc, Printer(sys.stderr if json_out else sys.stdout))
    if json_out:
        print_json(summary)
