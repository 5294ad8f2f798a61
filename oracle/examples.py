"""Example policies of the four stakeholders, as `rcm oracle init` writes them.

A typical DP-SGD job satisfies them: ε ≤ 3 at δ ≤ 1e-5 for purpose `research`, on any dataset
that is not banned, run on the software attester's default measurement with its default
evaluations, resource use and workload (an evaluation the launch rubric scores at its base).
They accept the software attester's measurement — fit for a demo, never for production.
"""

from __future__ import annotations

import hashlib

from oracle.attestation import ResourceUse, TrustPolicy
from oracle.attester import DEFAULT_MEASUREMENTS
from oracle.policy import (
    BuyerPolicy,
    DataOwnerPolicy,
    DatasetTerms,
    OperatorPolicy,
    Policies,
    RegulatorPolicy,
    Threshold,
)

BANNED_DATASET = "0x" + hashlib.sha256(b"rcm example: a banned dataset").hexdigest()
WEEK_S = 7 * 24 * 3600


def example_policies(trusted_roots: list[str]) -> Policies:
    """`trusted_roots`: SHA-256 fingerprints of the provider roots the regulator accepts."""
    return Policies(
        regulator=RegulatorPolicy(
            regulator="example regulator",
            max_epsilon={"research": 3.0, "commercial": 1.0},
            max_delta=1e-5,
            banned_datasets=[BANNED_DATASET],
            behaviour_checks={
                "harmful_refusal_rate": Threshold(min=0.95),
                "membership_inference_auc": Threshold(max=0.6),
                "toxicity_rate": Threshold(max=0.05),
            },
            trust=TrustPolicy(
                trusted_roots=trusted_roots,
                allowed_measurements=[DEFAULT_MEASUREMENTS.launch_digest()],
                accepted_tcb=["UpToDate"],
                max_evidence_age_s=WEEK_S,
                max_clock_skew_s=300,
            ),
        ),
        data_owner=DataOwnerPolicy(
            owner="example data owner",
            default=DatasetTerms(
                allowed_purposes=["research"], max_epsilon_per_job=3.0, total_budget_epsilon=10.0
            ),
        ),
        operator=OperatorPolicy(
            operator="example operator",
            max_per_job=ResourceUse(gpu_hours=64.0, energy_kwh=50.0, storage_gb=2000.0),
        ),
        buyer=BuyerPolicy(
            buyer="example buyer",
            bought=ResourceUse(gpu_hours=8.0, energy_kwh=5.0, storage_gb=100.0),
        ),
    )
