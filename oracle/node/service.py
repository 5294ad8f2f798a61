"""One oracle node: verify → refuse a replay → read the job's future → find its round's rubric
→ recompute ε → evaluate → sign → store.

The steps that decide anything are pure functions (`verify_attestation`, `evaluate`,
`mechanism_epsilon`); this shell only feeds them the clock, the key, the store and what the
chain says the job's future bought.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chain.eip712 import Domain
from chain.keystore import read_keystore
from chain.prices import PriceReport, sign_report
from chain.verdict import Verdict, clauses_hash, sign_verdict, verdict_domain
from oracle.accountant import mechanism_epsilon, preload
from oracle.attestation import Attestation, Evidence, TrustPolicy, verify_attestation
from oracle.config import NodeConfig, read_policies, root_fingerprint
from oracle.errors import (
    AlreadyJudged,
    ConfigError,
    JobAlreadyJudged,
    OracleError,
    PricingRefused,
    ReplayedNonce,
    UnknownRubric,
    VerdictNotFound,
)
from oracle.future import FutureTerms
from oracle.node.metrics import NodeMetrics
from oracle.node.models import (
    FAULT_NAMES,
    ClausePublic,
    HealthPublic,
    PricePublic,
    VerdictPublic,
)
from oracle.policy import Evaluation, Policies, evaluate
from oracle.store import StoredVerdict, VerdictStore
from risk.errors import RiskError
from risk.rubric import Rubric, find_rubric, launch_rubric_hash, read_rubric

if TYPE_CHECKING:
    from chain.signer import Signer


Pricer = Callable[[int, bytes], PriceReport]
"""Recomputes a round's price report from the chain, under a configuration digest; raises
PricingRefused when it cannot. Whoever starts the node supplies it (the market's pricing is not
the oracle's code), or none."""

FutureReader = Callable[[str], FutureTerms]
"""The terms of the future a job (its id, 0x-hex) redeemed, read from the chain. Raises
FutureUnreadable when it cannot read them or the job is no redeemed future. A node without one
(it reads no chain) holds every job to its buyer's file."""


@dataclass
class OracleNode:
    config: NodeConfig
    account: Signer
    policies: Policies
    trust: TrustPolicy
    store: VerdictStore
    metrics: NodeMetrics
    pricer: Pricer | None = None
    futures: FutureReader | None = None
    rubrics: dict[bytes, Rubric] = field(default_factory=dict)  # by hash, once read

    @property
    def domain(self) -> Domain:
        return verdict_domain(self.config.chain_id, self.config.policy_oracle)

    def judge(self, attestation: Attestation) -> VerdictPublic:
        """The signed verdict, or the OracleError naming the check that refused it."""
        with self.metrics.judge_seconds.time():
            try:
                verdict = self._judge(attestation)
            except OracleError as refused:
                self.metrics.rejections.labels(refused.check).inc()
                raise
        self.metrics.verdicts.labels(verdict.verdict).inc()
        return verdict

    def price(self, round_id: int) -> PricePublic:
        """The node's signature on the round's price report, recomputed now from the chain."""
        if self.pricer is None:
            raise PricingRefused("this node reads no chain, so it cannot price rounds")
        report = self.pricer(round_id, bytes.fromhex(self.config.config_digest.removeprefix("0x")))
        return PricePublic(
            clearing_house=report.clearing_house,
            round=report.round_id,
            result_version=report.result_version,
            item_prices_micro_usd=list(report.item_prices_micro_usd),
            payments_micro_usd=list(report.payments_micro_usd),
            config_digest=self.config.config_digest,
            chain_id=self.config.chain_id,
            policy_oracle=self.config.policy_oracle,
            signer=self.account.address,
            signature="0x" + sign_report(self.account, self.domain, report).hex(),
        )

    def _judge(self, attestation: Attestation) -> VerdictPublic:
        now = int(time.time())
        evidence = verify_attestation(attestation, self.trust, now)
        if held := self.store.find(evidence.job, evidence.nonce):
            raise _already_judged(evidence, held)
        future = self.futures(evidence.job) if self.futures else None
        # A node that reads no chain knows no round: it scores with the launch rubric.
        rubric = self.rubric(future.rubric_hash if future else launch_rubric_hash())
        evaluation = evaluate(
            evidence, self.policies, mechanism_epsilon(evidence.dp), rubric, future
        )
        verdict = self._sign(evidence, evaluation)
        # A concurrent request for the same job or nonce may have been stored since `find`.
        if held := self.store.insert(
            evidence.job,
            evidence.nonce,
            verdict.model_dump_json(),
            attestation.model_dump_json(),
            now,
        ):
            raise _already_judged(evidence, held)
        return verdict

    def rubric(self, digest: bytes) -> Rubric:
        """The rubric whose file hashes to `digest`, from the node's `rubrics` directory or
        those shipped; UnknownRubric when it holds none."""
        if digest not in self.rubrics:
            directories = [self.config.rubrics] if self.config.rubrics else []
            path = find_rubric(digest, directories)
            where = " and ".join([*(str(d) for d in directories), "the shipped rubrics"])
            if path is None:
                raise UnknownRubric(f"the job's round pinned rubric 0x{digest.hex()}, which is "
                                    f"not among {where}")
            try:
                self.rubrics[digest] = read_rubric(path)[0]
            except RiskError as refused:
                raise UnknownRubric(f"{path}: {refused}") from None
        return self.rubrics[digest]

    def _sign(self, evidence: Evidence, evaluation: Evaluation) -> VerdictPublic:
        failed = evaluation.failed
        verdict = Verdict(
            job_id=bytes.fromhex(evidence.job[2:]),
            compliant=evaluation.compliant,
            fault=evaluation.fault,
            clauses_hash=clauses_hash(clause.id for clause in failed),
            config_digest=bytes.fromhex(self.config.config_digest[2:]),
        )
        signature = sign_verdict(self.account, self.domain, verdict)
        return VerdictPublic(
            job=evidence.job,
            verdict="compliant" if verdict.compliant else "violation",
            clauses=[
                ClausePublic(id=clause.id, reason=clause.reason, fault=FAULT_NAMES[clause.fault])
                for clause in failed
            ],
            fault=FAULT_NAMES[verdict.fault],
            nonce=evidence.nonce,
            epsilon=evaluation.epsilon,
            clauses_hash="0x" + verdict.clauses_hash.hex(),
            config_digest=self.config.config_digest,
            chain_id=self.config.chain_id,
            policy_oracle=self.config.policy_oracle,
            signer=self.account.address,
            signature="0x" + signature.hex(),
        )

    def verdict(self, job: str) -> VerdictPublic:
        stored = self.store.verdict(job)
        if stored is None:
            raise VerdictNotFound(f"no verdict for {job}")
        return VerdictPublic.model_validate_json(stored)

    def health(self) -> HealthPublic:
        return HealthPublic(
            status="ok",
            node=self.config.name,
            signer=self.account.address,
            verdicts=self.store.count(),
            chain_id=self.config.chain_id,
            policy_oracle=self.config.policy_oracle,
            config_digest=self.config.config_digest,
        )


def _already_judged(evidence: Evidence, held: StoredVerdict) -> AlreadyJudged:
    verdict = json.loads(held.verdict)
    if held.nonce == evidence.nonce:
        return ReplayedNonce(f"{evidence.nonce} was already accepted", verdict)
    return JobAlreadyJudged(f"{evidence.job} already has a verdict", verdict)


def load_node(
    config: NodeConfig,
    password: str,
    pricer: Pricer | None = None,
    futures: FutureReader | None = None,
) -> OracleNode:
    """Everything a node needs from its configuration; the store is opened last."""
    account = read_keystore(config.keystore, password)
    if account.address.lower() != config.address.lower():
        raise ConfigError(f"{config.keystore} holds {account.address}, not {config.address}")
    policies = read_policies(config.policies)
    trust = _effective_trust(policies.regulator.trust, config.trusted_roots)
    preload()
    return OracleNode(
        config=config,
        account=account,
        policies=policies,
        trust=trust,
        store=VerdictStore(config.database),
        metrics=NodeMetrics(),
        pricer=pricer,
        futures=futures,
    )


def _effective_trust(regulator: TrustPolicy, installed: list[Path]) -> TrustPolicy:
    """A root counts only if the node has it installed and the regulator accepts it."""
    fingerprints = {root_fingerprint(path) for path in installed}
    trusted = [root for root in regulator.trusted_roots if root in fingerprints]
    if not trusted:
        raise ConfigError("trusted_roots: no installed root is accepted by the regulator policy")
    return regulator.model_copy(update={"trusted_roots": trusted})
