"""`rcm market`: what the market's prices have been — an item's price history from auction
clearing and exchange trades, and the price index of each resource and region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from rcm.commands import market_serve
from rcm.commands.common import DEFAULT_RPC_URL, JsonOption, RpcOption, load_system, print_json
from rcm.commands.tables import counted, paragraph, table

if TYPE_CHECKING:
    from market.prices import IndexPoint, PricePoint

app = typer.Typer(no_args_is_help=True,
                  help="The market service (order relay), price history and the price index.")
app.command()(market_serve.serve)

ItemArgument = Annotated[str, typer.Argument(
    help="An item: its label (kind-region-slot-tier, as `rcm round status --json` labels "
         "it), or ROUND:INDEX, its index in a round.")]


@app.command()
def prices(item: ItemArgument, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """An item's prices, oldest first: each round's final clearing price (the oracle quorum's)
    and each trade's price on the futures exchange, per unit."""
    from rcm.sdk import Market

    market = Market(load_system(rpc))
    history = market.price_history()
    label = history.label_of(item)
    points = history.series(label)
    if json_out:
        print_json({"item": label, "prices": [_price_document(point) for point in points]})
    else:
        _print_prices(label, points)


@app.command()
def index(
    resource: Annotated[str | None, typer.Argument(
        help="gpu, power or storage; every resource priced if none.")] = None,
    region: Annotated[str | None, typer.Argument(
        help="A region, as asks name it; every region priced if none.")] = None,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """The price index per unit of each resource and region over time: the auction's clearing
    prices, moved at most 10 % by the median of the week's trades, wash trades left out
    (docs/prices.md)."""
    from market.prices import DEFAULT_WINDOW_SECONDS
    from rcm.sdk import Market

    series = Market(load_system(rpc)).price_index(resource, region)
    if json_out:
        print_json({"window_seconds": DEFAULT_WINDOW_SECONDS,
                    "index": [_index_document(point) for point in series]})
    else:
        _print_index(series)


def _print_prices(label: str, points: list[PricePoint]) -> None:
    rows = [[_time(p.timestamp), str(p.round_id), p.source.value,
             _usd(p.price_per_unit_micro_usd), f"{p.units:,}"] for p in points]
    typer.echo(table(["time (UTC)", "round", "source", "USD per unit", "units"], rows,
                     title=f"{label}: {counted(len(points), 'price')}", right={1, 3, 4}))


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


def _price_document(point: PricePoint) -> dict[str, Any]:
    return {"round": point.round_id, "timestamp": point.timestamp,
            "source": point.source.value,
            "price_per_unit_micro_usd": point.price_per_unit_micro_usd,
            "quantity_units": point.units, "future": _hex(point.future),
            "order_hash": _hex(point.order_hash), "seller": point.seller, "buyer": point.buyer}


def _index_document(point: IndexPoint) -> dict[str, Any]:
    return {"resource": point.resource, "region": point.region, "timestamp": point.timestamp,
            "index_micro_usd": point.index_micro_usd,
            "clearing_micro_usd": point.clearing_micro_usd,
            "trade_median_micro_usd": point.trade_median_micro_usd,
            "trade_count": point.trade_count,
            "excluded_trade_count": point.excluded_trade_count}


def _hex(raw: bytes | None) -> str | None:
    return None if raw is None else "0x" + raw.hex()


def _time(timestamp: int) -> str:
    from chain.times import utc_text

    return utc_text(timestamp)[:16]


def _usd(micros: int) -> str:
    """To the cent: a trade's share of a bundle's price per unit has fractions of one
    (`--json` has it exact)."""
    from chain.amounts import grouped

    return grouped(micros, "usd")
