"""Collect each node's verdict on one attestation and pick k that agree: what a submitter
posts to PolicyOracle. Every signature is recovered here first, so nothing the chain would
refuse is sent."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chain.eip712 import Domain
from chain.verdict import Verdict, recover_verdict_signer
from oracle.errors import OracleError
from oracle.node.models import FAULT_NAMES, ReplayPublic, VerdictPublic

FAULTS = {name: fault for fault, name in FAULT_NAMES.items()}


class NoQuorum(OracleError):
    check = "quorum"


@dataclass(frozen=True)
class NodeAnswer:
    url: str
    verdict: VerdictPublic | None
    error: str | None = None


@dataclass(frozen=True)
class Quorum:
    verdict: Verdict
    public: VerdictPublic
    signatures: list[tuple[str, bytes]]


def _ask(url: str, body: bytes, timeout: float) -> NodeAnswer:
    import httpx

    try:
        response = httpx.post(
            f"{url.rstrip('/')}/attestations",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        return NodeAnswer(url, None, f"unreachable ({type(exc).__name__})")
    if response.status_code == 201:
        return NodeAnswer(url, VerdictPublic.model_validate_json(response.content))
    if response.status_code == 409:  # judged before: the node serves the verdict it signed
        return NodeAnswer(url, ReplayPublic.model_validate_json(response.content).verdict)
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return NodeAnswer(url, None, f"{response.status_code}: {detail}")


def collect(body: bytes, urls: list[str], timeout: float = 10.0) -> list[NodeAnswer]:
    """POSTs the attestation to every node at once; one answer per node, in `urls` order."""
    with ThreadPoolExecutor(max_workers=max(1, len(urls))) as pool:
        return list(pool.map(lambda url: _ask(url, body, timeout), urls))


def as_verdict(public: VerdictPublic) -> Verdict:
    return Verdict(
        job_id=bytes.fromhex(public.job.removeprefix("0x")),
        compliant=public.verdict == "compliant",
        fault=FAULTS[public.fault],
        clauses_hash=bytes.fromhex(public.clauses_hash.removeprefix("0x")),
        config_digest=bytes.fromhex(public.config_digest.removeprefix("0x")),
    )


def choose(answers: list[NodeAnswer], domain: Domain, members: set[str], threshold: int) -> Quorum:
    """k signatures from distinct members of the registered set on one identical verdict,
    under the chain's current domain (chain id, contract) and configuration digest."""
    groups: dict[Verdict, dict[str, bytes]] = defaultdict(dict)
    publics: dict[Verdict, VerdictPublic] = {}
    refused: list[str] = []
    for answer in answers:
        if answer.verdict is None:
            refused.append(f"{answer.url}: {answer.error}")
            continue
        verdict = as_verdict(answer.verdict)
        signature = bytes.fromhex(answer.verdict.signature.removeprefix("0x"))
        signer = recover_verdict_signer(signature, domain, verdict)
        if signer != answer.verdict.signer or signer.lower() not in members:
            refused.append(f"{answer.url}: signature not from a registered signer")
            continue
        groups[verdict][signer] = signature
        publics.setdefault(verdict, answer.verdict)
    if groups:
        best = max(groups, key=lambda v: len(groups[v]))
        if len(groups[best]) >= threshold:
            signatures = list(groups[best].items())[:threshold]
            return Quorum(best, publics[best], signatures)
    tally = ", ".join(
        f"{publics[v].verdict} ({publics[v].fault}): {len(s)}" for v, s in groups.items()
    )
    problems = "; ".join(refused)
    raise NoQuorum(
        f"fewer than k={threshold} matching signatures [{tally or 'none'}]"
        + (f"; {problems}" if problems else "")
    )
