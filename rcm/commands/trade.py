"""`rcm trade`: futures traded on the futures exchange by signed orders. A holder signs a sell
order into a file, or a buyer a buy order naming a future or criteria (any future of a round
with at least a quantity of an item); the other side fills it, and the USD and the future move
in one transaction. The order relay that will carry orders without files comes next
(docs/exchange.md)."""

from __future__ import annotations

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

if TYPE_CHECKING:
    from rcm.sdk import SignedOrder

app = typer.Typer(no_args_is_help=True,
                  help="Sell and buy futures on the futures exchange by signed orders.")

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
OrderPath = Annotated[Path, typer.Argument(
    exists=True, dir_okay=False, help="A signed order file (`rcm trade sell|buy --out`).")]


Hours = Annotated[int, typer.Option(min=1, max=24 * 366, help="How long the order stands.")]
Out = Annotated[Path, typer.Option(dir_okay=False, help="Write the signed order here.")]


@app.command()
def sell(
    name: Name,
    future_id: Annotated[str, typer.Argument(
        help="Future id, 0x-hex as `rcm wallet futures` shows, or its first 8+ hex digits.")],
    price: Annotated[str, typer.Option("--price", help="USD the buyer pays.")],
    out: Out,
    hours: Hours = 24,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Sign an order to sell a future (claimed or not) for --price USD, into the file --out
    that a buyer fills; lets the exchange move this wallet's futures first if it may not yet.
    Nothing else is sent."""
    from chain.amounts import amount_text
    from chain.times import utc_text
    from rcm.commands.tables import short

    wallet = wallet_on(name, rpc)
    expires_at = wallet.market.system.chain.pending_timestamp() + hours * 3_600
    signed = wallet.sell(future_id, price, expires_at)
    file = signed.file
    _signed(name, out, signed, "let the exchange move this wallet's futures",
            f"signed an order to sell future {short(file.future)} for "
            f"{amount_text(file.price_micro_usd, 'usd')} USD until {utc_text(file.expires_at)}, "
            f"in {out}: a buyer runs `rcm trade fill BUYER {out}`", json_out)


@app.command()
def buy(
    name: Name,
    price: Annotated[str, typer.Option("--price", help="USD this wallet pays.")],
    out: Out,
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
    --item, for --price USD, into the file --out that a holder fills; approves the exchange for
    the price first if needed. Nothing else is sent."""
    from chain.amounts import amount_text
    from chain.times import utc_text
    from rcm.commands.tables import short

    wallet = wallet_on(name, rpc)
    expires_at = wallet.market.system.chain.pending_timestamp() + hours * 3_600
    signed = wallet.buy_future(future_id, round_id=round_id, item=item,
                               min_quantity=min_quantity, price_usd=price, expires_at=expires_at)
    file = signed.file
    wanted = (f"future {short(file.future)}" if file.future is not None else
              f"any future of round {file.round} with at least {file.min_quantity_units} units "
              f"of item {file.item}")
    _signed(name, out, signed,
            f"approved the exchange for {amount_text(file.price_micro_usd, 'usd')} USD",
            f"signed an order to buy {wanted} for {amount_text(file.price_micro_usd, 'usd')} USD "
            f"until {utc_text(file.expires_at)}, in {out}: a holder runs "
            f"`rcm trade fill HOLDER {out}`", json_out)


def _signed(name: str, out: Path, signed: SignedOrder, approved: str, message: str,
            json_out: bool) -> None:
    """Writes the order file and reports it, with the approval sent first if there was one."""
    out.write_text(signed.file.text())
    document: dict[str, Any] = {"name": name, "file": str(out),
                                **signed.file.model_dump(exclude_none=True)}
    if signed.approval is not None:
        document["approval"] = sent_fields(signed.approval)
        message = with_tx(approved, signed.approval.tx) + "\n" + message
    report(json_out, document, message)


@app.command()
def fill(
    name: Name,
    order: OrderPath,
    future_id: Annotated[str | None, typer.Option(
        "--future", help="For a buy order by criteria: which of this wallet's futures to sell "
                         "(else the one that meets them with the fewest units).")] = None,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Take the other side of a signed order in one transaction: buy the future a sell order
    offers (approving the exchange for its price if needed), or sell this wallet's future to a
    buy order (letting the exchange move it if needed)."""
    from chain.amounts import amount_text
    from tokens import wallets

    wallet = wallet_on(name, rpc)
    done = wallet.fill(order, future_id)
    if done.buyer == wallet.address:
        said = (f"bought future {done.future} from {wallets.known_as(done.seller)} for "
                f"{amount_text(done.price_micro_usd, 'usd')} USD")
    else:
        said = (f"sold future {done.future} to {wallets.known_as(done.buyer)} for "
                f"{amount_text(done.price_micro_usd, 'usd')} USD, less "
                f"{amount_text(done.fee_micro_usd, 'usd')} USD fee")
    report(json_out, {"name": name, **as_json(done)}, with_tx(said, done.sent.tx))


@app.command()
def cancel(name: Name, order: OrderPath, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """Cancel one of this wallet's open orders, of either kind."""
    sent = wallet_on(name, rpc).cancel_order(order)
    report(json_out, {"name": name, "order": str(order), **sent_fields(sent)},
           with_tx(f"cancelled the order in {order}", sent.tx))


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
