"""Options and output shared by the chain-facing commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chain.config import default_rpc

if TYPE_CHECKING:
    from chain.contract import Receipt
    from chain.signer import Signer
    from chain.system import System
    from rcm.sdk import Sent, Wallet

RpcOption = Annotated[
    str, typer.Option("--rpc", envvar="RCM_RPC", show_default=False,
                      help="JSON-RPC URL of the chain, or 'embedded'; else rpc in "
                           "$RCM_HOME/config.toml, else http://127.0.0.1:8545.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
# Click calls a callable default only when neither the flag nor RCM_RPC gives the option, so
# the config file is read (and a bad one refused) by commands that need it, when they need it.
DEFAULT_RPC_URL: Any = default_rpc


def load_system(rpc: str) -> System:
    from chain.connection import connect
    from chain.system import System

    return System.load(connect(rpc))


def iso_time(timestamp: int) -> str:
    """A unix time in ISO 8601, as --json documents carry it next to the seconds."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer a JSON reader that parses numbers as doubles (JavaScript, jq) keeps exact."""


def print_json(data: Any) -> None:
    """`data` as JSON in the convention of every --json document (README: JSON output and
    errors): integers beyond 2^53 as decimal strings, which such readers would otherwise round
    silently (wei amounts), and next to every time in unix seconds (a key ending `_at`, or
    `timestamp`) the same time in ISO 8601 under the key plus `_iso` (null with a null time)."""
    typer.echo(json.dumps(_exact(data), indent=2, default=str))


def _exact(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        return str(value)
    if isinstance(value, dict):
        return {name: item for key, item in value.items() for name, item in _timed(key, item)}
    if isinstance(value, list | tuple):
        return [_exact(item) for item in value]
    return value


def _timed(key: Any, value: Any) -> list[tuple[Any, Any]]:
    """The key's entry, and its ISO 8601 twin when it is a time in unix seconds."""
    entry = (key, _exact(value))
    if is_time_key(key) and value is None:
        return [entry, (f"{key}_iso", None)]
    if is_time_key(key) and isinstance(value, int) and not isinstance(value, bool):
        return [entry, (f"{key}_iso", iso_time(value))]
    return [entry]


def is_time_key(key: Any) -> bool:
    return isinstance(key, str) and (key.endswith("_at") or key == "timestamp")


def sent_fields(sent: Sent | list[Sent]) -> dict[str, Any]:
    """`tx` and `gas` of what a command sent: one transaction, or a list of them."""
    if isinstance(sent, list):
        return {"tx": [s.tx for s in sent], "gas": [s.gas for s in sent]}
    return {"tx": sent.tx, "gas": sent.gas}


def tx_summary(receipt: Receipt | list[Receipt]) -> dict[str, Any]:
    from rcm.sdk import Sent

    if isinstance(receipt, list):
        return sent_fields([Sent.of(r) for r in receipt])
    return sent_fields(Sent.of(receipt))


def as_json(result: Any) -> dict[str, Any]:
    """An SDK result (a dataclass whose amounts are named for their unit) as a --json
    document: its fields but those that do not apply (None), and its transactions (`sent`) as
    `tx` and `gas`."""
    from dataclasses import asdict

    data = {key: value for key, value in asdict(result).items() if value is not None}
    del data["sent"]
    return data | sent_fields(result.sent)


def wallet_on(name: str, rpc: str) -> Wallet:
    """The named wallet on the chain at `rpc`; its key is fetched when it first signs (from the
    agent `rcm wallet unlock` started, else the keystore with RCM_PASSWORD_<NAME>,
    RCM_PASSWORD or a prompt)."""
    from rcm.sdk import Market

    return Market(load_system(rpc)).wallet(name)


def open_wallet(name: str, rpc: str) -> tuple[System, Signer]:
    wallet = wallet_on(name, rpc)
    return wallet.market.system, wallet.account


def act(name: str, rpc: str, json_out: bool, operation: Callable[[Wallet], Any],
        message: str | Callable[[Any], str],
        document: Callable[[Any], dict[str, Any]] = as_json) -> None:
    """Open the wallet, run one checked operation, report what it did and its transaction;
    `message` may be made from the operation's result (the ids it resolved)."""
    done = operation(wallet_on(name, rpc))
    said = message if isinstance(message, str) else message(done)
    report(json_out, {"name": name, **document(done)}, with_tx(said, done.sent.tx))


def with_tx(message: str, tx: str | list[str]) -> str:
    """A human line and, on its own line so that both fit 80 columns, the transaction(s) it
    sent, whole: what `cast tx` and a block explorer take."""
    return "\n".join([message, *(f"tx {t}" for t in ([tx] if isinstance(tx, str) else tx))])


def report(json_out: bool, data: dict[str, Any], message: str) -> None:
    """One JSON document with --json, else the human lines, each wrapped to 80 columns."""
    from rcm.commands.tables import paragraph

    if json_out:
        print_json(data)
    else:
        typer.echo("\n".join(map(paragraph, message.splitlines())))
