"""`rcm wallet ask|bid|reveal|cancel`: a provider's asks and a buyer's sealed bids in a round."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    open_wallet,
    report,
    tx_summary,
)

if TYPE_CHECKING:
    from web3.types import TxReceipt


Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
RoundId = Annotated[int, typer.Option("--round", min=1, help="The round's id.")]
File = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A JSON file.")]


def ask(name: Name, file: File, round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
        json_out: JsonOption = False) -> None:
    """Post a provider's asks from FILE (README: ask files); the round's policy locks a bond
    per unit offered until the round closes."""
    from web3.logs import DISCARD

    from market.orders import post_asks, read_asks

    asks = read_asks(file)
    system, account = open_wallet(name, rpc)
    receipt = post_asks(system, account, round_id, asks)
    posted = system.clearing_house.events.AskPosted().process_receipt(receipt, errors=DISCARD)
    items = [int(event["args"]["item"]) for event in posted]
    report(json_out, {"round": round_id, "items": items, "tx": _tx(receipt)},
            f"posted {len(asks)} asks to round {round_id} as items {items[0]}..{items[-1]}")


def bid(name: Name, file: File, round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
        json_out: JsonOption = False) -> None:
    """Sign and commit sealed bids from FILE (README: bid files): deposit, stake and ε."""
    from market.orders import place_bid, read_bids

    entries = read_bids(file)
    system, account = open_wallet(name, rpc)
    placed = [place_bid(system, account, round_id, entry, index)
              for index, entry in enumerate(entries)]
    rows = [{"digest": "0x" + p.digest.hex(), "deposit_micro_usd": p.deposit_micro_usd,
             "stake_wei": p.stake_wei, "tx": _tx(p.receipt)} for p in placed]
    report(json_out, {"round": round_id, "bids": rows}, "\n".join(
        f"committed 0x{p.digest.hex()}: deposit {p.deposit_micro_usd / 1e6:,.2f} USD, stake "
        f"{p.stake_wei / 1e18:,.4f} CST" for p in placed))


def reveal(name: Name, round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """Reveal this wallet's committed bids of the round (kept since `wallet bid`)."""
    from market.orders import reveal as reveal_bids

    system, account = open_wallet(name, rpc)
    revealed = reveal_bids(system, account, round_id)
    rows = [{"digest": "0x" + digest.hex(), "tx": _tx(receipt)} for digest, receipt in revealed]
    report(json_out, {"round": round_id, "revealed": rows},
            "\n".join(f"revealed {row['digest']}" for row in rows))


def cancel(name: Name, round_id: RoundId,
           digest: Annotated[str | None, typer.Argument(help="The bid's digest; default: all of "
                                                             "this wallet's bids in the round.")]
           = None,
           rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """Cancel committed bids before bidding closes; the deposit becomes withdrawable."""
    from market.orders import cancel as cancel_bids

    system, account = open_wallet(name, rpc)
    cancelled = cancel_bids(system, account, round_id, digest)
    rows = [{"digest": "0x" + d.hex(), "tx": _tx(receipt)} for d, receipt in cancelled]
    report(json_out, {"round": round_id, "cancelled": rows},
            "\n".join(f"cancelled {row['digest']}" for row in rows))


def register(app: typer.Typer) -> None:
    for command in (ask, bid, reveal, cancel):
        app.command()(command)


def _tx(receipt: TxReceipt) -> str:
    return str(tx_summary(receipt)["tx"])
