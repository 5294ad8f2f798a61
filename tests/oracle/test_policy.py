"""The four stakeholders' policies and the future a job redeemed, as tables: what each clause
catches and whose fault it is."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from chain.bid import purpose_id
from chain.settlement import enclave_digest
from chain.verdict import Fault
from oracle.accountant import mechanism_epsilon
from oracle.attestation import Evidence, ResourceUse
from oracle.attester import DEFAULT_EVALUATIONS, DEFAULT_MEASUREMENTS, default_ran
from oracle.examples import BANNED_DATASET
from oracle.future import FutureTerms, Window
from oracle.policy import (
    BuyerPolicy,
    DataOwnerPolicy,
    DatasetTerms,
    Evaluation,
    Policies,
    Threshold,
    evaluate,
)
from risk.declaration import declaration_hash
from risk.rubric import launch_rubric_hash, read_rubric
from tests.oracle.factories import evidence, job_id

OWNED = "0x" + "0d" * 32
LAUNCH, _ = read_rubric()


def judge(job: Evidence, policies: Policies) -> Evaluation:
    return evaluate(job, policies, mechanism_epsilon(job.dp), LAUNCH)


def failed(evaluation: Evaluation, stakeholder: str = "") -> set[str]:
    return {c.id for c in evaluation.failed if c.id.startswith(stakeholder)}


def test_a_typical_dp_sgd_job_is_compliant(policies: Policies) -> None:
    evaluation = judge(evidence(), policies)
    assert evaluation.compliant
    assert evaluation.fault is Fault.NONE
    assert all(clause.holds and clause.reason for clause in evaluation.clauses)


def test_every_stakeholder_has_clauses_with_stable_ids(policies: Policies) -> None:
    assert {c.id for c in judge(evidence(), policies).clauses} == {
        "regulator.purpose",
        "regulator.epsilon_cap",
        "regulator.epsilon_claim",
        "regulator.delta_cap",
        "regulator.banned_datasets",
        "regulator.prohibited_practice",
        "regulator.behaviour.harmful_refusal_rate",
        "regulator.behaviour.membership_inference_auc",
        "regulator.behaviour.toxicity_rate",
        "data_owner.purpose",
        "data_owner.epsilon_cap",
        "data_owner.total_budget",
        "operator.gpu_hours",
        "operator.energy_kwh",
        "operator.storage_gb",
        "buyer.gpu_hours",
        "buyer.energy_kwh",
        "buyer.storage_gb",
    }


WITHOUT_TOXICITY = {k: v for k, v in DEFAULT_EVALUATIONS.items() if k != "toxicity_rate"}

REGULATOR = [
    ("purpose not permitted", {"purpose": "marketing"}, {"regulator.purpose"}, Fault.BUYER),
    ("ε above the research cap", {"noise_multiplier": 0.7}, {"regulator.epsilon_cap"}, Fault.BUYER),
    (
        "ε above the commercial cap",
        {"purpose": "commercial"},
        {"regulator.epsilon_cap"},
        Fault.BUYER,
    ),
    ("ε understated", {"claimed_epsilon": 0.5}, {"regulator.epsilon_claim"}, Fault.BUYER),
    ("δ above the cap", {"delta": 1e-4}, {"regulator.delta_cap"}, Fault.BUYER),
    ("banned dataset", {"datasets": [BANNED_DATASET]}, {"regulator.banned_datasets"}, Fault.BUYER),
    (
        "prohibited practice ran",
        {"ran": default_ran("research").model_copy(update={"practices": {"social_scoring"}})},
        {"regulator.prohibited_practice"},
        Fault.BUYER,
    ),
    (
        "behaviour check failed",
        {"evaluations": DEFAULT_EVALUATIONS | {"toxicity_rate": 0.2}},
        {"regulator.behaviour.toxicity_rate"},
        Fault.BUYER,
    ),
    (
        "behaviour check below its minimum",
        {"evaluations": DEFAULT_EVALUATIONS | {"harmful_refusal_rate": 0.5}},
        {"regulator.behaviour.harmful_refusal_rate"},
        Fault.BUYER,
    ),
    (
        "required evaluation missing",
        {"evaluations": WITHOUT_TOXICITY},
        {"regulator.behaviour.toxicity_rate"},
        Fault.PROVIDER,
    ),
]


@pytest.mark.parametrize(
    ("case", "overrides", "clauses", "fault"), REGULATOR, ids=[c[0] for c in REGULATOR]
)
def test_regulator_clauses(
    policies: Policies, case: str, overrides: dict[str, Any], clauses: set[str], fault: Fault
) -> None:
    evaluation = judge(evidence(**overrides), policies)
    assert failed(evaluation, "regulator.") == clauses
    assert not evaluation.compliant
    assert evaluation.fault is fault


def test_an_understated_epsilon_names_both_values(policies: Policies) -> None:
    (clause,) = judge(evidence(claimed_epsilon=0.5), policies).failed
    assert clause.reason == "claimed ε 0.5 < recomputed ε 1.71177"


@pytest.fixture
def owner_policies(policies: Policies) -> Policies:
    """A data owner who lists one dataset, for research only, with a small budget."""
    terms = DatasetTerms(
        allowed_purposes=["research"], max_epsilon_per_job=2.0, total_budget_epsilon=2.5
    )
    owner = DataOwnerPolicy(owner="hospital", datasets={OWNED: terms})
    return policies.model_copy(update={"data_owner": owner})


DATA_OWNER = [
    ("unlisted dataset is not the owner's", {}, set()),
    ("listed dataset within its terms", {"datasets": [OWNED]}, set()),
    (
        "purpose not consented",
        {"datasets": [OWNED], "purpose": "commercial", "noise_multiplier": 3.0},
        {"data_owner.purpose"},
    ),
    (
        "ε above the per-job cap",
        {"datasets": [OWNED], "steps": 2000},
        {"data_owner.epsilon_cap"},
    ),
    (
        "ε above the whole budget",
        {"datasets": [OWNED], "steps": 3000},
        {"data_owner.epsilon_cap", "data_owner.total_budget"},
    ),
]


@pytest.mark.parametrize(
    ("case", "overrides", "clauses"), DATA_OWNER, ids=[c[0] for c in DATA_OWNER]
)
def test_data_owner_clauses(
    owner_policies: Policies, case: str, overrides: dict[str, Any], clauses: set[str]
) -> None:
    evaluation = judge(evidence(**overrides), owner_policies)
    assert failed(evaluation, "data_owner.") == clauses
    if clauses:
        assert evaluation.fault is Fault.BUYER


def test_the_example_data_owner_consents_to_research_on_any_dataset(policies: Policies) -> None:
    assert failed(judge(evidence(datasets=[OWNED]), policies), "data_owner.") == set()
    assert failed(judge(evidence(purpose="commercial"), policies), "data_owner.") == {
        "data_owner.purpose"
    }


def _use(**changes: float) -> ResourceUse:
    return ResourceUse.model_validate(
        {"gpu_hours": 8.0, "energy_kwh": 5.6, "storage_gb": 100.0} | changes
    )


OPERATOR = [
    ("GPU-hours over the limit", _use(gpu_hours=65.0), {"operator.gpu_hours"}),
    ("energy over the limit", _use(energy_kwh=51.0), {"operator.energy_kwh"}),
    ("storage over the limit", _use(storage_gb=2001.0), {"operator.storage_gb"}),
    ("at the limits", _use(gpu_hours=64.0, energy_kwh=50.0, storage_gb=2000.0), set()),
]


@pytest.mark.parametrize(("case", "used", "clauses"), OPERATOR, ids=[c[0] for c in OPERATOR])
def test_operator_clauses(
    policies: Policies, case: str, used: ResourceUse, clauses: set[str]
) -> None:
    evaluation = judge(evidence(resources=used), policies)
    assert failed(evaluation, "operator.") == clauses
    assert evaluation.fault is (Fault.BUYER if clauses else Fault.NONE)


BUYER = [
    ("fewer GPU-hours than bought", _use(gpu_hours=7.5), {"buyer.gpu_hours"}),
    ("less energy than bought", _use(energy_kwh=4.0), {"buyer.energy_kwh"}),
    ("less storage than bought", _use(storage_gb=50.0), {"buyer.storage_gb"}),
    ("more than bought", _use(gpu_hours=12.0, storage_gb=200.0), set()),
]


@pytest.mark.parametrize(("case", "delivered", "clauses"), BUYER, ids=[c[0] for c in BUYER])
def test_buyer_clauses(
    policies: Policies, case: str, delivered: ResourceUse, clauses: set[str]
) -> None:
    evaluation = judge(evidence(resources=delivered), policies)
    assert failed(evaluation, "buyer.") == clauses
    assert evaluation.fault is (Fault.PROVIDER if clauses else Fault.NONE)


def test_a_job_bought_separately_is_held_to_its_own_purchase(policies: Policies) -> None:
    job = job_id()
    buyer = BuyerPolicy(
        buyer="lab", bought=_use(), jobs={job: _use(gpu_hours=32.0, storage_gb=100.0)}
    )
    bespoke = policies.model_copy(update={"buyer": buyer})
    assert failed(judge(evidence(job=job), bespoke), "buyer.") == {"buyer.gpu_hours"}
    assert failed(judge(evidence(), bespoke), "buyer.") == set()


def test_the_provider_is_at_fault_when_both_parties_breached(policies: Policies) -> None:
    both = evidence(claimed_epsilon=0.5, resources=_use(gpu_hours=4.0))
    evaluation = judge(both, policies)
    assert failed(evaluation) == {"regulator.epsilon_claim", "buyer.gpu_hours"}
    assert evaluation.fault is Fault.PROVIDER


def test_evaluation_is_a_pure_function_of_its_arguments(policies: Policies) -> None:
    job = evidence(claimed_epsilon=0.5)
    assert judge(job, policies) == judge(job, policies)


def test_a_threshold_needs_a_bound() -> None:
    with pytest.raises(ValidationError, match="min, max or both"):
        Threshold()


def test_policy_files_refuse_unknown_keys(policies: Policies) -> None:
    document = policies.operator.model_dump() | {"max_gpus": 8}
    with pytest.raises(ValidationError, match="max_gpus"):
        type(policies.operator).model_validate(document)


# ---- a job that redeemed a future ----

PRIVATE = "0x" + "0e" * 32  # registered on the ledger by its owner, not bought by the future
PUBLIC = "0x" + "0f" * 32  # registered by no one
ISSUED = 1_800_000_000  # the job ran for the hour before
DAY = 86_400


def future(**changes: Any) -> FutureTerms:
    """A future that bought what the default job uses, on the dataset OWNED: ε 2 at δ 1e-5
    for research, over a window from a day before the job to a day after."""
    bought = FutureTerms(
        bought=_use(),
        window=Window(ISSUED - DAY, ISSUED + DAY),
        purpose_id=purpose_id("research"),
        dataset=OWNED,
        epsilon_micros=2_000_000,
        delta_atto=10**13,
        private_datasets=frozenset({OWNED, PRIVATE}),
        dataset_categories={},  # public data, but where a test registers categories
        risk_bps=1_000,
        declaration_hash="0x" + declaration_hash(default_ran("research")).hex(),
        rubric_hash=launch_rubric_hash(),
    )
    return replace(bought, **changes)


def judge_future(job: Evidence, policies: Policies, terms: FutureTerms) -> Evaluation:
    return evaluate(job, policies, mechanism_epsilon(job.dp), LAUNCH, terms)


def redeeming(**overrides: Any) -> Evidence:
    return evidence(**{"datasets": [OWNED], "issued_at": ISSUED, **overrides})


def test_a_futures_job_is_held_to_the_future_and_never_to_the_buyers_file(
    policies: Policies,
) -> None:
    demanding = BuyerPolicy(buyer="lab", bought=_use(gpu_hours=1_000.0))
    bespoke = policies.model_copy(update={"buyer": demanding})
    evaluation = judge_future(redeeming(), bespoke, future())
    assert evaluation.compliant
    assert {c.id for c in evaluation.clauses if c.id.startswith(("future.", "buyer."))} == {
        "future.purpose",
        "future.dataset",
        "future.epsilon",
        "future.delta",
        "future.gpu_hours",
        "future.energy_kwh",
        "future.storage_gb",
        "future.window",
        "future.declaration",
    }


FUTURE = [
    ("another purpose", {}, {"purpose_id": purpose_id("diagnostics")}, {"future.purpose"},
     Fault.BUYER),
    ("epsilon above what the future reserved", {}, {"epsilon_micros": 1_700_000},
     {"future.epsilon"}, Fault.BUYER),
    ("delta above the future's", {}, {"delta_atto": 10**12}, {"future.delta"}, Fault.BUYER),
    ("private data the future did not buy", {"datasets": [OWNED, PRIVATE]}, {},
     {"future.dataset"}, Fault.BUYER),
    ("only other private data", {"datasets": [PRIVATE]}, {}, {"future.dataset"}, Fault.BUYER),
    ("public data beside the future's", {"datasets": [OWNED, PUBLIC]}, {}, set(), Fault.NONE),
    ("fewer GPU-hours than bought", {}, {"bought": _use(gpu_hours=8.5)}, {"future.gpu_hours"},
     Fault.PROVIDER),
    ("less energy than bought", {}, {"bought": _use(energy_kwh=6.0)}, {"future.energy_kwh"},
     Fault.PROVIDER),
    ("less storage than bought", {}, {"bought": _use(storage_gb=101.0)}, {"future.storage_gb"},
     Fault.PROVIDER),
    ("more than bought", {"resources": _use(gpu_hours=9.0)}, {}, set(), Fault.NONE),
    ("started before the window", {}, {"window": Window(ISSUED - 1_800, ISSUED + DAY)},
     {"future.window"}, Fault.PROVIDER),
    ("finished after the window", {}, {"window": Window(ISSUED - DAY, ISSUED - 1)},
     {"future.window"}, Fault.PROVIDER),
    ("the window's edges", {}, {"window": Window(ISSUED - 3_600, ISSUED)}, set(), Fault.NONE),
    ("another enclave than the ask named", {},
     {"enclave_digests": frozenset({enclave_digest("ab" * 48)})}, {"future.enclave"},
     Fault.PROVIDER),
    ("the enclave one of the asks named", {},
     {"enclave_digests": frozenset({enclave_digest("ab" * 48),
                                    enclave_digest(DEFAULT_MEASUREMENTS.launch_digest())})},
     set(), Fault.NONE),
    ("evidence of another declaration than the redemption's", {},
     {"declaration_hash": "0x" + "de" * 32}, {"future.declaration"}, Fault.PROVIDER),
]


@pytest.mark.parametrize(
    ("case", "overrides", "changes", "clauses", "fault"), FUTURE, ids=[c[0] for c in FUTURE]
)
def test_future_clauses(
    policies: Policies,
    case: str,
    overrides: dict[str, Any],
    changes: dict[str, Any],
    clauses: set[str],
    fault: Fault,
) -> None:
    evaluation = judge_future(redeeming(**overrides), policies, future(**changes))
    assert failed(evaluation) == clauses
    assert all(clause.fault is fault for clause in evaluation.failed)
    assert evaluation.fault is fault


def test_a_failed_future_clause_names_the_job_and_the_future(policies: Policies) -> None:
    bought = _use(gpu_hours=1_344.0)
    evaluation = judge_future(redeeming(), policies, future(epsilon_micros=1_000_000,
                                                            bought=bought))
    assert {c.id: c.reason for c in evaluation.failed} == {
        "future.epsilon": "recomputed ε 1.71177 > 1",
        "future.gpu_hours": "gpu_hours delivered 8 < 1344",
    }


def test_the_finding_a_default_attestation_breaches_a_diagnostics_future_of_8_gpu_weeks(
    policies: Policies,
) -> None:
    """Issue 16, finding 3: 8 GPU-weeks, ε 1, `diagnostics` bought; the attester's defaults
    (8 GPU-hours, `research`, ε 1.71) ran. Both parties breached, so the provider is at fault."""
    bought = future(bought=_use(gpu_hours=8 * 168.0, energy_kwh=0.0, storage_gb=0.0),
                    epsilon_micros=1_000_000, purpose_id=purpose_id("diagnostics"))
    evaluation = judge_future(redeeming(), policies, bought)
    assert {c.id: c.fault for c in evaluation.failed} == {
        "future.purpose": Fault.BUYER,
        "future.epsilon": Fault.BUYER,
        "future.gpu_hours": Fault.PROVIDER,
    }
    assert evaluation.fault is Fault.PROVIDER


def test_a_future_on_no_private_data_lets_its_job_use_only_public_data(
    policies: Policies,
) -> None:
    public = future(dataset=None, epsilon_micros=0, delta_atto=0)
    evaluation = judge_future(redeeming(datasets=[PUBLIC]), policies, public)
    assert evaluation.compliant
    # It reserved no budget: its job's ε is owed to no data owner.
    assert not {c.id for c in evaluation.clauses} & {"future.epsilon", "future.delta"}
    private = judge_future(redeeming(datasets=[OWNED]), policies, public)
    assert failed(private) == {"future.dataset"}
    assert private.fault is Fault.BUYER


# ---- the risk of what ran, against the score the future staked ----

# The attester's default workload scores the launch rubric's base, 1,000 bps; one job-size step
# past 10^22 FLOP adds 200. Training a model of 2·10^23 FLOP on health data for an API adds the
# task, the 10^23 model line, the 10^22 job line, the data and the release.
BASE_BPS, TOLERANCE_BPS = 1_000, LAUNCH.tolerance_bps
TRAINING_BPS = BASE_BPS + 1_000 + 500 + 200 + 700 + 500
ONE_STEP = default_ran("research").model_copy(update={"job_flop": 10**22 + 1})
TRAINING = default_ran("research").model_copy(update={
    "task": "training", "job_flop": 2 * 10**23, "model_flop": 2 * 10**23,
    "data_categories": frozenset({"health"}), "release": "api"})


def _ran(declaration: Any) -> Evidence:
    """A job that ran `declaration`, reporting the default one as what its bid committed to."""
    return redeeming(ran=declaration,
                     declared="0x" + declaration_hash(default_ran("research")).hex())


@pytest.mark.parametrize(("staked_bps", "holds"), [
    (BASE_BPS + 200 - TOLERANCE_BPS, True),  # at the tolerance
    (BASE_BPS + 200 - TOLERANCE_BPS - 1, False),  # one bps beyond it
    (BASE_BPS, True),  # one job-size step misjudged: what the tolerance is for
])
def test_what_ran_may_exceed_the_staked_score_by_the_rubrics_tolerance_and_no_more(
    policies: Policies, staked_bps: int, holds: bool
) -> None:
    evaluation = judge_future(_ran(ONE_STEP), policies, future(risk_bps=staked_bps))
    assert failed(evaluation) == (set() if holds else {"regulator.risk_understated"})


def test_a_training_run_declared_as_an_evaluation_understates_its_risk_buyer_at_fault(
    policies: Policies,
) -> None:
    evaluation = judge_future(_ran(TRAINING), policies, future(risk_bps=BASE_BPS))
    assert {c.id: (c.fault, c.reason) for c in evaluation.failed} == {
        "regulator.risk_understated": (
            Fault.BUYER,
            f"risk of what ran {TRAINING_BPS} bps > staked 1000 + tolerance 250 (launch-1)")}
    assert evaluation.fault is Fault.BUYER
    # A buyer who staked for what it ran is compliant, whatever it declared.
    assert judge_future(_ran(TRAINING), policies, future(risk_bps=TRAINING_BPS)).compliant


def test_a_job_on_registered_health_data_is_scored_for_it_whatever_it_declared(
    policies: Policies,
) -> None:
    # The default job declares public data; the dataset it read is registered as health data.
    health = future(risk_bps=BASE_BPS, dataset_categories={OWNED: frozenset({"health"})})
    evaluation = judge_future(redeeming(), policies, health)
    assert {c.id: c.reason for c in evaluation.failed} == {
        "regulator.risk_understated":
            f"risk of what ran {BASE_BPS + 700} bps > staked 1000 + tolerance 250 (launch-1)"}
    assert judge_future(redeeming(), policies, replace(health, risk_bps=BASE_BPS + 700)).compliant


def test_a_prohibited_practice_that_ran_fails_whatever_the_stake(policies: Policies) -> None:
    ran = default_ran("research").model_copy(
        update={"practices": frozenset({"untargeted_facial_scraping"})})
    evaluation = judge_future(_ran(ran), policies, future(risk_bps=10_000))
    assert {c.id: c.fault for c in evaluation.failed} == {
        "regulator.prohibited_practice": Fault.BUYER}
    assert evaluation.failed[0].reason.startswith("prohibited: untargeted_facial_scraping (")


def test_a_job_outside_the_market_has_no_staked_score_to_understate(policies: Policies) -> None:
    evaluation = judge(evidence(ran=TRAINING), policies)
    assert evaluation.compliant
    assert "regulator.risk_understated" not in {c.id for c in evaluation.clauses}
