"""A provider that offers its capacity in every round.

Each run looks at every round on the chain; in each one that is in its commit phase and holds
no ask of this wallet yet, it posts one ask per line of the capacity sheet and prints the items
the round numbered them. Run it from cron, or every minute with `watch -n 60`:

    python examples/provider.py acme examples/capacity.csv

The sheet is a CSV with the columns kind, region, slot, slot_seconds, tier, unit, capacity and
reserve_price_usd (USD per unit). The round's policy holds a bond per unit offered (10 CST
under the launch policy), so bond enough first: `rcm wallet bond acme 180`.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import rcm


def fail(message: object) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def read_sheet(path: Path) -> list[dict[str, Any]]:
    """The sheet's lines as ask entries (the shape of an ask file's `asks`)."""
    with path.open(newline="") as sheet:
        return [{"kind": row["kind"], "region": row["region"], "slot": row["slot"],
                 "slot_seconds": int(row["slot_seconds"]), "tier": row["tier"],
                 "unit": row["unit"], "capacity": int(row["capacity"]),
                 "reserve_price": int(Decimal(row["reserve_price_usd"]) * 10**6)}
                for row in csv.DictReader(sheet)]


def slot_end(ask: dict[str, Any]) -> int:
    start = datetime.fromisoformat(ask["slot"])
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    return int(start.timestamp()) + ask["slot_seconds"]


def run_once(market: rcm.Market, wallet: rcm.Wallet, sheet: list[dict[str, Any]]) -> None:
    for view in market.rounds():
        if view.phase.name != "COMMIT":
            continue
        book = market.book(view.round_id)
        if any(posted.provider == wallet.address for posted in book.asks):
            continue
        # A slot that has already ended can never be delivered: the chain refuses it.
        asks = [ask for ask in sheet if slot_end(ask) > market.now()]
        if not asks:
            continue
        posted = wallet.post_asks(view.round_id, asks)
        for item, ask in zip(posted.items, asks, strict=True):
            print(f"round {view.round_id}: item {item} is {ask['capacity']} {ask['unit']} of "
                  f"{ask['kind']} in {ask['region']} from {ask['slot']} ({ask['tier']}), "
                  f"reserve {ask['reserve_price'] / 10**6:,.2f} USD per unit", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wallet", help="the provider's wallet (under $RCM_HOME)")
    parser.add_argument("sheet", type=Path, help="the capacity sheet (CSV)")
    parser.add_argument("--rpc", help="the chain (default: $RCM_RPC, else the local testnet)")
    args = parser.parse_args()
    try:
        sheet = read_sheet(args.sheet)
    except KeyError as exc:
        fail(f"{args.sheet}: no column {exc}")
    except (OSError, TypeError, ValueError, ArithmeticError) as exc:
        fail(f"{args.sheet}: {exc}")
    try:
        market = rcm.Market.connect(args.rpc)
        wallet = market.wallet(args.wallet)
        run_once(market, wallet, sheet)
    except rcm.RcmError as exc:
        fail(exc)


if __name__ == "__main__":
    main()
