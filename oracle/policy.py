"""The four stakeholders' policies and the future a job redeemed, and the pure evaluation of
authentic evidence against them.

Every clause yields a result and a reason; evidence is compliant only if all hold. A failed
clause names who is at fault: the buyer for what the job did — its data, purpose, declared ε
(the claim is the privacy cost the job declared and reserved; the enclave attests the mechanism
that actually ran, which the node recomputes), declared risk (the score it staked for; the
enclave attests what ran, which the node scores with the round's rubric), model behaviour and
resource use — the provider for what it owed — a required evaluation it did not run, capacity
short of what was bought, a job run outside the window it sold, evidence of another
declaration than the one the future committed to. When both failed, the provider is at
fault: a provider in breach produced the very evidence the buyer's breaches rest on, so the
buyer is not slashed on it.

What was bought is the chain's: a job is a redeemed future, and a node reading the chain
judges it by the future's bundle, window, purpose, dataset, ε and δ (`future.*`, read by the
node and passed in), and its risk by the score it staked for. Only a node that reads no chain
(trying a node out, tests) holds a job to the buyer's file (`buyer.*`); it has no staked score
to hold the risk to, so it checks only for prohibited practices.

The evaluation reads nothing but its arguments — no clock, no store, no chain — so every node
reaches the same verdict. A data owner's total budget is checked against this job's ε alone:
the running total is the on-chain PrivacyBudgetLedger's, which refuses to consume past zero; a
node-local sum would differ between nodes that saw different jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chain.bid import purpose_id
from chain.settlement import enclave_digest
from chain.verdict import Fault
from oracle.accountant import understates
from oracle.attestation import (
    Bytes32Hex,
    Evidence,
    JobId,
    Name,
    ResourceUse,
    Timestamps,
    TrustPolicy,
)
from oracle.future import FutureTerms
from risk.assess import Assessment, assess
from risk.declaration import Declaration
from risk.rubric import Rubric

Positive = Annotated[float, Field(gt=0)]


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Policy):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("a threshold needs min, max or both")
        return self

    def admits(self, score: float) -> bool:
        return (self.min is None or score >= self.min) and (self.max is None or score <= self.max)

    def describe(self) -> str:
        return " and ".join(
            f"{sign} {bound:g}"
            for sign, bound in ((">=", self.min), ("<=", self.max))
            if bound is not None
        )


class RegulatorPolicy(_Policy):
    regulator: str
    max_epsilon: dict[Name, Positive] = Field(description="ε cap per permitted purpose.")
    max_delta: Annotated[float, Field(gt=0, lt=1)]
    banned_datasets: list[Bytes32Hex] = []
    behaviour_checks: dict[Name, Threshold] = Field(description="Required evaluations.")
    trust: TrustPolicy


class DatasetTerms(_Policy):
    allowed_purposes: list[Name]
    max_epsilon_per_job: Positive
    total_budget_epsilon: Positive


class DataOwnerPolicy(_Policy):
    owner: str
    datasets: dict[Bytes32Hex, DatasetTerms] = {}
    default: DatasetTerms | None = Field(
        default=None, description="Terms for every dataset not listed; none: unlisted are not ours."
    )

    def terms(self, dataset: str) -> DatasetTerms | None:
        return self.datasets.get(dataset, self.default)


class OperatorPolicy(_Policy):
    operator: str
    max_per_job: ResourceUse


class BuyerPolicy(_Policy):
    """What a buyer bought, for a node that reads no chain. A node reading the chain holds
    each job to its future's terms instead, which no file can lower."""

    buyer: str
    bought: ResourceUse = Field(description="Capacity bought for a job not listed in `jobs`.")
    jobs: dict[JobId, ResourceUse] = {}


class Policies(_Policy):
    regulator: RegulatorPolicy
    data_owner: DataOwnerPolicy
    operator: OperatorPolicy
    buyer: BuyerPolicy


@dataclass(frozen=True)
class ClauseResult:
    id: str
    holds: bool
    reason: str
    fault: Fault  # who is at fault if it fails


@dataclass(frozen=True)
class Evaluation:
    epsilon: float
    clauses: tuple[ClauseResult, ...]

    @property
    def failed(self) -> tuple[ClauseResult, ...]:
        return tuple(clause for clause in self.clauses if not clause.holds)

    @property
    def compliant(self) -> bool:
        return not self.failed

    @property
    def fault(self) -> Fault:
        faults = {clause.fault for clause in self.failed}
        if not faults:
            return Fault.NONE
        return Fault.PROVIDER if Fault.PROVIDER in faults else Fault.BUYER


