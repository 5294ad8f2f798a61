"""`rcm wallet`: keystores, balances, transfers, stake and reputation bonds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from chain.amounts import UNITS, amount_text, epsilon_text
from chain.times import utc_text
from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    act,
    as_json,
    load_system,
    print_json,
    report,
    sent_fields,
    wallet_on,
    with_tx,
)
from rcm.commands.tables import account, counted, table

if TYPE_CHECKING:
    from rcm.sdk import CstMove, Transfer
    from tokens.history import Entry
    from tokens.operations import Balances

app = typer.Typer(no_args_is_help=True, help="Keystores, balances, transfers, stake and bonds.")

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
Amount = Annotated[str, typer.Argument(help="Whole tokens; decimals allowed, e.g. 12.5.")]


@app.command()
def new(name: Name, json_out: JsonOption = False) -> None:
    """Create a wallet with a fresh key, encrypted with RCM_PASSWORD_<NAME>, RCM_PASSWORD or a
    prompted password."""
    from chain.keystore import read_password
    from tokens import wallets

    address = wallets.create(name, read_password(name, confirm=True))
    report(json_out, {"name": name, "address": address}, f"created wallet {name}: {address}")


@app.command("import")
def import_(
    name: Name,
    key_file: Annotated[
        typer.FileText | None, typer.Option("--key-file", help="File holding a hex private key.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Import an existing private key (from --key-file, or typed at a hidden prompt)."""
    from chain.keystore import read_password
    from tokens import wallets

    text = key_file.read() if key_file else typer.prompt("private key", hide_input=True)
    key = wallets.parse_private_key(text)
    address = wallets.create(name, read_password(name, confirm=True), key)
    report(json_out, {"name": name, "address": address}, f"imported wallet {name}: {address}")


@app.command("list")
def list_(json_out: JsonOption = False) -> None:
    """List wallets and their addresses."""
    from tokens import wallets

    rows = [{"name": n, "address": a} for n, a in wallets.names()]
    if json_out:
        print_json(rows)
    else:
        _print_wallets(rows)


def _print_wallets(rows: list[dict[str, str]]) -> None:
    typer.echo(table(["name", "address"], [[row["name"], row["address"]] for row in rows]))


