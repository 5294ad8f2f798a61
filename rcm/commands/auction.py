"""`rcm auction`: clear and price a combinatorial auction from a JSON market or a CATS file,
explain one bid's outcome, and generate compute-market instances. The market packages are
imported inside the commands so that `rcm auction --help` stays instant."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chain.amounts import grouped
from rcm.commands.common import DEFAULT_RPC_URL, JsonOption, RpcOption
from rcm.commands.tables import counted

if TYPE_CHECKING:
    from market.model import Market
    from market.result import Clearing, PricedClearing
    from market.wdp import SolveParams

app = typer.Typer(no_args_is_help=True,
                  help="Clear combinatorial auctions and generate market instances.")

_QUIET_SECONDS = 1.0  # clears shorter than this print nothing on stderr


TimeLimit = Annotated[float, typer.Option(min=0.01, help="Seconds for the whole clear.")]
Workers = Annotated[int, typer.Option(min=1, help="CP-SAT workers.")]
Seed = Annotated[int, typer.Option(min=0, help="CP-SAT random seed.")]
LocalSearch = Annotated[bool, typer.Option(
    help="Improve CP-SAT's starting allocation by iterated local search first.")]
Portfolio = Annotated[bool, typer.Option(
    help="On big components and with 2 or more workers, race HiGHS (or, on the biggest, "
         "plain CP-SAT; where no solver will prove it, the local search) on one worker "
         "against the search and keep the best allocation.")]
Now = Annotated[int | None, typer.Option(help="Clearing time, unix seconds (default: now); "
                                             "bids expired by then lose.")]


@app.command()
def clear(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="A JSON market or a CATS file.")],
    time_limit: TimeLimit = 60.0,
    workers: Workers = os.cpu_count() or 1,
    seed: Seed = 0,
    now: Now = None,
    local_search: LocalSearch = False,
    portfolio: Portfolio = True,
) -> None:
    """Find the welfare-maximising allocation, price it with the Ethical Pricing Function
    (JSON markets; CATS files are cleared only) and print it as one JSON document, its amounts
    named for their unit as every --json document's are."""
    from market.readers import CatsAuction, read_instance
    from rcm.commands.common import print_json

    instance = read_instance(file)
    params = _params(time_limit, workers, seed, local_search=local_search,
                     portfolio=portfolio)
    if isinstance(instance, CatsAuction):
        print_json(_document(instance.in_file_terms(
            _cleared(instance.market, params, _clearing_time(now)))))
    else:
        print_json(_document(_priced(instance, params, now)))


@app.command()
def explain(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A JSON market.")],
    bid: Annotated[str, typer.Option(help="Id of the bid to explain.")],
    time_limit: TimeLimit = 60.0,
    workers: Workers = os.cpu_count() or 1,
    seed: Seed = 0,
    now: Now = None,
) -> None:
    """Clear and price the market, then show why one bid won or lost and what it pays,
    component by component."""
    from market.errors import MarketError
    from market.readers import CatsAuction, read_instance

    market = read_instance(file)
    if isinstance(market, CatsAuction):
        raise MarketError(f"{file}: explain needs a JSON market; CATS files are not priced")
    if bid not in {entry.id for entry in market.bids}:
        raise MarketError(f"--bid: no bid {bid!r} in {file}")
    _print_explanation(market, _priced(market, _params(time_limit, workers, seed), now), bid)


def _params(time_limit: float, workers: int, seed: int, **options: bool) -> SolveParams:
    from market.wdp import SolveParams  # the solver stack loads only once the input is good

    return SolveParams(time_limit=time_limit, workers=workers, seed=seed, **options)


def _cleared(market: Market, params: SolveParams, now: int) -> Clearing:
    from market.wdp import clear as clear_market

    return clear_market(market, now, params, progress=_progress_on_stderr())


def _priced(market: Market, params: SolveParams, now: int | None) -> PricedClearing:
    from market.pricing import price

    at = _clearing_time(now)
    return price(market, _cleared(market, params, at), at)


