"""`rcm oracle`: set up and run policy oracle nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chain.keystore import read_password
from oracle.config import DEFAULT_BASE_PORT, DEFAULT_CHAIN_ID, init_oracle_dir, read_node_config
from rcm.commands import oracle_chain
from rcm.commands.tables import paragraph, table

app = typer.Typer(
    no_args_is_help=True, help="Policy oracle nodes: init, serve, register, submit verdicts."
)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write keys, policies and configs.")],
    trust_root: Annotated[
        list[Path], typer.Option(help="Provider root certificate (PEM) to trust; repeatable.")
    ],
    nodes: Annotated[int, typer.Option(min=1, help="Number of nodes n.")] = 3,
    threshold: Annotated[
        int, typer.Option(min=1, help="Signatures k a verdict needs on-chain.")
    ] = 2,
    base_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Node i listens on BASE_PORT + i.")
    ] = DEFAULT_BASE_PORT,
    chain_id: Annotated[
        int, typer.Option(min=1, help="Chain id of the verdicts' EIP-712 domain.")
    ] = DEFAULT_CHAIN_ID,
) -> None:
    """Create n node keys (encrypted with RCM_PASSWORD or a prompted password), example
    policies of the four stakeholders, and DIRECTORY/node-<i>.toml for each node."""
    configs = init_oracle_dir(
        directory,
        nodes=nodes,
        threshold=threshold,
        trust_roots=trust_root,
        password=lambda: read_password(confirm=True),
        base_port=base_port,
        chain_id=chain_id,
    )
    # The config's path would leave the address and the URL no room in 80 columns: the
    # node's name is its file's stem, said once below.
    rows = [[config.name, config.address, f"http://{config.host}:{config.port}"]
            for config in configs]
    typer.echo(table(["node", "address", "serves on"], rows))
    typer.echo(paragraph(f"configs in {directory / '<node>.toml'}, policies in "
                         f"{directory / 'policies'}; threshold {threshold} of {nodes}"))


@app.command()
def serve(
    config: Annotated[Path, typer.Option(help="A node-<i>.toml written by `rcm oracle init`.")],
    host: Annotated[str | None, typer.Option(help="Default: the config's host.")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Default: the config's port.")
    ] = None,
    rpc: Annotated[str | None, typer.Option(
        "--rpc", envvar="RCM_RPC",
        help="JSON-RPC URL of the chain the node reads: it judges a job that redeemed a future "
             "against what the future bought, and prices rounds (POST /rounds/{round}/prices); "
             "without it the node holds every job to its buyer's file and prices none.")] = None,
) -> None:
    """Run one node: POST /attestations, GET /verdicts/{job}, POST /rounds/{round}/prices,
    /health, /metrics, /openapi.json. The node key's password comes from RCM_PASSWORD or a
    prompt."""
    import uvicorn

    from oracle.node.app import create_app
    from oracle.node.service import load_node
    from rcm.pricer import rpc_reads

    node_config = read_node_config(config)
    reads = rpc_reads(rpc) if rpc else None
    node = load_node(node_config, read_password(), reads.price if reads else None,
                     reads.future if reads else None)
    bind_host, bind_port = host or node_config.host, port or node_config.port
    typer.echo(paragraph(f"{node_config.name} ({node.account.address}) serving on "
                         f"http://{bind_host}:{bind_port}"), err=True)
    try:
        uvicorn.run(
            create_app(node), host=bind_host, port=bind_port, log_level="warning", access_log=False
        )
    finally:
        node.store.close()


# The on-chain half: register the set, submit a quorum verdict.
app.command()(oracle_chain.register)
app.command()(oracle_chain.submit)
