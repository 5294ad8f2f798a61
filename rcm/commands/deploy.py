"""`rcm deploy`: deploy the whole system to a chain and write its manifest."""

from __future__ import annotations

from typing import Annotated

import typer

from rcm.commands.common import DEFAULT_RPC_URL, JsonOption, RpcOption, print_json

app = typer.Typer(help="Deploy the whole system and write the deployment manifest.")


@app.command()
def deploy(
    from_: Annotated[str, typer.Option("--from", help="Governance wallet name.")],
    payment_token: Annotated[
        str | None, typer.Option(help="Payment token address (USDC); TestUSD on local chains.")
    ] = None,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Deploy every contract from the governance wallet and write the manifest
    $RCM_HOME/deployments/<chain-id>.json."""
    from chain.addresses import parse_address
    from chain.connection import connect
    from chain.deploy import deploy_system
    from chain.keystore import read_password
    from chain.manifest import manifest_path
    from market.onchain import launch_policy
    from tokens import wallets

    token = parse_address(payment_token, "payment_token") if payment_token else None
    wallets.address_of(from_)
    governance = wallets.unlock(from_, read_password(from_))
    chain = connect(rpc)
    system = deploy_system(chain, governance, token, policy=launch_policy())
    data = {
        "chain_id": chain.chain_id,
        "manifest": str(manifest_path(chain.chain_id)),
        "contracts": {n: c.address for n, c in system.manifest.contracts.items()},
    }
    if json_out:
        print_json(data)
    else:
        typer.echo(f"deployed to chain {chain.chain_id}; manifest {data['manifest']}")