@app.command()
def balance(name: Name, rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """ETH, CST, USD; CST staked, locked and bonded; USD the clearing house holds for you
    (credit: refunds and proceeds that your next bids draw on first)."""
    from tokens import wallets
    from tokens.operations import balances

    address = wallets.address_of(name)
    held = balances(load_system(rpc), address)
    if json_out:
        print_json(held.model_dump())
    else:
        _print_balance(name, address, held)


def _print_balance(name: str, address: str, held: Balances) -> None:
    rows = [[field, amount_text(getattr(held, f"{field}_{UNITS[token]}"), token)]
            for field, token in (
        ("eth", "eth"),
        ("cst", "cst"),
        ("usd", "usd"),
        ("staked", "cst"),
        ("locked", "cst"),
        ("bonded", "cst"),
        ("bond_locked", "cst"),
        ("unbonding", "cst"),
        ("credit", "usd"),
    )]
    typer.echo(table(["", "amount"], rows, title=f"{name} {address}", right={1}))
    if held.unbonding_ready_at is not None:
        typer.echo(f"unbonding CST is withdrawable from {utc_text(held.unbonding_ready_at)}")


@app.command()
def history(name: Name, rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """What the chain records of the wallet, oldest first: CST and USD in and out, stake and
    bond, bids, futures and ε budgets, each with its block, time and transaction."""
    from tokens import wallets
    from tokens.history import history as read_history

    address = wallets.address_of(name)
    entries = read_history(load_system(rpc), address)
    if json_out:
        print_json([entry.model_dump() for entry in entries])
    else:
        _print_history(name, address, entries)


def _print_history(name: str, address: str, entries: list[Entry]) -> None:
    from tokens.history import mint_or_burn
    from tokens.wallets import names_by_address

    names = names_by_address()
    rows = [[str(entry.block), utc_text(entry.timestamp)[:16], entry.what,
             _amount_text(entry.amount, entry.unit),
             mint_or_burn(entry) or account(entry.counterparty, names)]
            for entry in entries]
    # Each transaction whole (it is what people copy), under the last entry it made: no column
    # beside the others has the 66 characters it needs.
    below = [f"tx {entry.tx}" if following is None or following.tx != entry.tx else ""
             for entry, following in zip(entries, [*entries[1:], None], strict=True)]
    typer.echo(table(["block", "time (UTC)", "what", "amount", "with"], rows,
                     title=f"{name} {address}", right={3}, below=below))


def _amount_text(amount: int | None, unit: str | None) -> str:
    from tokens.history import CST_WEI, MICRO_EPS, MICRO_USD

    if amount is None:
        return ""
    if unit == CST_WEI:
        return f"{amount_text(amount, 'cst')} CST"
    if unit == MICRO_USD:
        return f"{amount_text(amount, 'usd')} USD"
    if unit == MICRO_EPS:
        return f"{epsilon_text(amount)} ε"
    return counted(amount, "future")  # unit FUTURES


@app.command()
def transfer(
    name: Name,
    to: Annotated[str, typer.Argument(help="Recipient: a wallet name or a 0x address.")],
    amount: Amount,
    token: Annotated[str, typer.Option(help="cst, usd or eth.")] = "cst",
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Send CST (default), USD or ETH."""
    from tokens import wallets

    recipient = wallets.resolve_recipient(to)
    act(name, rpc, json_out, lambda w: w.transfer(recipient, amount, token),
        lambda done: f"sent {amount_text(done.amount, done.token)} {done.token.upper()} to "
                     f"{wallets.known_as(recipient)}", _transferred)


def _transferred(done: Transfer) -> dict[str, Any]:
    return {"from": done.sender, "to": done.to, "asset": done.token,
            f"amount_{UNITS[done.token]}": done.amount, **sent_fields(done.sent)}


def _add_amount_command(verb: str, past: str, doc: str) -> None:
    """stake, unstake, bond and unbond take the same arguments and differ only in the call."""

    def command(
        name: Name, amount: Amount, rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False
    ) -> None:
        act(name, rpc, json_out, lambda w: getattr(w, verb)(amount),
            lambda done: f"{past} {amount_text(done.amount_wei, 'cst')} CST"
                         f"{_withdrawable(name, done)}")

    command.__doc__ = doc
    app.command(verb)(command)


def _withdrawable(name: str, done: CstMove) -> str:
    """When an unbond's CST can be withdrawn: all that is unbonding, the delay having restarted."""
    if done.unbonding_ready_at is None or done.unbonding_wei is None:
        return ""
    unbonding = amount_text(done.unbonding_wei, "cst")
    whole = "" if done.unbonding_wei == done.amount_wei else f"all {unbonding} CST unbonding "
    return (f"; {whole}withdrawable from {utc_text(done.unbonding_ready_at)} "
            f"(`rcm wallet withdraw {name}`)")


for _verb, _past, _doc in (
    ("stake", "staked", "Stake CST as free stake that jobs can lock."),
    ("unstake", "unstaked", "Take free (unlocked) stake back."),
    ("bond", "bonded", "Post a long-term reputation bond."),
    ("unbond", "started unbonding", "Start unbonding: says when `rcm wallet withdraw` can take "
                                    "the CST back, after the vault's delay (which restarts for "
                                    "all CST unbonding)."),
):
    _add_amount_command(_verb, _past, _doc)


@app.command()
def withdraw(name: Name, rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """Withdraw USD the rounds owe you (refunds, change, proceeds) and CST whose unbonding
    delay has passed."""
    done = wallet_on(name, rpc).withdraw()
    report(json_out, {"name": name, **as_json(done)},
           with_tx(f"withdrew {amount_text(done.usd_micro_usd, 'usd')} USD and "
                   f"{amount_text(done.cst_wei, 'cst')} unbonded CST",
                   [sent.tx for sent in done.sent]))


def _register_market_commands() -> None:
    """Asks and bids, futures, the agent and budgets: each family in its own module."""
    from rcm.commands import agent, budget, futures, orders

    orders.register(app)
    futures.register(app)
    agent.register(app)
    app.add_typer(budget.app, name="budget")


_register_market_commands()
