"""The on-chain half of `rcm oracle`: register the set, submit a quorum verdict."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    load_system,
    print_json,
    report,
    tx_summary,
    with_tx,
)

if TYPE_CHECKING:
    from chain.signer import Signer

From = Annotated[str, typer.Option("--from", help="Wallet that signs the transaction.")]


def _unlock(name: str) -> Signer:
    from chain.keystore import read_password
    from tokens import wallets

    wallets.address_of(name)
    return wallets.unlock(name, read_password(name))


def register(
    directory: Annotated[Path, typer.Argument(help="The directory `rcm oracle init` wrote.")],
    from_: From,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Set the node set and threshold on PolicyOracle (governance) and write the chain id,
    the contract and the configuration digest into every node's TOML. Restart the nodes."""
    from oracle.registration import node_config_paths, register_oracle_set

    node_config_paths(directory)
    governance = _unlock(from_)
    registered = register_oracle_set(load_system(rpc), governance, directory)
    data = {
        "config_digest": registered.config_digest,
        "signers": registered.signers,
        "threshold": registered.threshold,
        "configs": [str(p) for p in registered.configs],
        **tx_summary(registered.receipt),
    }
    report(json_out, data, with_tx(
        f"registered {len(registered.signers)} signers, k = {registered.threshold}\n"
        f"config digest {registered.config_digest}; (re)start the nodes to sign under it",
        data["tx"]))


def _job_id(text: str) -> bytes:
    from oracle.errors import MalformedEvidence

    raw = text.removeprefix("0x")
    if not text.startswith("0x") or len(raw) != 64:
        raise MalformedEvidence(f"job: expected a 0x-prefixed 32-byte hex id, got {text!r}")
    try:
        return bytes.fromhex(raw)
    except ValueError:
        raise MalformedEvidence(f"job: {text!r} is not hexadecimal") from None


def submit(
    file: Annotated[Path, typer.Argument(help="An attestation written by `rcm enclave attest`.")],
    nodes: Annotated[str, typer.Option(help="Comma-separated node URLs.")],
    from_: From,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Post the attestation to every node (a 409 still yields that node's stored verdict),
    collect k matching signatures and submit the verdict to PolicyOracle."""
    from chain.contract import ZERO_ADDRESS
    from chain.policy_oracle import consumer_of, is_decided
    from oracle.attestation import Attestation
    from oracle.errors import MalformedEvidence, OracleError
    from oracle.quorum import settle

    try:
        body = file.read_bytes()
    except OSError as exc:
        raise MalformedEvidence(f"FILE: {exc.strerror}: {file}") from None
    try:
        attestation = Attestation.model_validate_json(body)
    except ValueError as exc:
        raise MalformedEvidence(f"FILE: not an attestation ({str(exc).splitlines()[0]})") from None
    urls = [url.strip() for url in nodes.split(",") if url.strip()]
    if not urls:
        raise OracleError("--nodes: give at least one node URL")
    sender = _unlock(from_)
    system = load_system(rpc)
    job_id = _job_id(attestation.evidence.job)
    if consumer_of(system, job_id) == ZERO_ADDRESS:
        raise OracleError(f"job: {attestation.evidence.job} is not open on-chain")
    if is_decided(system, job_id):
        raise OracleError(f"job: {attestation.evidence.job} already has a verdict on-chain")
    quorum, receipt = settle(system, sender, body, urls)
    data = {
        "job": quorum.public.job,
        "verdict": quorum.public.verdict,
        "fault": quorum.public.fault,
        "clauses": [clause.id for clause in quorum.public.clauses],
        "signers": [signer for signer, _ in quorum.signatures],
        **tx_summary(receipt),
    }
    if json_out:
        print_json(data)
        return
    clauses = ", ".join(data["clauses"]) or "none failed"  # type: ignore[arg-type]
    typer.echo(f"{data['verdict']} ({clauses}; fault {data['fault']}) for job {data['job']}")
    typer.echo(f"signed by {', '.join(data['signers'])}; tx {data['tx']}")  # type: ignore[arg-type]
