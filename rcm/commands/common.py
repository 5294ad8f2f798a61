"""Options and output shared by the chain-facing commands."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chain.config import DEFAULT_RPC

if TYPE_CHECKING:
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