def evaluate(
    evidence: Evidence,
    policies: Policies,
    epsilon: float,
    rubric: Rubric,
    future: FutureTerms | None = None,
) -> Evaluation:
    """`epsilon` is the node's own recomputation of the mechanism in `evidence.dp`; `rubric`
    the one the job's round pinned; `future` the terms of the future the job redeemed, None for
    a job outside the market."""
    ran = assess(_with_data_read(evidence, future), rubric)
    return Evaluation(
        epsilon=epsilon,
        clauses=(
            *_regulator(evidence, policies.regulator, epsilon),
            *_risk(ran, rubric, future.risk_bps if future else None),
            *_data_owner(evidence, policies.data_owner, epsilon),
            *_operator(evidence, policies.operator),
            *(_future(evidence, future, epsilon) if future else _buyer(evidence, policies.buyer)),
        ),
    )


def _at_most(clause: str, what: str, value: float, limit: float, fault: Fault) -> ClauseResult:
    holds = value <= limit
    return ClauseResult(
        clause, holds, f"{what} {value:g} {'<=' if holds else '>'} {limit:g}", fault
    )


def _at_least(clause: str, what: str, value: float, floor: float, fault: Fault) -> ClauseResult:
    holds = value >= floor
    return ClauseResult(
        clause, holds, f"{what} {value:g} {'>=' if holds else '<'} {floor:g}", fault
    )


def _none_of(clause: str, offending: list[str], what: str, fault: Fault) -> ClauseResult:
    if offending:
        return ClauseResult(clause, False, f"{what}: {', '.join(offending)}", fault)
    return ClauseResult(clause, True, f"no dataset {what}", fault)


def _regulator(
    evidence: Evidence, policy: RegulatorPolicy, epsilon: float
) -> Iterator[ClauseResult]:
    purpose, dp = evidence.purpose, evidence.dp
    cap = policy.max_epsilon.get(purpose)
    yield ClauseResult(
        "regulator.purpose",
        cap is not None,
        f"purpose {purpose!r} is {'permitted' if cap is not None else 'not permitted'}",
        Fault.BUYER,
    )
    if cap is not None:
        yield _at_most("regulator.epsilon_cap", f"ε for {purpose}", epsilon, cap, Fault.BUYER)
    claim_holds = not understates(dp.claimed_epsilon, epsilon)
    yield ClauseResult(
        "regulator.epsilon_claim",
        claim_holds,
        f"claimed ε {dp.claimed_epsilon:g} {'>=' if claim_holds else '<'} recomputed ε {epsilon:g}",
        Fault.BUYER,
    )
    yield _at_most("regulator.delta_cap", "δ", dp.delta, policy.max_delta, Fault.BUYER)
    banned = sorted(set(evidence.datasets) & set(policy.banned_datasets))
    yield _none_of("regulator.banned_datasets", banned, "banned", Fault.BUYER)
    for name, threshold in sorted(policy.behaviour_checks.items()):
        clause, score = f"regulator.behaviour.{name}", evidence.evaluations.get(name)
        if score is None:
            yield ClauseResult(clause, False, f"{name} was not evaluated", Fault.PROVIDER)
        else:
            holds = threshold.admits(score)
            verdict = "meets" if holds else "fails"
            yield ClauseResult(
                clause, holds, f"{name} {score:g} {verdict} {threshold.describe()}", Fault.BUYER
            )


def _with_data_read(evidence: Evidence, future: FutureTerms | None) -> Declaration:
    """What ran, with the data categories of every registered dataset it read: a job does not
    score as if its data were public by leaving their categories out of its declaration."""
    if future is None:
        return evidence.ran
    read = [future.dataset_categories.get(dataset, frozenset()) for dataset in evidence.datasets]
    return evidence.ran.model_copy(
        update={"data_categories": evidence.ran.data_categories.union(*read)})


def _risk(ran: Assessment, rubric: Rubric, staked_bps: int | None) -> Iterator[ClauseResult]:
    """What ran, scored with the round's rubric: no practice it prohibits, and — when the
    chain says what the job staked for — no more risk than that, beyond the rubric's tolerance
    for approximate FLOP counters. Understating it would stake less CST than the job risks, as
    understating ε would spend less budget than it leaks."""
    practices = [f"{p} ({rubric.prohibited[p]})" for p in ran.prohibited]
    yield ClauseResult(
        "regulator.prohibited_practice",
        ran.eligible,
        f"prohibited: {', '.join(practices)}" if practices else "no prohibited practice ran",
        Fault.BUYER,
    )
    if staked_bps is not None:
        limit = staked_bps + rubric.tolerance_bps
        holds = ran.risk_bps <= limit
        yield ClauseResult(
            "regulator.risk_understated",
            holds,
            f"risk of what ran {ran.risk_bps} bps {'<=' if holds else '>'} staked {staked_bps} "
            f"+ tolerance {rubric.tolerance_bps} ({rubric.version})",
            Fault.BUYER,
        )


