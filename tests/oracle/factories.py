"""Evidence, attestations and running nodes for the oracle tests."""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

from chain.verdict import recover_verdict_signer, verdict_domain
from oracle.attestation import Attestation, Evidence
from oracle.attester import Enclave, attest, make_evidence
from oracle.node.models import VerdictPublic
from oracle.node.spawn import spawn_node
from oracle.quorum import as_verdict
from tests.support import Run as Run  # what the oracle tests' `rcm` fixture returns

PASSWORD = "oracle-test-password"
# A typical DP-SGD run: ε ≈ 1.71 at δ = 1e-5, inside every example policy.
MECHANISM: dict[str, Any] = {
    "noise_multiplier": 1.1,
    "sampling_rate": 0.01,
    "steps": 1000,
    "delta": 1e-5,
}
# The same mechanism as `rcm enclave attest` options.
MECHANISM_FLAGS = [
    part
    for name, value in MECHANISM.items()
    for part in (f"--{name.replace('_', '-')}", str(value))
]


def job_id() -> str:
    return "0x" + secrets.token_hex(32)


def evidence(**overrides: Any) -> Evidence:
    """Evidence of a fresh job that passes the example policies, with `overrides` applied."""
    arguments = {**MECHANISM, "issued_at": int(time.time()), **overrides}
    job = arguments.pop("job", job_id())
    datasets = arguments.pop("datasets", ["0x" + secrets.token_hex(32)])
    return make_evidence(job, datasets, **arguments)


def with_platform(original: Evidence, **changes: Any) -> Evidence:
    return original.model_copy(update={"platform": original.platform.model_copy(update=changes)})


def with_timestamps(original: Evidence, **changes: int) -> Evidence:
    return original.model_copy(
        update={"timestamps": original.timestamps.model_copy(update=changes)}
    )


def signed(enclave: Enclave, original: Evidence | None = None, **overrides: Any) -> Attestation:
    return attest(enclave, original or evidence(**overrides))


def body(attestation: Attestation) -> dict[str, Any]:
    return attestation.model_dump(mode="json")


def signer_of(verdict: dict[str, Any]) -> str:
    """Who signed `verdict`, recovered the way a quorum submitter does."""
    public = VerdictPublic.model_validate(verdict)
    domain = verdict_domain(public.chain_id, public.policy_oracle)
    return recover_verdict_signer(bytes.fromhex(public.signature[2:]), domain, as_verdict(public))


def start_node(config: Path, port: int, rpc: str | None = None, home: Path | None = None
               ) -> subprocess.Popen[bytes]:
    """`rcm oracle serve` in its own process, once it answers /health; with `rpc` (and the
    `home` holding that chain's deployment manifest) it prices rounds too."""
    return spawn_node(config, port, PASSWORD, rpc, home)
