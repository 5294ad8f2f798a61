"""`rcm wallet unlock|lock`: keep a wallet's key in a background agent for a while."""

from __future__ import annotations

from typing import Annotated

import typer

from rcm.commands.common import JsonOption, report

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
Duration = Annotated[
    str, typer.Option("--for", help="How long: 90s, 15m, 1h, 2h30m (at most 24h).")
]


def unlock(name: Name, duration: Duration = "15m", json_out: JsonOption = False) -> None:
    """Decrypt the wallet once and keep its key in a background agent for a while (--for):
    until then, signing commands need no password. Unlocking again replaces the agent."""
    from datetime import UTC, datetime

    from chain.keystore import read_password
    from tokens import agent, wallets

    seconds = agent.parse_duration(duration)
    wallets.address_of(name)
    started = agent.start(name, wallets.unlock(name, read_password(name)), seconds)
    until = datetime.fromtimestamp(started.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    report(
        json_out,
        {"name": name, "address": started.address, "expires_at": started.expires_at},
        f"unlocked {name} ({started.address}) until {until}",
    )


def lock(name: Name, json_out: JsonOption = False) -> None:
    """Stop the wallet's agent: signing commands ask for the password again."""
    from tokens import agent

    stopped = agent.lock(name)
    report(
        json_out,
        {"name": name, "was_unlocked": stopped},
        f"locked {name}" if stopped else f"{name} was not unlocked",
    )


def register(app: typer.Typer) -> None:
    """Adds these commands to `rcm wallet`."""
    app.command()(unlock)
    app.command()(lock)
