"""`rcm trade book|trades`: what the order relay lists — an item's live orders with their
depth, and the exchange's fills."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

from rcm.commands.common import JsonOption, print_json
from rcm.commands.tables import account, counted, short, table
from tokens.wallets import names_by_address

if TYPE_CHECKING:
    from service.models import BookPublic, EntryPublic, TradePublic

DEFAULT_RELAY_URL = "http://127.0.0.1:8800"
TOP_SHOWN = 5

RelayOption = Annotated[str, typer.Option("--relay", envvar="RCM_RELAY",
                                          help="URL of the order relay (`rcm market serve`).")]
ItemOption = Annotated[int, typer.Option("--item", min=0, max=2**16 - 1,
                                         help="The round's item (its index among its asks).")]
RoundOption = Annotated[int, typer.Option("--round", min=1, max=2**32 - 1,
                                          help="The round's id.")]


def book(item: ItemOption, round_id: RoundOption, relay: RelayOption = DEFAULT_RELAY_URL,
         json_out: JsonOption = False) -> None:
    """The live orders for an item of a round: bids (buy orders for the round's futures that
    deliver it, and bids by criteria) and asks (sell orders of those futures), price levels
    best first, and the best orders with their ids."""
    from service.client import RelayClient

    found = RelayClient(relay).book(item, round_id)
    if json_out:
        print_json(found.model_dump())
    else:
        typer.echo(_book_text(found))


def trades(item: Annotated[int | None, typer.Option(
               "--item", min=0, max=2**16 - 1, help="Only futures delivering this item.")] = None,
           round_id: Annotated[int | None, typer.Option(
               "--round", min=1, max=2**32 - 1, help="Only futures of this round.")] = None,
           relay: RelayOption = DEFAULT_RELAY_URL, json_out: JsonOption = False) -> None:
    """The exchange's last 100 fills, newest first, as the relay indexed them."""
    from service.client import RelayClient

    found = RelayClient(relay).trades(item, round_id)
    if json_out:
        print_json([trade.model_dump() for trade in found])
    else:
        typer.echo(_trades_text(found))


def _usd(micro_usd: int | None) -> str:
    from chain.amounts import amount_text

    return "" if micro_usd is None else amount_text(micro_usd, "usd")


def _book_text(found: BookPublic) -> str:
    title = (f"round {found.round} item {found.item}: best bid "
             f"{_usd(found.best_bid_micro_usd) or 'none'}, best ask "
             f"{_usd(found.best_ask_micro_usd) or 'none'} (USD)")
    depth = max(len(found.bids), len(found.asks))
    rows = []
    for index in range(depth):
        bid = found.bids[index] if index < len(found.bids) else None
        ask = found.asks[index] if index < len(found.asks) else None
        rows.append([str(bid.order_count) if bid else "", f"{bid.quantity_units:,}" if bid else "",
                     _usd(bid.price_micro_usd) if bid else "",
                     _usd(ask.price_micro_usd) if ask else "",
                     f"{ask.quantity_units:,}" if ask else "", str(ask.order_count) if ask else ""])
    ladder = table(["orders", "units", "bid USD", "ask USD", "units", "orders"], rows, title,
                   right=range(6))
    best = [("bid", e) for e in found.top_bids[:TOP_SHOWN]] + [
        ("ask", e) for e in found.top_asks[:TOP_SHOWN]]
    if not best:
        return f"{ladder}\nno live orders"
    names = names_by_address()
    return f"{ladder}\n\n" + table(
        ["order", "side", "USD", "units", "future", "maker"],
        [_entry_row(side, entry, names) for side, entry in best],
        "best orders (each id's first digits; --json has them whole)",
        right=(2, 3))


def _entry_row(side: str, entry: EntryPublic, names: Mapping[str, str]) -> list[str]:
    return [entry.order[:10], side, _usd(entry.price_micro_usd), f"{entry.quantity_units:,}",
            short(entry.future) if entry.future else "any", account(entry.maker, names)]


def _trades_text(found: list[TradePublic]) -> str:
    from chain.times import utc_text

    if not found:
        return "no trades"
    names = names_by_address()
    return table(["when", "future", "USD", "seller", "buyer"],
                 [[utc_text(t.timestamp), short(t.future), _usd(t.price_micro_usd),
                   account(t.seller, names), account(t.buyer, names)] for t in found],
                 counted(len(found), "trade"), right=(2,))
