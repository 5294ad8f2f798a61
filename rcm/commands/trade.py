"""`rcm trade`: futures traded on the futures exchange by signed orders. A holder signs a sell
order, or a buyer a buy order naming a future or criteria (any future of a round with at least a
quantity of an item), and posts it to the order relay (`rcm market serve`) or writes it to a
file; the other side fills it by its id or its file, and the USD and the future move in one
transaction."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rcm.commands import trade_relay
from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    as_json,
    report,
    sent_fields,
    wallet_on,
    with_tx,
)
from rcm.commands.trade_relay import DEFAULT_RELAY_URL

if TYPE_CHECKING:
    from rcm.sdk import SignedOrder
    from service.client import RelayClient
    from tokens.trade import OrderFile

app = typer.Typer(no_args_is_help=True,
                  help="Sell and buy futures on the futures exchange by signed orders.")

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
OrderArgument = Annotated[str, typer.Argument(
    metavar="ORDER", help="An order's id on the relay (0x-hex, or its first 8+ hex digits), "
                          "or a signed order file (`rcm trade sell|buy --out`).")]
RelayOption = Annotated[str | None, typer.Option(
    "--relay", envvar="RCM_RELAY",
    help=f"The order relay (`rcm market serve`); default {DEFAULT_RELAY_URL}.")]
Hours = Annotated[int, typer.Option(min=1, max=24 * 366, help="How long the order stands.")]
Out = Annotated[Path | None, typer.Option(
    dir_okay=False, help="Write the signed order here; it is posted to the relay only if "
                         "--relay (or $RCM_RELAY) is given too.")]
ORDER_ID = re.compile(r"(0x)?[0-9a-fA-F]{8,64}")


@app.command()
def sell(
    name: Name,
    future_id: Annotated[str, typer.Argument(
        help="Future id, 0x-hex as `rcm wallet futures` shows, or its first 8+ hex digits.")],
    price: Annotated[str, typer.Option("--price", help="USD the buyer pays.")],
    out: Out = None,
    relay: RelayOption = None,
    hours: Hours = 24,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Sign an order to sell a future (claimed or not) for --price USD and post it to the
    relay, or write it to --out, for a buyer to fill; lets the exchange move this wallet's
    futures first if it may not yet. Nothing else is sent."""
    from chain.amounts import amount_text
    from chain.times import utc_text
    from rcm.commands.tables import short

    wallet = wallet_on(name, rpc)
    client = _relay_to_post(out, relay)
    expires_at = wallet.market.system.chain.pending_timestamp() + hours * 3_600
    signed = wallet.sell(future_id, price, expires_at)
    file = signed.file
    _signed(name, signed, out, client, "let the exchange move this wallet's futures",
            f"signed an order to sell future {short(file.future)} for "
            f"{amount_text(file.price_micro_usd, 'usd')} USD until {utc_text(file.expires_at)}",
            "a buyer", json_out)


