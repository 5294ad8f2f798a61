"""`rcm trade`: futures sold on the futures exchange by signed orders. A holder signs a sell
order into a file; a buyer fills it, and the USD and the future move in one transaction. The
order relay that will carry orders without files comes next (docs/exchange.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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

app = typer.Typer(no_args_is_help=True,
                  help="Sell and buy futures on the futures exchange by signed orders.")

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
OrderPath = Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                           help="A signed order file (`rcm trade sell --out`).")]


@app.command()
def sell(
    name: Name,
    future_id: Annotated[str, typer.Argument(
        help="Future id, 0x-hex as `rcm wallet futures` shows, or its first 8+ hex digits.")],
    price: Annotated[str, typer.Option("--price", help="USD the buyer pays.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Write the signed order here.")],
    hours: Annotated[int, typer.Option(min=1, max=24 * 366,
                                       help="How long the order stands.")] = 24,
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
    out.write_text(signed.text())
    report(json_out, {"name": name, "file": str(out), **signed.model_dump(exclude_none=True)},
           f"signed an order to sell future {short(signed.future)} for "
           f"{amount_text(signed.price_micro_usd, 'usd')} USD until "
           f"{utc_text(signed.expires_at)}, in {out}: a buyer runs `rcm trade fill BUYER {out}`")


@app.command()
def fill(name: Name, order: OrderPath, rpc: RpcOption = DEFAULT_RPC_URL,
         json_out: JsonOption = False) -> None:
    """Buy the future a signed sell order offers: pay its price (approving the exchange for it
    if needed) and receive the future, in one transaction."""
    from chain.amounts import amount_text
    from tokens import wallets

    done = wallet_on(name, rpc).fill(order)
    report(json_out, {"name": name, **as_json(done)},
           with_tx(f"bought future {done.future} from {wallets.known_as(done.seller)} for "
                   f"{amount_text(done.price_micro_usd, 'usd')} USD", done.sent.tx))


@app.command()
def cancel(name: Name, order: OrderPath, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """Cancel one of this wallet's open orders."""
    sent = wallet_on(name, rpc).cancel_order(order)
    report(json_out, {"name": name, "order": str(order), **sent_fields(sent)},
           with_tx(f"cancelled the order in {order}", sent.tx))


@app.command("cancel-all")
def cancel_all(name: Name, rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False
               ) -> None:
    """Cancel every order this wallet has signed."""
    sent = wallet_on(name, rpc).cancel_all_orders()
    report(json_out, {"name": name, **sent_fields(sent)},
           with_tx(f"cancelled every order {name} has signed", sent.tx))


app.command()(trade_relay.book)
app.command()(trade_relay.trades)
