"""`rcm wallet futures|claim|transfer-future|redeem`: a wallet's compute futures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    act,
    load_system,
    print_json,
)
from rcm.commands.tables import counted, item_text, paragraph

if TYPE_CHECKING:
    from tokens.futures import FutureView

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
FutureId = Annotated[str, typer.Argument(help="Future id, 0x-hex as `rcm wallet futures` shows, "
                                                "or its first 8 or more hex digits.")]


def futures(name: Name, rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """This wallet's futures: won, held and redeemed.

    Each with its round, the won bundle's items, ε, risk, payment and status (unclaimed, held,
    redeemed, settled or voided)."""
    from tokens import wallets
    from tokens.futures import futures as list_futures

    address = wallets.address_of(name)
    views = list_futures(load_system(rpc), address)
    if json_out:
        print_json([v.model_dump() for v in views])
    else:
        _print_futures(name, address, views)


def _print_futures(name: str, address: str, views: list[FutureView]) -> None:
    """Each future's id whole, on a line of its own: `claim`, `transfer-future` and `redeem`
    take it; each item as so many of its unit, then what it is as `round status` names it; its
    dataset's id as `budget register` prints it, without the leading zeros."""
    from chain.amounts import amount_text, epsilon_text
    from chain.times import duration_text, utc_text

    lines = [f"{name} {address}: {counted(len(views), 'future')}"]
    for v in views:
        lines += ["", v.id, f"  round {v.round}, {v.status}"]
        for i in v.items:
            slot = f"{utc_text(i.slot_starts_at)[:16]} UTC + {duration_text(i.slot_seconds)}"
            lines.append(f"  {i.quantity_units:,} {i.unit} ({item_text(i.kind, i.region, i.tier)}, "
                         f"slot {slot}, item {i.item})")
        dataset = hex(int(v.dataset, 16)) if v.dataset else "none"
        lines.append(f"  ε {epsilon_text(v.epsilon_micro_eps)} of dataset {dataset}, "
                     f"risk {v.risk_bps:,} bps, payment "
                     f"{amount_text(v.payment_micro_usd, 'usd')} USD")
    typer.echo("\n".join(map(paragraph, lines)))


def claim(
    name: Name,
    future_ids: Annotated[list[str], typer.Argument(
        help="Future ids won by this wallet, or their first 8 or more hex digits.")],
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Mint won futures as ERC-1155 tokens to this wallet, so they can move before delivery."""
    act(name, rpc, json_out, lambda w: w.claim(future_ids),
        f"claimed {counted(len(future_ids), 'future')}")


def transfer_future(
    name: Name,
    to: Annotated[str, typer.Argument(help="Recipient: a wallet name or a 0x address.")],
    future_id: FutureId,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Send a future to another account (claims it first if still unclaimed)."""
    from tokens import wallets

    recipient = wallets.resolve_recipient(to)
    act(name, rpc, json_out, lambda w: w.transfer_future(recipient, future_id),
        lambda done: f"sent future {done.futures[0]} to {wallets.known_as(str(done.to))}")


def redeem(
    name: Name,
    future_id: FutureId,
    declaration: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False,
        help="The workload declaration (JSON, as in a bid) of the job this wallet will run; "
             "default: the one the future's bid declared, for its bidder.")] = None,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Redeem a future into a policy-oracle job that runs the workload `--declaration`
    describes; the bidder may leave it out to run the job it bid for.

    The job must score at most the future's risk under its round's rubric (`rcm risk assess`),
    for the purpose the future bought. A holder who is not the bidder backs the job with its
    own free stake, as much as the vault's `requiredStake` for the future's risk (see `rcm
    wallet stake`)."""
    act(name, rpc, json_out, lambda w: w.redeem(future_id, declaration),
        lambda done: f"redeemed future {done.futures[0]}: its job is open with the oracle, "
                     f"committed to declaration {done.declaration}")


def register(app: typer.Typer) -> None:
    """Adds these commands to `rcm wallet`."""
    app.command()(futures)
    app.command()(claim)
    app.command("transfer-future")(transfer_future)
    app.command()(redeem)
