"""How the `rcm` command shows what it refuses — an RcmError or a usage error — in one line: the
field spelled as the invoked command's own option or argument (`content_hash` →
`--content-hash`, `dataset` → `DATASET`) and, where one command fixes the error, that command.
Under --json the same line is the message of `{"error": {"field", "message"}}`, whose field is
named as the SDK names it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

# typer vendors click and re-exports none of its exceptions.
from typer._click.exceptions import (
    BadParameter,
    ClickException,
    MissingParameter,
    NoSuchOption,
    UsageError,
)

from chain.errors import (
    InsufficientBond,
    InsufficientGas,
    InsufficientStake,
    NoDeployment,
    RcmError,
    StaleDeployment,
)
from chain.testnet import TestnetRunning
from service.errors import RelayUnreachable
from tokens.errors import RoundNotClosed, UnknownWallet

HINTS: dict[type[RcmError], str] = {
    UnknownWallet: "see `rcm wallet list`",
    NoDeployment: "run `rcm testnet start` or `rcm deploy`",
    StaleDeployment: "redeploy with `rcm testnet start` or `rcm deploy`",
    InsufficientStake: "stake more with `rcm wallet stake`",
    InsufficientBond: "bond more with `rcm wallet bond`",
    RoundNotClosed: "`rcm round finalise ROUND` closes it",
    TestnetRunning: "stop it with `rcm testnet stop`",
    InsufficientGas: "send it ETH; on a local chain, `rcm testnet fund NAME`",
    RelayUnreachable: "start one with `rcm market serve`",
}

# typer validates numbers with pydantic, whose messages all begin so.
_PYDANTIC_LEAD = "Input should be "

# SDK fields a command takes under another name: the wallet that signs, where no NAME argument
# names it (`--from`, `--wallet`), and the key `wallet import` reads from a file.
ALIASES: dict[str, tuple[str, ...]] = {"name": ("from_", "wallet"), "private_key": ("key_file",),
                                      "price_usd": ("price",)}


def refusal_line(exc: RcmError | ClickException, root: Any, argv: Sequence[str]) -> str:
    """What `rcm` prints on stderr before exiting 2: `error: ...`, or with --json the error
    document on one line, so that stdout only ever holds a command's result."""
    command, path = _invoked(root, argv)
    if isinstance(exc, RcmError):
        field, message = exc.field, render(exc, root, argv)
    else:
        field, message = _usage(exc, command, path, argv)
    if "--json" in argv and any("--json" in getattr(p, "opts", ()) for p in command.params):
        return json.dumps({"error": {"field": field, "message": message}})
    return f"error: {message}"


def render(exc: RcmError, root: Any, argv: Sequence[str]) -> str:
    """One line: the error as the user typed the command."""
    text = str(exc)
    if exc.field is not None:
        text = f"{_spelled(exc.field, _invoked(root, argv)[0])}: {exc.reason}"
    hint = next((HINTS[c] for c in type(exc).__mro__ if c in HINTS), None)
    return f"{text} ({hint})" if hint else text


def _usage(exc: ClickException, command: Any, path: str, argv: Sequence[str]
           ) -> tuple[str | None, str]:
    """The field (the parameter's name, as the SDK names it) and the line for a usage error,
    which says where to read the command's usage instead of printing it."""
    field = None
    if isinstance(exc, BadParameter) and exc.param is not None:
        field = exc.param.name
        reason = "missing" if isinstance(exc, MissingParameter) else _reason(exc.message)
        text = f"{_spelled(field, command)}: {reason}"
    elif isinstance(exc, NoSuchOption) and (
            argument := _negative_argument(exc.option_name, command, argv[path.count(" "):])):
        field = argument.name
        text = f"{_spelled(field, command)}: must be greater than 0, got {exc.option_name}"
    elif isinstance(exc, NoSuchOption):
        text = f"{exc.option_name}: {_no_such_option(exc)}"
    else:
        text = _reason(exc.format_message())
    return field, f"{text} (see `{path} --help`)" if isinstance(exc, UsageError) else text


def _negative_argument(token: str, command: Any, words: Sequence[str]) -> Any | None:
    """The argument whose place a negative number holds: click reads `-1` as an option. `words`
    are the command's own, after its name."""
    if not _is_number(token) or token not in words:
        return None
    valued = {opt for p in command.params if p.param_type_name == "option" and not p.is_flag
              for opt in p.opts}
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    position, skip = 0, False
    for word in words[:list(words).index(token)]:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in valued
        else:
            position += 1
    argument = arguments[position] if position < len(arguments) else None
    kind = getattr(argument, "type_descriptor", None)
    return None if kind is None or kind.is_path or kind.is_file else argument


def _is_number(option_name: str) -> bool:
    return option_name.lstrip("-").replace(".", "", 1).isdigit()


def _no_such_option(exc: NoSuchOption) -> str:
    if _is_number(exc.option_name):
        return "not an option, and no number rcm takes is negative"
    meant = sorted(set(exc.possibilities or ()) - {"--help"})
    if meant:
        return f"no such option (did you mean {' or '.join(meant)}?)"
    return "no such option"


def _reason(message: str) -> str:
    """Click's and typer's (pydantic's) messages as rcm's reasons read: `must be ...`, lower
    case, no full stop."""
    if message.startswith(_PYDANTIC_LEAD):
        message = "must be " + message.removeprefix(_PYDANTIC_LEAD)
    return (message[:1].lower() + message[1:]).rstrip(".")


def _invoked(root: Any, argv: Sequence[str]) -> tuple[Any, str]:
    """The (sub)command `argv` names and its path: `wallet budget register ...` → `register`,
    `rcm wallet budget register`. (Typer's vendored click classes, so groups are told by what
    they do.)"""
    command, path = root, [root.name]
    for token in argv:
        if not hasattr(command, "get_command"):
            break
        sub = command.get_command(None, token)
        if sub is None:
            break
        command = sub
        path.append(token)
    return command, " ".join(path)


def _spelled(field: str, command: Any) -> str:
    """`bids[0].bundles` and other paths into files stay as they are."""
    params = {p.name: p for p in command.params}
    param = next((params[name] for name in (field, f"{field}s", *ALIASES.get(field, ()))
                  if name in params), None)
    if param is None:
        return field
    if param.param_type_name == "option":
        return str(max(param.opts, key=len))
    return str(param.metavar or param.name.upper())
