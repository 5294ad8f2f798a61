"""`rcm wallet unlock|lock`: keep a wallet's key in a background agent for a while."""

from __future__ import annotations

from typing import Annotated

import typer

from rcm.commands.common import JsonOption, report

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
Duration = Annotated[
    str, typer.Option("--for", help="How long: 90s, 15m, 1h, 2h30m (at most 24h); by default "
                                    "an hour, about what the README's walkthrough takes.")
]


def unlock(name: Name, duration: Duration = "1h", json_out: JsonOption = False) -> None:
    """Decrypt the wallet once and keep its key in a background agent for a while (--for, an
    hour by default): until then, signing commands need no password. Unlocking again replaces
    the agent."""
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
    from chain.times import utc_text
    from tokens import agent

    expired_at = agent.expired_at(name)  # read first: locking forgets it
    stopped = agent.lock(name)
    if stopped:
        said = f"locked {name}"
    elif expired_at is not None:
        said = f"{name} was already locked: its unlock had expired at {utc_text(expired_at)}"
    else:
        said = f"{name} was not unlocked"
    report(json_out, {"name": name, "was_unlocked": stopped,
                      "expired_at": None if stopped else expired_at}, said)


def register(app: typer.Typer) -> None:
    """Adds these commands to `rcm wallet`."""
    app.command()(unlock)
    app.command()(lock)
