"""A data owner that sells the ε budget of its dataset a tranche at a time.

The first run registers the dataset (by the SHA-256 of its file) with its total ε, its per-job
δ cap and the purposes it consents to; the whole ε budget is minted to this wallet. Every run
then keeps an offer up: once buyers have taken the whole standing offer, it offers the next
tranche at the price, until all it holds (less what it keeps) is sold. It prints one line per
action. Run it from cron, or every minute with `watch -n 60`:

    python examples/data_owner.py owner cohort.csv --epsilon 10 --delta 1e-5 \\
        --purpose diagnostics --tranche 2 --price 3

Buyers take an offer with `rcm wallet budget buy BUYER DATASET owner EPSILON --price 3`, and
spend the ε in their bids on the dataset.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import rcm

if TYPE_CHECKING:
    from tokens.budgets import DatasetView

MICRO = 10**6  # ε on chain is in micro-ε, prices in micro-USD


def find(wallet: rcm.Wallet, content_hash: str) -> DatasetView | None:
    return next((d for d in wallet.datasets()
                 if d.owner == wallet.address and d.content_hash == content_hash), None)


def run_once(wallet: rcm.Wallet, args: argparse.Namespace) -> None:
    content_hash = "0x" + hashlib.sha256(args.file.read_bytes()).hexdigest()
    dataset = find(wallet, content_hash)
    if dataset is None:
        registered = wallet.register_dataset(
            file=args.file, epsilon=args.epsilon, delta=args.delta, purposes=args.purpose,
            total_delta=args.total_delta, categories=args.category)
        say(f"registered dataset {registered.dataset}: {args.epsilon} ε, δ ≤ "
            f"{args.delta} a job, for {', '.join(args.purpose)}")
        dataset_id, held, offered = registered.dataset, registered.epsilon_micro_eps, 0
    else:
        dataset_id, held, offered = dataset.id, dataset.held_micro_eps, dataset.offer_micro_eps
    if offered:
        return
    for_sale = held - int(args.keep * MICRO)
    tranche = min(int(args.tranche * MICRO), for_sale)
    if tranche <= 0:
        return
    wallet.offer(dataset_id, Decimal(tranche) / MICRO, args.price)
    say(f"offered {Decimal(tranche) / MICRO} ε of dataset {dataset_id} at {args.price} "
        f"USD/ε ({Decimal(for_sale - tranche) / MICRO} ε to offer after it)")


def say(line: str) -> None:
    print(line, flush=True)


def fail(message: object) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wallet", help="the data owner's wallet (under $RCM_HOME)")
    parser.add_argument("file", type=Path, help="the dataset: its SHA-256 identifies it")
    parser.add_argument("--epsilon", type=Decimal, required=True, help="total ε budget")
    parser.add_argument("--delta", type=Decimal, required=True, help="the most δ one job spends")
    parser.add_argument("--total-delta", type=Decimal,
                        help="the most δ all jobs spend (default: 100 jobs at --delta)")
    parser.add_argument("--purpose", action="append", required=True,
                        help="a purpose the data may be used for (repeat for more)")
    parser.add_argument("--category", action="append", default=[],
                        help="sensitive data it holds (health, genomic, biometric, financial); "
                             "repeat; none: public data")
    parser.add_argument("--tranche", type=Decimal, required=True, help="ε per offer")
    parser.add_argument("--price", type=Decimal, required=True, help="USD per ε")
    parser.add_argument("--keep", type=Decimal, default=Decimal(0), help="ε never offered")
    parser.add_argument("--rpc", help="the chain (default: $RCM_RPC, else the local testnet)")
    args = parser.parse_args()
    if not args.file.is_file():
        fail(f"{args.file}: no such file")
    try:
        wallet = rcm.Market.connect(args.rpc).wallet(args.wallet)
        run_once(wallet, args)
    except rcm.RcmError as exc:
        fail(exc)


if __name__ == "__main__":
    main()