@app.command()
def run(
    round_id: Annotated[int, typer.Option("--round", min=1, help="The round's id.")],
    time_limit: TimeLimit = 60.0,
    workers: Workers = os.cpu_count() or 1,
    seed: Seed = 0,
    wallet: Annotated[str, typer.Option(help="The auctioneer's wallet.")] = "governance",
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Clear a round from its revealed bids and asks on chain under the policy it pinned, price
    it, and post the allocation with the solver's claim in batches that fit a block. The result
    is saved before posting and reused, so running it again after a failure posts only what is
    missing. Payments become binding when the oracle quorum prices the round (`rcm round
    price`)."""
    from market.round_book import read_book
    from market.settlement import clear_round, load_result, post, save_result
    from rcm.commands.common import open_wallet, print_json, tx_summary

    params = _params(time_limit, workers, seed)
    system, account = open_wallet(wallet, rpc)
    book = read_book(system, round_id)
    result = load_result(system, round_id)
    if result is None:
        result = clear_round(book, params, say=_progress_on_stderr())
        save_result(system, round_id, result)
    receipts = post(system, account, book, result)
    sent = tx_summary(receipts)
    if json_out:
        print_json({"round": round_id, **sent, **_document(result)})
        return
    _print_run(round_id, result, {"0x" + digest.hex(): record.bidder
                                  for digest, record in book.records.items()}, sent["tx"])


def _print_run(round_id: int, result: PricedClearing, bidders: dict[str, str],
               tx: list[str]) -> None:
    """The summary and the transactions that posted it, then every bid's outcome and what each
    winner is expected to pay: the payments the quorum will sign if it prices the round as this
    machine did."""
    from rcm.commands.common import report, with_tx
    from rcm.commands.tables import account, short, table
    from tokens.wallets import names_by_address

    report(False, {}, with_tx(
        f"round {round_id}: {result.status}, {counted(len(result.allocation), 'winner')}, "
        f"welfare {_cents(result.welfare)} USD; posted in {counted(len(tx), 'transaction')}"
        + (" (already on chain)" if result.allocation and not tx else ""), tx))
    names = names_by_address()
    pays = {payment.winner: _cents(payment.total) for payment in result.payments}
    rows = [[short(fill.bid), account(bidders.get(fill.bid), names),
             f"won bundle {fill.bundle}", pays[fill.bid]] for fill in result.allocation]
    rows += [[short(loss.bid), account(bidders.get(loss.bid), names),
              f"lost: {loss.reason} — {loss.detail}", ""] for loss in result.losing]
    if rows:
        typer.echo("\n" + table(["bid", "bidder", "outcome", "pays USD"], rows, right={3},
                                 title="Bids, and the payments this machine expects the "
                                       "oracle quorum to sign: they bind once `rcm round "
                                       "price` has put its signatures on chain"))


@app.command()
def generate(
    bids: Annotated[int, typer.Option(min=1, help="Number of bids.")],
    regions: Annotated[int, typer.Option(min=1, help="Number of regions.")] = 3,
    slots: Annotated[int, typer.Option(min=1, help="Number of delivery slots.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same file.")]
    = 0,
    out: Annotated[Path | None, typer.Option(dir_okay=False, help="Write here, not stdout.")]
    = None,
) -> None:
    """Write a seeded compute-market instance as JSON: GPU, power and storage bundles across
    regions and slots, with mixed risk ratings, ε budgets and equity classes."""
    from market.generate import generate_market

    text = generate_market(bids, regions, slots, seed).model_dump_json(indent=1,
                                                                       exclude_none=True)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")


def _print_explanation(market: Market, result: PricedClearing, bid_id: str) -> None:
    """What a buyer asks after a round: did I win, what for, what do I pay and why."""
    from market.pricing import budget_share
    from market.result import Component
    from rcm.commands.tables import paragraph, table

    bid = next(entry for entry in market.bids if entry.id == bid_id)
    weights = market.policy.pricing
    fill = next((fill for fill in result.allocation if fill.bid == bid_id), None)
    if fill is None:
        loss = next(loss for loss in result.losing if loss.bid == bid_id)
        typer.echo(paragraph(f"{bid_id} ({bid.buyer}) lost: {loss.reason} — {loss.detail}"))
        costs = [sum(result.item_prices[item] * units for item, units in bundle.items.items())
                 for bundle in bid.bundles]
        rows = [[str(number), _cents(bundle.value), _cents(cost),
                 _cents(max(cost - bundle.value, 0))]
                for number, (bundle, cost) in enumerate(zip(bid.bundles, costs, strict=True))]
        typer.echo("\n" + table(["bundle", "value", "cost at the round's prices", "short by"],
                                 rows, title="Its bundles at the round's item prices (USD)",
                                 right={1, 2, 3}))
        return
    payment = next(payment for payment in result.payments if payment.winner == bid_id)
    value = bid.bundles[fill.bundle].value
    typer.echo(paragraph(f"{bid_id} ({bid.buyer}) won bundle {fill.bundle}, worth "
                         f"{_cents(value)} USD to it; it pays {_cents(payment.total)} USD and "
                         f"keeps {_cents(value - payment.total)} USD of surplus."))
    items = [[item, str(units), _cents(result.item_prices[item]),
              _cents(result.item_prices[item] * units)] for item, units in fill.items.items()]
    typer.echo("\n" + table(["item", "units", "price per unit", "subtotal"], items,
                             title="What it buys (USD)", right={1, 2, 3}))
    share = budget_share(market, bid)
    remaining = market.remaining_budget_micros.get(bid.dataset or "")
    adjustment = payment.components[Component.EQUITY]
    rating = market.rating(bid)
    why = {
        Component.SUPPLY_DEMAND: "item prices × units: the least that keeps outbid bundles out, "
                                 "never below the providers' reserve prices",
        Component.PRIVACY_RISK: (
            f"ε {bid.epsilon_micros / 1e6:g} of {bid.dataset or 'no dataset'}'s "
            + (f"{remaining / 1e6:g} left" if remaining else "budget (unknown: taken as all)")
            + f" → {float(share) * 100:.3g} % of {weights.privacy_bps / 100:g} %"),
        Component.SAFETY_RISK: f"risk {bid.risk_bps:,} bps ({rating} band): "
                               f"{float(market.policy.safety_rate_bps(bid.risk_bps)) / 100:.3g} %",
        Component.EQUITY: (f"{bid.equity_class} discount, up to "
                           f"{weights.equity_discount_bps / 100:g} %, funded by the round's levy"
                           if adjustment < 0 else "levy funding the round's equity discounts"
                           if adjustment > 0 else "none"),
    }
    rows = [[component.value, _cents(amount), why[component]]
            for component, amount in payment.components.items()]
    rows.append(["total", _cents(payment.total),
                 "premiums capped so the total never exceeds the bundle's value"])
    typer.echo("\n" + table(["component", "USD", "why"], rows,
                             title="What it pays, to the cent", right={1}))


# The clearing result's amounts, all micro-USD; --json documents name each for its unit.
_MICRO_USD_FIELDS = {"welfare", "bound", "item_prices", "competitive_violation", "total",
                     "components"}


def _document(result: Clearing) -> dict[str, Any]:
    """A clearing result as `clear` prints it and `run --json` reports it."""
    return _in_units(result.model_dump(mode="json", exclude_none=True))


def _in_units(data: Any) -> Any:
    if isinstance(data, dict):
        return {f"{key}_micro_usd" if key in _MICRO_USD_FIELDS else key: _in_units(value)
                for key, value in data.items()}
    if isinstance(data, list):
        return [_in_units(value) for value in data]
    return data


def _clearing_time(now: int | None) -> int:
    return int(time.time()) if now is None else now


def _progress_on_stderr() -> Callable[[str], None]:
    """Progress lines, as every human line: wrapped to 80 columns. The portfolio's members say
    theirs from two threads: each line is one write, under a lock, so none cuts into another."""
    from rcm.commands.tables import paragraph

    started = time.monotonic()
    one_at_a_time = threading.Lock()

    def say(message: str) -> None:
        elapsed = time.monotonic() - started
        if elapsed >= _QUIET_SECONDS:
            with one_at_a_time:
                sys.stderr.write(paragraph(f"[{elapsed:6.1f}s] {message}") + "\n")
                sys.stderr.flush()

    return say


def _cents(micros: int) -> str:
    """An amount to the cent, as the round commands show welfare and payments: the pricing
    function's shares of a dollar run to the micro-USD (13,070.333333), which a person reads as
    13,070.33; `clear` and --json have them exact."""
    return grouped(micros, "usd")
