"""The `rcm` command. Subcommands are imported only when invoked, so `rcm --help` stays fast."""

from __future__ import annotations

import importlib
import sys

import click

# name -> (module under rcm.commands, one-line help shown by `rcm --help`)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "wallet": ("wallet", "Keystores, balances, transfers, stake and reputation bonds."),
    "testnet": ("testnet", "Run a local Hardhat node with the system deployed."),
    "deploy": ("deploy", "Deploy the whole system and write the deployment manifest."),
    "demo": ("demo", "Run the whole life of a compute future, end to end."),
    "auction": ("auction", "Clear combinatorial auctions and generate market instances."),
    "enclave": ("enclave", "Software attester: sign job evidence the way a TEE would."),
    "oracle": ("oracle", "Policy oracle nodes: init, serve, register, submit verdicts."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        import typer.main

        module = importlib.import_module(f"rcm.commands.{entry[0]}")
        command = typer.main.get_command(module.app)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """rcm — Responsible Compute Markets.

    GPU, power and storage capacity sold for future delivery through combinatorial
    auctions, with privacy and safety priced in and enforced on an Ethereum chain.
    """


def main() -> None:
    """Entry point: bad input and rejected actions exit 2 with one line; bugs exit 1."""
    from chain.errors import RcmError

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except RcmError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