@app.command()
def buy(
    name: Name,
    price: Annotated[str, typer.Option("--price", help="USD this wallet pays.")],
    out: Out = None,
    relay: RelayOption = None,
    future_id: Annotated[str | None, typer.Argument(
        metavar="FUTURE", help="The future to buy, 0x-hex; or give --round, --item and "
                               "--min-qty for any future that meets them.")] = None,
    round_id: Annotated[int | None, typer.Option("--round", help="Criteria: the round.")] = None,
    item: Annotated[int | None, typer.Option(
        "--item", help="Criteria: the item's index in the round (`rcm round status`).")] = None,
    min_quantity: Annotated[int | None, typer.Option(
        "--min-qty", help="Criteria: at least this many units of the item.")] = None,
    hours: Hours = 24,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Sign an order to buy FUTURE, or any future of --round with at least --min-qty units of
    --item, for --price USD and post it to the relay, or write it to --out, for a holder to
    fill; approves the exchange for the price first if needed. Nothing else is sent."""
    from chain.amounts import amount_text
    from chain.times import utc_text
    from rcm.commands.tables import counted, short

    wallet = wallet_on(name, rpc)
    client = _relay_to_post(out, relay)
    expires_at = wallet.market.system.chain.pending_timestamp() + hours * 3_600
    signed = wallet.buy_future(future_id, round_id=round_id, item=item,
                               min_quantity=min_quantity, price_usd=price, expires_at=expires_at)
    file = signed.file
    wanted = (f"future {short(file.future)}" if file.future is not None else
              f"any future of round {file.round} with at least "
              f"{counted(file.min_quantity_units or 0, 'unit')} of item {file.item}")
    _signed(name, signed, out, client,
            f"approved the exchange for {amount_text(file.price_micro_usd, 'usd')} USD",
            f"signed an order to buy {wanted} for {amount_text(file.price_micro_usd, 'usd')} USD "
            f"until {utc_text(file.expires_at)}", "a holder", json_out)


def _relay_to_post(out: Path | None, relay: str | None) -> RelayClient | None:
    """The relay an order goes to: the one given, else the default one when no file is
    written; checked to answer before anything is signed or sent."""
    from service.client import RelayClient

    if relay is None and out is not None:
        return None
    client = RelayClient(relay or DEFAULT_RELAY_URL)
    client.health()
    return client


def _signed(name: str, signed: SignedOrder, out: Path | None, client: RelayClient | None,
            approved: str, message: str, taker: str, json_out: bool) -> None:
    """Writes the order file and posts the order, as asked, and reports where it went and how
    `taker` fills it, after the approval sent first if there was one."""
    document: dict[str, Any] = {"name": name, **signed.file.model_dump(exclude_none=True)}
    lines = [] if signed.approval is None else [with_tx(approved, signed.approval.tx)]
    fill_by = ""
    if out is not None:
        out.write_text(signed.file.text())
        document["file"] = str(out)
        message, fill_by = f"{message}, in {out}", str(out)
    if client is not None:
        posted = client.post_order(signed.file)
        document.update(order=posted.order, relay=client.url)
        message = f"{message}, posted to {client.url} as order {posted.order}"
        fill_by = posted.order[:10]
    if signed.approval is not None:
        document["approval"] = sent_fields(signed.approval)
    lines.append(f"{message}; {taker} runs `rcm trade fill NAME {fill_by}`")
    report(json_out, document, "\n".join(lines))


def _order(order: str, relay: str | None) -> Path | OrderFile:
    """ORDER as a file, else as an id the relay holds."""
    from service.client import RelayClient

    path = Path(order)
    if path.is_file():
        return path
    if not ORDER_ID.fullmatch(order):
        raise typer.BadParameter("is neither an order file nor an order id (0x-hex, 8+ digits)",
                                 param_hint="ORDER")
    return RelayClient(relay or DEFAULT_RELAY_URL).order(order).file


@app.command()
def fill(
    name: Name,
    order: OrderArgument,
    future_id: Annotated[str | None, typer.Option(
        "--future", help="For a buy order by criteria: which of this wallet's futures to sell "
                         "(else the one that meets them with the fewest units).")] = None,
    relay: RelayOption = None,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Take the other side of a signed order in one transaction: buy the future a sell order
    offers (approving the exchange for its price if needed), or sell this wallet's future to a
    buy order (letting the exchange move it if needed)."""
    from chain.amounts import amount_text
    from tokens import wallets

    wallet = wallet_on(name, rpc)
    done = wallet.fill(_order(order, relay), future_id)
    if done.buyer == wallet.address:
        said = (f"bought future {done.future} from {wallets.known_as(done.seller)} for "
                f"{amount_text(done.price_micro_usd, 'usd')} USD")
    else:
        fee = (f", less {amount_text(done.fee_micro_usd, 'usd')} USD fee"
               if done.fee_micro_usd else "")
        said = (f"sold future {done.future} to {wallets.known_as(done.buyer)} for "
                f"{amount_text(done.price_micro_usd, 'usd')} USD{fee}")
    report(json_out, {"name": name, **as_json(done)}, with_tx(said, done.sent.tx))


@app.command()
def cancel(name: Name, orders: Annotated[list[str], typer.Argument(
               metavar="ORDER...", help="Orders' ids on the relay, or signed order files.")],
           relay: RelayOption = None, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """Cancel open orders of this wallet, of either kind: one transaction per kind, sent once
    every order has passed its checks."""
    wallet = wallet_on(name, rpc)
    sent = wallet.cancel_orders([_order(order, relay) for order in orders])
    cancelled = ", ".join(orders)
    report(json_out, {"name": name, "orders": orders, "txs": [sent_fields(one) for one in sent]},
           "\n".join([f"cancelled {cancelled}"] + [f"tx {one.tx}" for one in sent]))


@app.command("cancel-all")
def cancel_all(name: Name, rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False
               ) -> None:
    """Cancel every order this wallet has signed; the orders it signs next carry the new
    counter."""
    moved = wallet_on(name, rpc).cancel_all_orders()
    report(json_out, {"name": name, "counter": moved.counter, **sent_fields(moved.sent)},
           with_tx(f"cancelled every order {name} has signed: its orders now carry counter "
                   f"{moved.counter}", moved.sent.tx))


app.command()(trade_relay.book)
app.command()(trade_relay.trades)
