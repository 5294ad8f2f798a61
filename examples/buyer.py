"""A buyer that bids for the same job in every round, reveals its bids and takes its change.

Each run looks at every round on the chain and does what the round's phase calls for:

- commit, and no bid of this wallet yet: it bids for the job its strategy file describes, one
  bundle per provider and slot whose posted asks cover every item the job needs at no more
  than the strategy's prices (the auction fills at most one of them);
- reveal: it reveals its committed bids (they lose their deposit's forfeit if it does not);
- and when the rounds owe it money (lost deposits, a winner's change), it withdraws it.

It prints one line per action. Run it from cron, or every minute with `watch -n 60`:

    python examples/buyer.py lab examples/strategy.toml

The signed bids are kept under $RCM_HOME until they are revealed: reveal from the machine
that bid. The wallet needs USD for the deposits (the most it pays) and free CST stake for the
bids' risk (`rcm wallet stake lab 480`).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import rcm

if TYPE_CHECKING:
    from market.round_book import Book, PostedAsk


@dataclass(frozen=True)
class Want:
    """One item the job needs; region, slot and tier left out match any."""

    kind: str
    quantity: int
    max_price_usd: Decimal
    region: str | None = None
    slot: int | None = None  # the slot's start, UNIX seconds
    tier: str | None = None

    def matches(self, posted: PostedAsk) -> bool:
        ask = posted.ask
        return (ask.resource == self.kind and self.region in (None, ask.region)
                and self.tier in (None, ask.tier_name)
                and self.slot in (None, ask.slot_start_timestamp)
                and ask.capacity >= self.quantity
                and ask.reserve_price_micro_usd <= self.max_price_usd * 10**6)


@dataclass(frozen=True)
class Strategy:
    wants: list[Want]
    terms: dict[str, Any]  # the bid's terms: declaration, purpose, equity class, dataset, ε, δ

    @classmethod
    def read(cls, path: Path) -> Strategy:
        document = tomllib.loads(path.read_text())
        known = {f.name for f in fields(Want)}
        for i, item in enumerate(document.get("items", [])):
            if unknown := sorted(set(item) - known):
                raise ValueError(f"items[{i}]: unknown key(s) {', '.join(unknown)}")
        wants = [Want(**{**item, "max_price_usd": Decimal(str(item["max_price_usd"])),
                         "slot": _timestamp(str(item["slot"])) if "slot" in item else None})
                 for item in document.pop("items")]
        if not wants:
            raise ValueError("items: the job needs at least one item")
        terms = dict(document)
        if "declaration" in terms:
            terms["declaration"] = str(path.parent / terms["declaration"])
        if "epsilon" in terms:
            terms["epsilon_micros"] = int(Decimal(str(terms.pop("epsilon"))) * 10**6)
        return cls(wants, terms)

    def bundles(self, book: Book) -> list[dict[str, Any]]:
        """One bundle per provider and slot that has every wanted item: a bundle is one
        provider's (its enclave runs the job) and the job needs its items at the same time."""
        groups: dict[tuple[str, int], list[PostedAsk]] = {}
        for posted in book.asks:
            groups.setdefault((posted.provider, posted.ask.slot_start_timestamp), []).append(posted)
        value = sum(w.quantity * w.max_price_usd for w in self.wants) * 10**6
        bundles = []
        for asks in groups.values():
            items: dict[str, int] = {}
            for want in self.wants:
                fits = [a for a in asks if want.matches(a) and str(a.item) not in items]
                if not fits:
                    break
                cheapest = min(fits, key=lambda a: a.ask.reserve_price_micro_usd)
                items[str(cheapest.item)] = want.quantity
            else:
                bundles.append({"items": items, "value": int(value)})
        return bundles[:256]


def run_once(market: rcm.Market, wallet: rcm.Wallet, strategy: Strategy) -> None:
    for view in market.rounds():
        r, phase, mine = view.round_id, view.phase, wallet.committed(view.round_id)
        if phase is rcm.Phase.COMMIT and not mine:
            bundles = strategy.bundles(market.book(r))
            if not bundles:
                say(f"round {r}: no posted asks fit the strategy")
                continue
            placed = wallet.bid(r, {**strategy.terms, "bundles": bundles})
            say(f"round {r}: bid {placed.digest[:18]} with {len(bundles)} bundle(s), deposit "
                f"{usd(placed.deposit_micro_usd)}, stake {placed.stake_wei / 10**18:g} CST")
        elif phase is rcm.Phase.REVEAL and mine:
            waiting = {"0x" + d.hex() for d in market.book(r).unrevealed()}
            if waiting & set(mine):
                for revealed in wallet.reveal(r):
                    say(f"round {r}: revealed {revealed.digest[:18]}")
    if wallet.owed():
        # One withdrawal takes what every round owes.
        say(f"withdrew {usd(wallet.withdraw().usd_micro_usd)}")


def say(line: str) -> None:
    print(line, flush=True)


def usd(micro_usd: int) -> str:
    return f"{micro_usd / 10**6:,.2f} USD"


def fail(message: object) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _timestamp(slot: str) -> int:
    start = datetime.fromisoformat(slot)
    return int((start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wallet", help="the buyer's wallet (under $RCM_HOME)")
    parser.add_argument("strategy", type=Path, help="what to bid for (TOML)")
    parser.add_argument("--rpc", help="the chain (default: $RCM_RPC, else the local testnet)")
    args = parser.parse_args()
    try:
        strategy = Strategy.read(args.strategy)
    except KeyError as exc:
        fail(f"{args.strategy}: missing {exc}")
    except (OSError, TypeError, ValueError, ArithmeticError) as exc:
        fail(f"{args.strategy}: {exc}")
    try:
        market = rcm.Market.connect(args.rpc)
        wallet = market.wallet(args.wallet)
        run_once(market, wallet, strategy)
    except rcm.RcmError as exc:
        fail(exc)


if __name__ == "__main__":
    main()
