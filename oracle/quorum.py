"""Collect each node's verdict on one attestation and pick k that agree: what a submitter
posts to PolicyOracle. Every signature is recovered here first, so nothing the chain would
refuse is sent."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from chain.eip712 import Domain
from chain.policy_oracle import OracleSet, submit
from chain.prices import PriceReport, recover_report_signer
from chain.verdict import Verdict, recover_verdict_signer
from oracle.errors import OracleError
from oracle.node.models import FAULT_NAMES, PricePublic, ReplayPublic, VerdictPublic

if TYPE_CHECKING:
    from chain.signer import Signer
    from chain.system import System

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


def _post(url: str, path: str, body: bytes, timeout: float) -> tuple[int, bytes] | str:
    """The node's status and body, or why it could not be asked."""
    import httpx

    try:
        response = httpx.post(f"{url.rstrip('/')}{path}", content=body,
                              headers={"Content-Type": "application/json"}, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    return response.status_code, response.content


def _refusal(status: int, content: bytes) -> str:
    try:
        detail = json.loads(content).get("detail", content.decode(errors="replace"))
    except ValueError:
        detail = content.decode(errors="replace")
    return f"{status}: {detail}"


def _ask(url: str, body: bytes, timeout: float) -> NodeAnswer:
    answer = _post(url, "/attestations", body, timeout)
    if isinstance(answer, str):
        return NodeAnswer(url, None, answer)
    status, content = answer
    if status == 201:
        return NodeAnswer(url, VerdictPublic.model_validate_json(content))
    if status == 409:  # judged before: the node serves the verdict it signed
        return NodeAnswer(url, ReplayPublic.model_validate_json(content).verdict)
    return NodeAnswer(url, None, _refusal(status, content))


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


def choose(answers: list[NodeAnswer], signers: OracleSet) -> Quorum:
    """k signatures from distinct members of the registered set on one identical verdict,
    under the chain's current domain (chain id, contract) and configuration digest."""
    verdict, public, signatures = _agreement(
        [(a.url, a.verdict, a.error) for a in answers], as_verdict, recover_verdict_signer,
        signers, "signatures", lambda p: f"{p.verdict} ({p.fault}): ")
    return Quorum(verdict, public, signatures)


def settle(system: System, sender: Signer, attestation: bytes, urls: list[str]
           ) -> tuple[Quorum, Any]:
    """The attestation (its JSON) posted to every node, k matching verdicts chosen under the
    chain's oracle set and submitted to PolicyOracle from `sender`: the quorum and the
    transaction's receipt. Raises NoQuorum, naming what each node answered, without sending."""
    quorum = choose(collect(attestation, urls), OracleSet.read(system))
    return quorum, submit(system, sender, quorum.verdict, quorum.signatures)


Message = TypeVar("Message", Verdict, PriceReport)
Public = TypeVar("Public", VerdictPublic, PricePublic)


def _agreement(
    answers: list[tuple[str, Public | None, str | None]],
    message: Callable[[Public], Message],
    recover: Callable[[bytes, Domain, Message], str],
    signers: OracleSet,
    what: str,
    label: Callable[[Public], str] = lambda _: "",
) -> tuple[Message, Public, list[tuple[str, bytes]]]:
    """The message most registered members signed, with k of their signatures; each answer is
    a node's URL and its signed message, or why it gave none."""
    groups: dict[Message, dict[str, bytes]] = defaultdict(dict)
    publics: dict[Message, Public] = {}
    refused: dict[str, list[str]] = defaultdict(list)
    for url, public, error in answers:
        if public is None:
            refused[str(error)].append(url)
            continue
        signed = message(public)
        signature = bytes.fromhex(public.signature.removeprefix("0x"))
        signer = recover(signature, signers.domain, signed)
        if signer != public.signer or signer.lower() not in signers.members:
            refused["signature not from a registered signer"].append(url)
            continue
        groups[signed][signer] = signature
        publics.setdefault(signed, public)
    k = signers.threshold
    if groups:
        best = max(groups, key=lambda m: len(groups[m]))
        if len(groups[best]) >= k:
            return best, publics[best], list(groups[best].items())[:k]
    tally = ", ".join(f"{label(publics[m])}{len(s)}" for m, s in groups.items())
    problems = "; ".join(_who(urls, len(answers)) + f": {error}"
                         for error, urls in refused.items())
    raise NoQuorum(f"fewer than k={k} matching {what} [{tally or 'none'}]"
                   + (f"; {problems}" if problems else ""))


def _who(urls: list[str], asked: int) -> str:
    """The nodes that gave one answer: named, unless it was every node's (then said once)."""
    return f"all {asked} nodes" if len(urls) == asked > 1 else ", ".join(urls)


# ---- price reports ----


@dataclass(frozen=True)
class PriceAnswer:
    url: str
    price: PricePublic | None
    error: str | None = None


@dataclass(frozen=True)
class PriceQuorum:
    report: PriceReport
    signatures: list[tuple[str, bytes]]


def _ask_price(url: str, round_id: int, timeout: float) -> PriceAnswer:
    answer = _post(url, f"/rounds/{round_id}/prices", b"", timeout)
    if isinstance(answer, str):
        return PriceAnswer(url, None, answer)
    status, content = answer
    if status == 200:
        return PriceAnswer(url, PricePublic.model_validate_json(content))
    return PriceAnswer(url, None, _refusal(status, content))


def collect_prices(round_id: int, urls: list[str], timeout: float = 60.0) -> list[PriceAnswer]:
    """Asks every node at once to price the round; one answer per node, in `urls` order."""
    with ThreadPoolExecutor(max_workers=max(1, len(urls))) as pool:
        return list(pool.map(lambda url: _ask_price(url, round_id, timeout), urls))


def as_report(public: PricePublic) -> PriceReport:
    return PriceReport(
        clearing_house=public.clearing_house,
        round_id=public.round,
        result_version=public.result_version,
        item_prices_micro_usd=tuple(public.item_prices_micro_usd),
        payments_micro_usd=tuple(public.payments_micro_usd),
        config_digest=bytes.fromhex(public.config_digest.removeprefix("0x")),
    )


def choose_prices(answers: list[PriceAnswer], signers: OracleSet) -> PriceQuorum:
    """k signatures from distinct members of the registered set on one identical report."""
    report, _, signatures = _agreement(
        [(a.url, a.price, a.error) for a in answers], as_report, recover_report_signer,
        signers, "price reports")
    return PriceQuorum(report, signatures)
