"""How the `rcm` command shows an RcmError: the field spelled as the invoked command's own
option or argument (`content_hash` → `--content-hash`, `dataset` → `DATASET`), and, for errors a
command fixes, that command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chain.errors import (
    InsufficientBond,
    InsufficientStake,
    NoDeployment,
    RcmError,
    StaleDeployment,
)
from chain.testnet import TestnetRunning
from tokens.errors import RoundNotClosed, UnknownWallet

HINTS: dict[type[RcmError], str] = {
    UnknownWallet: "see `rcm wallet list`",
    NoDeployment: "run `rcm testnet start` or `rcm deploy`",
    StaleDeployment: "redeploy with `rcm testnet start` or `rcm deploy`",
    InsufficientStake: "stake more with `rcm wallet stake`",
    InsufficientBond: "bond more with `rcm wallet bond`",
    RoundNotClosed: "`rcm round finalise ROUND` closes it",
    TestnetRunning: "stop it with `rcm testnet stop`",
}


def render(exc: RcmError, root: Any, argv: Sequence[str]) -> str:
    """One line: the error as the user typed the command."""
    text = str(exc)
    if exc.field is not None:
        text = f"{_spelled(exc.field, _invoked(root, argv))}: {exc.reason}"
    hint = next((HINTS[c] for c in type(exc).__mro__ if c in HINTS), None)
    return f"{text} ({hint})" if hint else text


def _invoked(root: Any, argv: Sequence[str]) -> Any:
    """The (sub)command `argv` names: `wallet budget register ...` → `register`. (Typer's
    vendored click classes, so groups are told by what they do.)"""
    command = root
    for token in argv:
        if not hasattr(command, "get_command"):
            break
        sub = command.get_command(None, token)
        if sub is None:
            break
        command = sub
    return command


def _spelled(field: str, command: Any) -> str:
    """`bids[0].bundles` and other paths into files stay as they are."""
    params = {p.name: p for p in command.params}
    param = params.get(field) or params.get(f"{field}s")
    if param is None:
        return field
    if param.param_type_name == "option":
        return str(max(param.opts, key=len))
    return str(param.metavar or param.name.upper())
