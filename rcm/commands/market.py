"""`rcm market`: what the market's prices have been — an item's price history from auction
clearing and exchange trades, and the price index of each resource and region — read from the
chain's logs, or with --relay from the market service's index of them: the same documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rcm.commands import market_serve
from rcm.commands.common import DEFAULT_RPC_URL, JsonOption, RpcOption, load_system, print_json
from rcm.commands.tables import counted, paragraph, table

if TYPE_CHECKING:
    from market.prices import IndexPoint
    from service.models import ItemPricesPublic

app = typer.Typer(no_args_is_help=True,
                  help="The market service (order relay), price history and the price index.")
app.command()(market_serve.serve)

ItemArgument = Annotated[str, typer.Argument(
    help="An item: its label (kind-region-slot-tier, as `rcm round status --json` labels "
         "it), or ROUND:INDEX, its index in a round.")]
RelayOption = Annotated[str | None, typer.Option(
    "--relay", envvar="RCM_RELAY",
    help="Read from the market service (`rcm market serve`) at this URL, which indexes the "
         "chain, instead of the chain's logs (--rpc is then unused); the answer is the same.")]


@app.command()
def prices(item: ItemArgument, rpc: RpcOption = DEFAULT_RPC_URL, relay: RelayOption = None,
           json_out: JsonOption = False) -> None:
    """An item's prices, oldest first: each round's final clearing price (the oracle quorum's)
    and each trade's price on the futures exchange, per unit."""
    from service.models import ItemPricesPublic, PriceRecordPublic

    if relay is not None:
        from service.client import RelayClient

        found = RelayClient(relay).item_prices(item)
    else:
        from rcm.sdk import Market

        history = Market(load_system(rpc)).price_history()
        label = history.label_of(item)
        found = ItemPricesPublic(item=label, prices=[PriceRecordPublic.of(point)
                                                     for point in history.series(label)])
    if json_out:
        print_json(found.model_dump())
    else:
        _print_prices(found)


@app.command()
def index(
    resource: Annotated[str | None, typer.Argument(
        help="gpu, power or storage; every resource priced if none.")] = None,
    region: Annotated[str | None, typer.Argument(
        help="A region, as asks name it; every region priced if none.")] = None,
    rpc: RpcOption = DEFAULT_RPC_URL,
    relay: RelayOption = None,
    json_out: JsonOption = False,
) -> None:
    """The price index per unit of each resource and region over time: the auction's clearing
    prices, moved at most 10 % by the median of the week's trades, wash trades left out
    (docs/prices.md)."""
    from service.models import PriceIndexPublic

    if relay is not None:
        from service.client import RelayClient

        found = RelayClient(relay).price_index(resource, region)
    else:
        from market.prices import DEFAULT_WINDOW_SECONDS
        from rcm.sdk import Market

        found = PriceIndexPublic(window_seconds=DEFAULT_WINDOW_SECONDS,
                                 index=Market(load_system(rpc)).price_index(resource, region))
    if json_out:
        print_json(found.model_dump())
    else:
        _print_index(found.index)


def _print_prices(found: ItemPricesPublic) -> None:
    rows = [[_time(p.timestamp), str(p.round), p.source, _usd(p.price_per_unit_micro_usd),
             f"{p.quantity_units:,}"] for p in found.prices]
    typer.echo(table(["time (UTC)", "round", "source", "USD per unit", "units"], rows,
                     title=f"{found.item}: {counted(len(rows), 'price')}", right={1, 3, 4}))


def _print_index(series: list[IndexPoint]) -> None:
    """One table per resource and region; the trades' median is in --json."""
    markets = sorted({(p.resource, p.region) for p in series})
    for number, (resource, region) in enumerate(markets):
        rows = [[_time(p.timestamp), _usd(p.index_micro_usd), _usd(p.clearing_micro_usd),
                 f"{p.trade_count:,}", f"{p.excluded_trade_count:,}"]
                for p in series if (p.resource, p.region) == (resource, region)]
        typer.echo(("\n" if number else "") + table(
            ["time (UTC)", "index USD", "clearing USD", "trades", "wash"], rows,
            title=f"{resource} in {region}, per unit", right={1, 2, 3, 4}))
    typer.echo(("\n" + paragraph(
        "index: the week's clearing price moved a fifth of the way toward the median of its "
        "trades, at most 10 %; wash trades left out")) if series else "no prices yet")


def _time(timestamp: int) -> str:
    from chain.times import utc_text

    return utc_text(timestamp)[:16]


def _usd(micros: int) -> str:
    """To the cent: a trade's share of a bundle's price per unit has fractions of one
    (`--json` has it exact)."""
    from chain.amounts import grouped

    return grouped(micros, "usd")
