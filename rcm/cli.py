"""The `rcm` command. Subcommands are imported only when invoked, so `rcm --help` stays fast."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
import typer.core

# name -> (module under rcm.commands, one-line help shown by `rcm --help`)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "wallet": ("wallet", "Keystores, balances, transfers, stake and reputation bonds."),
    "testnet": ("testnet", "Run a local Hardhat node with the system deployed."),
    "deploy": ("deploy", "Deploy the whole system and write the deployment manifest."),
    "demo": ("demo", "Run the whole life of a compute future, end to end."),
    "round": ("round", "Open, watch, close, challenge and finalise sealed-bid rounds."),
    "auction": ("auction", "Clear combinatorial auctions and generate market instances."),
    "enclave": ("enclave", "Software attester: sign job evidence the way a TEE would."),
    "oracle": ("oracle", "Policy oracle nodes: init, serve, register, submit verdicts."),
}

COMPLETION_OPTIONS = {"install_completion", "show_completion"}

DESCRIPTION = """rcm — Responsible Compute Markets.

GPU, power and storage capacity sold for future delivery through combinatorial auctions,
with privacy and safety priced in and enforced on an Ethereum chain.
"""


class LazyGroup(typer.core.TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f"rcm.commands.{entry[0]}")
        command = typer.main.get_command(module.app)
        command.name = cmd_name
        # Shell completion belongs to the top-level program, not to each subcommand.
        command.params = [p for p in command.params if p.name not in COMPLETION_OPTIONS]
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(f"Usage: rcm [OPTIONS] COMMAND [ARGS]...\n\n{DESCRIPTION}\nCommands:\n")
        width = max(map(len, SUBCOMMANDS))
        for name in self.list_commands(ctx):
            formatter.write(f"  {name:<{width}}  {SUBCOMMANDS[name][1]}\n")
        formatter.write("\nRun `rcm COMMAND --help` for a command's options.\n")


cli = LazyGroup(
    name="rcm", help=DESCRIPTION, context_settings={"help_option_names": ["-h", "--help"]}
)


def main() -> None:
    """Entry point: bad input and rejected actions exit 2 with one line; bugs exit 1."""
    from chain.errors import RcmError

    try:
        cli.main(prog_name="rcm")
    except RcmError as exc:
        from rcm.errors import render

        typer.echo(f"error: {render(exc, cli, sys.argv[1:])}", err=True)
        sys.exit(2)
