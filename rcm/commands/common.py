"""Options and output shared by the chain-facing commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chain.config import DEFAULT_RPC

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3.types import TxReceipt

    from chain.system import System

RpcOption = Annotated[
    str, typer.Option("--rpc", help="JSON-RPC URL of the chain, or 'embedded'.", envvar="RCM_RPC")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
DEFAULT_RPC_URL = DEFAULT_RPC


def load_system(rpc: str) -> System:
    from chain.connection import connect
    from chain.system import System

    return System.load(connect(rpc))


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def tx_summary(receipt: TxReceipt) -> dict[str, Any]:
    return {"tx": "0x" + bytes(receipt["transactionHash"]).hex(), "gas": int(receipt["gasUsed"])}


def open_wallet(name: str, rpc: str) -> tuple[System, LocalAccount]:
    """Unlocks the wallet (RCM_PASSWORD or a prompt) and connects to the chain."""
    from chain.keystore import read_password
    from tokens import wallets

    wallets.address_of(name)
    account = wallets.unlock(name, read_password())
    return load_system(rpc), account


def act(name: str, rpc: str, json_out: bool,
        operation: Callable[[System, LocalAccount], TxReceipt], message: str) -> None:
    """Unlock the wallet, connect, run one checked operation, report the transaction."""
    system, account = open_wallet(name, rpc)
    summary = tx_summary(operation(system, account))
    report(json_out, {"name": name, **summary}, f"{message} (tx {summary['tx']})")


def report(json_out: bool, data: dict[str, Any], message: str) -> None:
    """One JSON document with --json, else one human line."""
    if json_out:
        print_json(data)
    else:
        typer.echo(message)
