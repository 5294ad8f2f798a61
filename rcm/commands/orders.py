"""`rcm wallet ask|bid|reveal|cancel`: a provider's asks and a buyer's sealed bids in a round."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rcm.commands.common import DEFAULT_RPC_URL, JsonOption, RpcOption, report, wallet_on
from tokens.amounts import grouped

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
RoundId = Annotated[int, typer.Option("--round", min=1, help="The round's id.")]
File = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A JSON file.")]


def ask(name: Name, file: File, round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
        json_out: JsonOption = False) -> None:
    """Post a provider's asks from FILE (README: ask files); the round's policy locks a bond
    per unit offered until the round closes."""
    from market.onchain import AskFile
    from market.readers import read_json_file

    asks = read_json_file(file, AskFile).asks
    posted = wallet_on(name, rpc).post_asks(round_id, asks)
    report(json_out, {"round": round_id, "items": posted.items, "tx": posted.sent.tx},
           f"posted {len(asks)} asks to round {round_id} as items "
           f"{posted.items[0]}..{posted.items[-1]}")


def bid(name: Name, file: File, round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
        json_out: JsonOption = False) -> None:
    """Sign and commit sealed bids from FILE (README: bid files): deposit, stake and ε."""
    from market.orders import read_bids

    entries = read_bids(file)
    wallet = wallet_on(name, rpc)
    placed = [wallet.bid(round_id, entry, index) for index, entry in enumerate(entries)]
    rows = [{"digest": p.digest, "deposit_micro_usd": p.deposit_micro_usd,
             "stake_wei": p.stake_wei, "tx": p.sent.tx} for p in placed]
    report(json_out, {"round": round_id, "bids": rows}, "\n".join(
        f"committed {p.digest}: deposit {grouped(p.deposit_micro_usd, 'usd')} USD, stake "
        f"{grouped(p.stake_wei, 'cst', 4)} CST" for p in placed))


def reveal(name: Name, round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """Reveal this wallet's committed bids of the round (kept since `wallet bid`)."""
    revealed = wallet_on(name, rpc).reveal(round_id)
    rows = [{"digest": r.digest, "tx": r.sent.tx} for r in revealed]
    report(json_out, {"round": round_id, "revealed": rows},
           "\n".join(f"revealed {row['digest']}" for row in rows))


def cancel(name: Name, round_id: RoundId,
           digest: Annotated[str | None, typer.Argument(help="The bid's digest; default: all of "
                                                             "this wallet's bids in the round.")]
           = None,
           rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """Cancel committed bids before bidding closes; the deposit becomes withdrawable."""
    cancelled = wallet_on(name, rpc).cancel(round_id, digest)
    rows = [{"digest": c.digest, "tx": c.sent.tx} for c in cancelled]
    report(json_out, {"round": round_id, "cancelled": rows},
           "\n".join(f"cancelled {row['digest']}" for row in rows))


def register(app: typer.Typer) -> None:
    for command in (ask, bid, reveal, cancel):
        app.command()(command)