def _data_owner(
    evidence: Evidence, policy: DataOwnerPolicy, epsilon: float
) -> Iterator[ClauseResult]:
    governed = {
        dataset: terms
        for dataset in sorted(set(evidence.datasets))
        if (terms := policy.terms(dataset)) is not None
    }
    unconsented = [d for d, t in governed.items() if evidence.purpose not in t.allowed_purposes]
    over_cap = [d for d, t in governed.items() if epsilon > t.max_epsilon_per_job]
    over_budget = [d for d, t in governed.items() if epsilon > t.total_budget_epsilon]
    yield _none_of(
        "data_owner.purpose", unconsented, f"without consent to {evidence.purpose!r}", Fault.BUYER
    )
    yield _none_of("data_owner.epsilon_cap", over_cap, f"capped below ε {epsilon:g}", Fault.BUYER)
    yield _none_of(
        "data_owner.total_budget", over_budget, f"with a budget below ε {epsilon:g}", Fault.BUYER
    )


def _operator(evidence: Evidence, policy: OperatorPolicy) -> Iterator[ClauseResult]:
    used, limit = evidence.resources, policy.max_per_job
    for field in ResourceUse.model_fields:
        yield _at_most(
            f"operator.{field}",
            f"{field} used",
            getattr(used, field),
            getattr(limit, field),
            Fault.BUYER,
        )


def _buyer(evidence: Evidence, policy: BuyerPolicy) -> Iterator[ClauseResult]:
    yield from _delivered("buyer", evidence.resources, policy.jobs.get(evidence.job, policy.bought))


def _future(evidence: Evidence, future: FutureTerms, epsilon: float) -> Iterator[ClauseResult]:
    """The job against what its future bought: the buyer answers for its purpose and its
    privacy budget, the provider for the capacity, the window and the enclave it sold."""
    holds = purpose_id(evidence.purpose) == future.purpose_id
    yield ClauseResult(
        "future.purpose",
        holds,
        f"purpose {evidence.purpose!r} is {'' if holds else 'not '}the future's",
        Fault.BUYER,
    )
    foreign = [
        dataset
        for dataset in sorted(set(evidence.datasets))
        if dataset in future.private_datasets and dataset != future.dataset
    ]
    yield _none_of("future.dataset", foreign, "private and not the future's", Fault.BUYER)
    # A future on no private data reserved no budget: its job's ε is owed to no data owner
    # (the regulator's caps still hold it).
    if future.dataset is not None:
        yield _at_most("future.epsilon", "recomputed ε", epsilon, future.epsilon, Fault.BUYER)
        yield _at_most("future.delta", "δ", evidence.dp.delta, future.delta, Fault.BUYER)
    yield from _delivered("future", evidence.resources, future.bought)
    yield _window(evidence.timestamps, future)
    yield _declaration(evidence, future)
    if future.enclave_digests:
        yield _enclave(evidence, future)


def _enclave(evidence: Evidence, future: FutureTerms) -> ClauseResult:
    """The job ran in the enclave the provider's ask named. The provider chooses where a job
    runs; the operator's allow-list says which enclaves may run any job, the ask which one this
    capacity was sold in."""
    launch = evidence.platform.measurements.launch_digest()
    holds = enclave_digest(launch) in future.enclave_digests
    return ClauseResult(
        "future.enclave",
        holds,
        f"launch digest {launch[:16]}… is {'' if holds else 'not '}the enclave the future's "
        "asks named",
        Fault.PROVIDER,
    )


def _declaration(evidence: Evidence, future: FutureTerms) -> ClauseResult:
    """The evidence names the declaration the future's redeemer committed to. The provider's
    enclave reports what ran against that commitment, which it reads from the chain; evidence
    naming another is about another job's terms."""
    holds = evidence.declaration_hash == future.declaration_hash
    return ClauseResult(
        "future.declaration",
        holds,
        f"declaration {evidence.declaration_hash[:18]}… is {'' if holds else 'not '}the one "
        "the future's redemption committed to",
        Fault.PROVIDER,
    )


def _window(ran: Timestamps, future: FutureTerms) -> ClauseResult:
    """The job ran inside the window of the slots its future bought. The provider answers for
    when a job runs: it schedules the job, its enclave signs the times, and it sold that window.
    A buyer cannot ask for a run after it: the chain refuses to redeem a future once its last
    slot has ended (`DeliveryOver`)."""
    window = future.window
    holds = window.start_timestamp <= ran.started_at and ran.finished_at <= window.end_timestamp
    return ClauseResult(
        "future.window",
        holds,
        # Unix seconds: the chain's slots reach past any calendar's years.
        f"ran from {ran.started_at} to {ran.finished_at} (Unix s), "
        f"{'inside' if holds else 'outside'} the window from {window.start_timestamp} to "
        f"{window.end_timestamp}",
        Fault.PROVIDER,
    )


def _delivered(prefix: str, delivered: ResourceUse, bought: ResourceUse) -> Iterator[ClauseResult]:
    for field in ResourceUse.model_fields:
        yield _at_least(
            f"{prefix}.{field}",
            f"{field} delivered",
            getattr(delivered, field),
            getattr(bought, field),
            Fault.PROVIDER,
        )
