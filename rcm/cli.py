"""The `rcm` command. Subcommands are imported only when invoked, so `rcm --help` stays fast."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
import typer.core

from rcm.script import stop_interrupted

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
    "risk": ("risk", "Score a job's safety risk with the regulator's rubric."),
    "trade": ("trade", "Sell and buy futures on the futures exchange by signed orders."),
    "market": ("market", "The market service (order relay), price history and the price index."),
    "simulate": ("simulate", "Simulate the market: one run, a sweep on Dask, a sweep's figures."),
}

COMPLETION_OPTIONS = {"install_completion", "show_completion"}

DESCRIPTION = """rcm — Responsible Compute Markets.

GPU, power and storage capacity sold for future delivery through combinatorial
auctions, with privacy and safety priced in and enforced on an Ethereum chain.
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
        _plain_help(command)
        return command

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _one_line_on_interrupt():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _one_line_on_interrupt():
            return super().invoke(ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(f"Usage: rcm [OPTIONS] COMMAND [ARGS]...\n\n{DESCRIPTION}\nCommands:\n")
        width = max(map(len, SUBCOMMANDS))
        for name in self.list_commands(ctx):
            formatter.write(f"  {name:<{width}}  {SUBCOMMANDS[name][1]}\n")
        formatter.write("\nOptions:\n  --version   Print rcm's version.\n"
                        "  -h, --help  Show this message.\n"
                        "\nRun `rcm COMMAND --help` for a command's options.\n")


def _plain_help(command: Any) -> None:
    """Help as `rcm --help` prints it, for `command` and everything under it: click's plain
    text, wrapped to the terminal and at most 80 columns, rather than Rich's boxes (which ignore
    the docstrings' paragraphs and read brackets as markup). A group lists each command by its
    docstring's whole first sentence, where click would cut it at one line."""
    from typer._click.utils import make_default_short_help  # not re-exported

    command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        sub.short_help = sub.short_help or make_default_short_help(sub.help or "", sys.maxsize)
        _plain_help(sub)


@contextmanager
def _one_line_on_interrupt() -> Iterator[None]:
    """Ctrl-C ends the command with one line and exit 130: Typer's own exit says nothing."""
    try:
        yield
    except KeyboardInterrupt:
        stop_interrupted()


def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        typer.echo(f"rcm {version('rcm')}")
        raise typer.Exit()


app = typer.Typer(cls=LazyGroup, name="rcm", help=DESCRIPTION, add_completion=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                          help="Print rcm's version.")] = False,
) -> None:
    """The options of `rcm` itself; every action is a subcommand."""


cli = typer.main.get_command(app)


def main() -> None:
    """Entry point: bad input, usage errors and rejected actions exit 2 with one line (a JSON
    document with --json); bugs exit 1 with the traceback. Click's own error handling is off
    (standalone_mode=False) because it prints multi-line usage boxes."""
    from typer._click.exceptions import ClickException, NoArgsIsHelpError  # not re-exported

    from chain.errors import RcmError

    # rcm uses no pydantic plugins; looking for them reads every installed package's metadata,
    # a sixtieth of a second of every command.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    argv = sys.argv[1:]
    try:
        with _one_line_on_interrupt():
            code = cli.main(argv, prog_name="rcm", standalone_mode=False)
    except NoArgsIsHelpError:
        sys.exit(2)  # the help is already shown
    except (RcmError, ClickException) as exc:
        from rcm.errors import refusal_line

        typer.echo(refusal_line(exc, cli, argv), err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    if isinstance(code, int):
        sys.exit(code)
