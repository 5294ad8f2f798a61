"""`rcm round`: open a sealed-bid round, watch it, close its book, challenge its result,
finalise it. The auctioneer's side; `rcm auction run` clears and posts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    load_system,
    open_wallet,
    print_json,
    report,
    tx_summary,
)

if TYPE_CHECKING:
    from web3.types import TxReceipt

    from chain.system import System
    from market.settlement import Book

app = typer.Typer(no_args_is_help=True, help="Open, watch, close, challenge and finalise rounds.")

RoundId = Annotated[int, typer.Argument(min=1, help="The round's id.")]
Wallet = Annotated[str, typer.Option("--wallet", help="Wallet that signs (a keystore name).")]
Seconds = Annotated[int, typer.Option(min=1, help="Length of the phase, seconds.")]
GOVERNANCE = "governance"


@app.command("open")
def open_(
    commit: Seconds = 3_600,
    reveal: Seconds = 3_600,
    post: Seconds = 3_600,
    challenge: Seconds = 3_600,
    forfeit_fee: Annotated[str, typer.Option(help="USD an unrevealed bid forfeits.")] = "1",
    wallet: Wallet = GOVERNANCE,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Open a round (AUCTIONEER_ROLE): commit, reveal, post and challenge phases in a row,
    from now."""
    from chain.settlement import Deadlines
    from tokens.amounts import to_units

    fee = to_units(forfeit_fee, "usd")
    system, account = open_wallet(wallet, rpc)
    now = int(system.chain.w3.eth.get_block("latest")["timestamp"])
    deadlines = Deadlines.after(now, commit, reveal, post, challenge)
    house = system.clearing_house
    receipt = system.chain.send(house.functions.openRound(deadlines.as_args(), fee), account)
    round_id = int(house.functions.roundCount().call())
    data = {"round": round_id, "deadlines": _times(deadlines.as_args()), **tx_summary(receipt)}
    report(json_out, data, f"opened round {round_id}: bids until "
                            f"{data['deadlines']['commit']}")


