"""`rcm testnet`: a local Hardhat node with the system deployed. TEST-ONLY keys throughout:
the node's accounts come from Hardhat's public test mnemonic."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import typer

from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    load_system,
    print_json,
    report,
    tx_summary,
)

app = typer.Typer(no_args_is_help=True, help="Run a local Hardhat node with the system deployed.")


@app.command()
def start(
    port: Annotated[int | None, typer.Option(
        min=1, max=65535,
        help="Port on 127.0.0.1. Default: the port of $RCM_RPC when it is local, else 8545.",
    )] = None,
    json_out: JsonOption = False,
) -> None:
    """Start a Hardhat node in the background, deploy the system, write the manifest."""
    from chain import testnet
    from chain.connection import connect
    from chain.deploy import deploy_system
    from chain.keystore import read_password
    from chain.manifest import manifest_path
    from market.onchain import launch_policy
    from tokens import wallets

    has_governance = "governance" in dict(wallets.names())
    password = None if has_governance else read_password("governance", confirm=True)
    url = testnet.start(port=port or _local_rpc_port())
    try:
        chain = connect(url)
        governance = chain.dev_account(0)
        system = deploy_system(chain, governance, policy=launch_policy())
    except BaseException:
        testnet.stop()
        raise
    if password is not None:
        wallets.create("governance", password, bytes(governance.key))
    data = {
        "rpc": url,
        "chain_id": chain.chain_id,
        "manifest": str(manifest_path(chain.chain_id)),
        "governance_wallet": "governance",
        "contracts": {n: c.address for n, c in system.manifest.contracts.items()},
    }
    if json_out:
        print_json(data)
    else:
        typer.echo(f"testnet running at {url} (chain id {chain.chain_id})")
        typer.echo(f"manifest {data['manifest']}")
        typer.echo("its accounts come from Hardhat's public test mnemonic: TEST-ONLY keys;")
        typer.echo("account #0 holds the governance roles and is the wallet 'governance'")


def _local_rpc_port() -> int:
    """The port every other command will look for the node on ($RCM_RPC's, else the config
    file's), when that names this machine."""
    from chain.config import default_rpc

    url = urlsplit(default_rpc())
    if url.hostname in ("127.0.0.1", "localhost") and url.port:
        return url.port
    return 8545


@app.command()
def fund(
    name: Annotated[str, typer.Argument(help="Wallet name or 0x address.")],
    cst: Annotated[str | None, typer.Option(help="Whole CST to mint.")] = None,
    usd: Annotated[str | None, typer.Option(help="Whole test USD to mint.")] = None,
    eth: Annotated[str, typer.Option(help="ETH to send for gas.")] = "10",
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Mint demo CST and test USD and send ETH to a wallet (local chains only)."""
    from chain.amounts import amount_text, to_units
    from tokens import operations, wallets

    cst_units = to_units(cst, "cst", "--cst") if cst else 0
    usd_units = to_units(usd, "usd", "--usd") if usd else 0
    eth_units = to_units(eth, "eth", "--eth")
    recipient = wallets.resolve_recipient(name, "name")
    system = load_system(rpc)
    receipts = operations.fund(system, system.chain.dev_account(0), recipient, cst_units,
                               usd_units, eth_units)
    data = {"address": recipient, "cst_wei": cst_units, "usd_micro_usd": usd_units,
            "eth_wei": eth_units, **tx_summary(receipts)}
    if json_out:
        print_json(data)
    else:
        typer.echo(f"funded {recipient}: {amount_text(cst_units, 'cst')} CST, "
                   f"{amount_text(usd_units, 'usd')} USD, {amount_text(eth_units, 'eth')} ETH")


@app.command()
def advance(
    seconds: Annotated[int, typer.Argument(min=1, help="Seconds to move chain time forward.")],
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Move chain time forward (for unbonding delays and round windows)."""
    from chain.connection import connect
    from chain.times import duration_text, utc_text

    timestamp = connect(rpc).advance_time(seconds)
    report(json_out, {"timestamp": timestamp},
           f"moved chain time {duration_text(seconds)} forward: it is now {utc_text(timestamp)}")


@app.command()
def stop() -> None:
    """Stop the node `rcm testnet start` started (and no other)."""
    from chain import testnet

    typer.echo(f"stopped the testnet at {testnet.stop()}")
