"""`rcm wallet budget`: register datasets, grant, sell, buy and list privacy budgets (ε)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chain.amounts import amount_text
from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    act,
    as_json,
    load_system,
    print_json,
    report,
    wallet_on,
    with_tx,
)
from rcm.commands.tables import account, short, table

if TYPE_CHECKING:
    from rcm.sdk import BudgetTrade
    from tokens.budgets import DatasetView

app = typer.Typer(
    no_args_is_help=True, help="Privacy budgets: register datasets, grant, sell, buy, list."
)

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
Dataset = Annotated[str, typer.Argument(help="Dataset id, decimal or 0x-hex, or the first 8 or "
                                              "more hex digits of a registered one's.")]
Epsilon = Annotated[str, typer.Argument(help="ε, decimals allowed (micro-ε precision).")]
PriceUsd = Annotated[str, typer.Option("--price", help="USD per whole ε.")]


@app.command()
def register(
    name: Name,
    epsilon: Annotated[str, typer.Option("--epsilon", help="Total ε budget.")],
    delta: Annotated[str, typer.Option("--delta", help="Per-job δ cap, e.g. 1e-5.")],
    purposes: Annotated[
        list[str], typer.Option("--purpose", help="A purpose the data owner consents to; repeat.")
    ],
    file: Annotated[
        Path | None,
        typer.Option("--file", help="The dataset; its content hash is the file's SHA-256."),
    ] = None,
    content_hash: Annotated[
        str | None, typer.Option("--content-hash", help="0x and 64 hex digits, instead of --file.")
    ] = None,
    total_delta: Annotated[
        str | None,
        typer.Option(
            "--total-delta",
            help="Total δ of all jobs; each is charged the per-job cap. Default 100 × --delta.",
        ),
    ] = None,
    categories: Annotated[
        list[str] | None,
        typer.Option("--category", help="Sensitive data it holds: health, genomic, biometric or "
                                        "financial; repeat. None: public data. Every job on it "
                                        "must declare them."),
    ] = None,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Register a dataset: total ε, per-job and total δ, consented purposes, the sensitive
    data it holds.

    The whole ε budget is minted to this wallet. Every job on the dataset is charged the per-job
    δ cap of the total δ, so the default total lets 100 jobs run. Prints the dataset id."""
    from tokens.budgets import delta_text
    from tokens.errors import TokensError

    if (file is None) == (content_hash is None):
        raise TokensError("give exactly one", field="--file / --content-hash")
    done = wallet_on(name, rpc).register_dataset(
        epsilon=epsilon, delta=delta, purposes=purposes, content_hash=content_hash, file=file,
        total_delta=total_delta, categories=categories or [])
    report(json_out, {"name": name, **as_json(done)},
           with_tx(f"registered dataset {hex(int(done.dataset, 16))} with {epsilon} ε and "
                   f"δ {delta_text(done.total_delta_atto)}, at most {delta} per job",
                   done.sent.tx))


@app.command()
def grant(
    name: Name,
    dataset: Dataset,
    to: Annotated[str, typer.Argument(help="Recipient: a wallet name or a 0x address.")],
    epsilon: Epsilon,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Give ε of a dataset's budget to another account (an ERC-1155 transfer)."""
    from tokens import wallets

    recipient = wallets.resolve_recipient(to)
    act(name, rpc, json_out, lambda w: w.grant(dataset, recipient, epsilon),
        lambda done: f"granted {epsilon} ε of {_id(done.dataset)} to "
                     f"{wallets.known_as(str(done.to))}")


@app.command()
def sell(
    name: Name,
    dataset: Dataset,
    epsilon: Annotated[str, typer.Argument(help="ε offered; 0 withdraws the offer.")],
    price_usd: Annotated[str | None, typer.Option("--price", help="USD per whole ε.")] = None,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Offer ε of a dataset's budget at a fixed price; 0 withdraws the offer.

    A new offer replaces the last. The budget stays in the wallet until someone buys."""
    def said(done: BudgetTrade) -> str:
        if done.epsilon_micro_eps:
            price = amount_text(done.price_micro_usd or 0, "usd")
            return f"offered {epsilon} ε of {_id(done.dataset)} at {price} USD per ε"
        return f"withdrew the offer on {_id(done.dataset)}"

    act(name, rpc, json_out, lambda w: w.offer(dataset, epsilon, price_usd), said)


@app.command()
def buy(
    name: Name,
    dataset: Dataset,
    seller: Annotated[str, typer.Argument(help="The seller: a wallet name or a 0x address.")],
    epsilon: Epsilon,
    price_usd: PriceUsd,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Buy ε from a seller's offer at the price you saw.

    Approves the payment token first if needed; a price that changed is refused."""
    from tokens import wallets

    address = wallets.resolve_recipient(seller, "seller")
    act(name, rpc, json_out, lambda w: w.buy(dataset, address, epsilon, price_usd),
        lambda done: f"bought {epsilon} ε of {_id(done.dataset)} from "
                     f"{wallets.known_as(str(done.seller))} for "
                     f"{amount_text(done.cost_micro_usd or 0, 'usd')} USD")


def _id(dataset: str) -> str:
    """A dataset id as people type it: 0x-hex without its leading zeros."""
    return hex(int(dataset, 16))


@app.command("list")
def list_(name: Name, rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """Datasets this wallet registered or received budget of.

    Total, held, reserved (for committed bids, all holders) and consumed ε, the δ budget, the
    consented purposes and this wallet's offer."""
    from tokens import budgets, wallets

    address = wallets.address_of(name)
    views = budgets.datasets(load_system(rpc), address)
    if json_out:
        print_json([v.model_dump() for v in views])
    else:
        _print_datasets(name, address, views)


def _print_datasets(name: str, address: str, views: list[DatasetView]) -> None:
    from tokens import budgets
    from tokens.wallets import names_by_address

    eps = budgets.epsilon_text
    names = names_by_address()
    rows = []
    for v in views:
        owner = "this wallet" if v.owner == address else account(v.owner, names)
        purposes = ", ".join(short(p) if p.startswith("0x") else p for p in v.purposes)
        delta = budgets.delta_text
        lines = [
            _id(v.id),
            f"owner: {owner}",
            f"purposes: {purposes}",
            f"data: {', '.join(v.categories) or 'public'}",
            f"δ: {delta(v.total_delta_atto)} in all, {delta(v.max_delta_atto)} per job",
            f"δ consumed: {delta(v.consumed_delta_atto)}, reserved: {delta(v.reserved_delta_atto)}",
        ]
        if v.offer_micro_eps:
            price = amount_text(v.offer_price_micro_usd, "usd")
            lines.append(f"offered: {eps(v.offer_micro_eps)} ε at {price} USD/ε")
        rows.append(["\n".join(lines), eps(v.total_micro_eps), eps(v.held_micro_eps),
                     eps(v.reserved_micro_eps), eps(v.consumed_micro_eps)])
    typer.echo(table(["dataset", "total", "held", "reserved", "consumed"], rows,
                     title=f"{name} {address}: ε per dataset", right={1, 2, 3, 4}))