@app.command()
def status(round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """The round's phase, items and every bid's state; once cleared (by `rcm auction run` on
    this machine), why each bid won or lost."""
    from market.settlement import load_result, read_book

    system = load_system(rpc)
    book = read_book(system, round_id)
    document = _status(system, book, load_result(system, round_id))
    if json_out:
        print_json(document)
    else:
        _print_status(document)


@app.command()
def close(round_id: RoundId, wallet: Wallet = GOVERNANCE, rpc: RpcOption = DEFAULT_RPC_URL,
          json_out: JsonOption = False) -> None:
    """Close the round's book once the reveal phase is over: every commitment left unrevealed
    is released less the round's forfeit fee. Anyone may do it."""
    from market.settlement import forfeit_unrevealed, read_book

    system, account = open_wallet(wallet, rpc)
    receipts = forfeit_unrevealed(system, account, read_book(system, round_id))
    report(json_out, {"round": round_id, "forfeited": len(receipts), "txs": _txs(receipts)},
            f"round {round_id} closed: {len(receipts)} unrevealed bids forfeited")


@app.command("challenge")
def challenge_(
    round_id: RoundId,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="A priced result, as `auction run` saves it.")],
    wallet: Wallet = GOVERNANCE,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Replace the posted result with a better one (higher welfare); the replaced poster's
    bond is slashed."""
    from market.settlement import challenge, read_book, read_result_file

    result = read_result_file(file)
    system, account = open_wallet(wallet, rpc)
    receipt = challenge(system, account, read_book(system, round_id), result)
    report(json_out, {"round": round_id, "welfare": result.welfare, **tx_summary(receipt)},
            f"round {round_id}: result replaced, welfare {result.welfare / 1e6:,.2f} USD")


@app.command()
def finalise(round_id: RoundId, wallet: Wallet = GOVERNANCE, rpc: RpcOption = DEFAULT_RPC_URL,
             json_out: JsonOption = False) -> None:
    """Credit the winners their futures and release the losers, once the challenge window
    has closed. Anyone may do it; safe to repeat."""
    from market.settlement import finalise as finalise_round
    from market.settlement import read_book

    system, account = open_wallet(wallet, rpc)
    receipts = finalise_round(system, account, read_book(system, round_id))
    report(json_out, {"round": round_id, "txs": _txs(receipts)},
            f"round {round_id} finalised in {len(receipts)} transactions")


def _status(system: System, book: Book, result: Any) -> dict[str, Any]:
    from chain.settlement import Phase
    from market.onchain import tier_name

    house = system.clearing_house
    outcome: dict[str, str] = {}
    if result is not None:
        outcome |= {fill.bid: f"won bundle {fill.bundle}" for fill in result.allocation}
        outcome |= {loss.bid: f"lost: {loss.reason} — {loss.detail}" for loss in result.losing}
    state = book.state
    return {
        "round": book.round_id,
        "phase": Phase(book.phase).name.lower(),
        "deadlines": _times(state.deadlines.as_args()),
        "poster": _unless_zero(state.poster),
        "fills": state.fill_count,
        "welfare_micro_usd": state.welfare_micro_usd,
        "items": [{
            "item": a.item, "provider": a.provider, "kind": a.ask.resource,
            "region": a.ask.region, "slot": _time(a.ask.slot_start_timestamp),
            "tier": tier_name(a.ask.tier), "unit": a.ask.unit, "capacity": a.ask.capacity,
            "allocated": _allocated(house.functions.askOf(book.round_id, a.item).call(), state),
            "reserve_price_micro_usd": a.ask.reserve_price_micro_usd,
        } for a in book.asks],
        "bids": [{
            "digest": "0x" + digest.hex(), "bidder": _unless_zero(record.bidder),
            "status": record.status.name.lower(),
            "deposit_micro_usd": record.deposit_micro_usd,
            "payment_micro_usd": record.payment_micro_usd,
            "outcome": outcome.get("0x" + digest.hex()),
        } for digest, record in book.records.items()],
    }


def _unless_zero(address: str) -> str | None:
    """An address, or None for the zero address (a field not written yet)."""
    return address if int(address, 16) else None


def _allocated(ask: Any, state: Any) -> int:
    _, _, allocated, version, _ = ask
    return int(allocated) if version == state.result_version else 0


def _print_status(document: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    deadlines = document["deadlines"]
    console.print(f"[bold]round {document['round']}[/]: {document['phase']} phase; bids until "
                  f"{deadlines['commit']}, reveals until {deadlines['reveal']}, result until "
                  f"{deadlines['post']}, challenges until {deadlines['challenge']}")
    items = Table("item", "kind", "region", "slot", "tier", "units", "sold", "reserve USD",
                  "provider", title="items")
    for item in document["items"]:
        items.add_row(str(item["item"]), item["kind"], item["region"], item["slot"][:16],
                      item["tier"], str(item["capacity"]), str(item["allocated"]),
                      f"{item['reserve_price_micro_usd'] / 1e6:,.2f}",
                      item["provider"][:6] + "…" + item["provider"][-4:])
    console.print(items)
    bids = Table("bid", "bidder", "status", "deposit USD", "pays USD", "outcome", title="bids")
    for bid in document["bids"]:
        bids.add_row(bid["digest"][:18], bid["bidder"] or "(sealed)", bid["status"],
                     f"{bid['deposit_micro_usd'] / 1e6:,.2f}",
                     f"{bid['payment_micro_usd'] / 1e6:,.2f}", bid["outcome"] or "")
    console.print(bids)
    if document["poster"]:
        console.print(f"result: {document['fills']} fills, welfare "
                      f"{document['welfare_micro_usd'] / 1e6:,.2f} USD, by {document['poster']}")


def _time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _times(deadlines: tuple[int, ...]) -> dict[str, str]:
    return dict(zip(("commit", "reveal", "post", "challenge"), map(_time, deadlines),
                    strict=True))


def _txs(receipts: list[TxReceipt]) -> list[str]:
    return [str(tx_summary(receipt)["tx"]) for receipt in receipts]
