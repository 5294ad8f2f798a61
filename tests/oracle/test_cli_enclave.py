"""`rcm enclave init|attest`: the software attester from the command line."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chain.settlement import enclave_digest
from oracle.accountant import epsilon
from oracle.attestation import Attestation, TrustPolicy, verify_attestation
from oracle.attester import DEFAULT_MEASUREMENTS, default_ran
from risk.declaration import declaration_hash, read_declaration
from tests.oracle.factories import MECHANISM_FLAGS, Run, job_id

DATASET = "0x" + "da" * 32
EXAMPLE = Path(__file__).parents[2] / "examples" / "declaration.json"


def test_init_writes_a_root_an_enclave_certificate_and_a_private_key(
    rcm: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a path as the README gives it: the only word a line can't wrap
    run = rcm("enclave", "init", "enclave")
    assert run.code == 0, run.err
    assert max(map(len, run.out.splitlines())) <= 80, run.out  # wrapped, ids whole
    said = " ".join(run.out.split())
    assert "software attester" in said and "root fingerprint (sha256): " in said
    # What a provider's ask names for jobs to run in this enclave (`future.enclave`).
    measurement = enclave_digest(DEFAULT_MEASUREMENTS.launch_digest()).hex()
    assert f"enclave measurement (an ask's enclave_measurement): {measurement}" in said
    for name in ("root.pem", "enclave.pem", "enclave.key"):
        assert (tmp_path / "enclave" / name).exists()
    assert stat.S_IMODE((tmp_path / "enclave" / "enclave.key").stat().st_mode) == 0o600


def test_init_never_overwrites_an_enclave(rcm: Callable[..., Run], tmp_path: Path) -> None:
    rcm("enclave", "init", str(tmp_path))
    run = rcm("enclave", "init", str(tmp_path))
    assert run.code == 2
    assert run.err.startswith("error: enclave: ") and "already exists" in run.err


def _attest(rcm: Callable[..., Run], enclave_dir: Path, *extra: str) -> Run:
    job = ["--job", job_id(), "--dataset", DATASET]
    return rcm("enclave", "attest", "--enclave", str(enclave_dir), *job, *MECHANISM_FLAGS, *extra)


def test_a_default_attestation_is_compliant_evidence_with_the_accountants_epsilon(
    rcm: Callable[..., Run], enclave_dir: Path, trust: TrustPolicy, tmp_path: Path
) -> None:
    run = _attest(rcm, enclave_dir, "--out", str(tmp_path / "job.json"))
    assert run.code == 0, run.err
    assert max(map(len, run.err.splitlines())) <= 80, run.err  # wrapped, the job id whole
    attestation = Attestation.model_validate_json((tmp_path / "job.json").read_text())
    evidence = verify_attestation(attestation, trust, int(time.time()))
    assert " ".join(run.err.split()) == (
        "software attester: signed with a key on this machine, not by TEE hardware; job "
        f"{evidence.job}, claimed ε {evidence.dp.claimed_epsilon:.4g}")
    assert evidence.dp.claimed_epsilon == epsilon(1.1, 0.01, 1000, 1e-5)
    assert (evidence.purpose, evidence.platform.tee, evidence.datasets) == (
        "research",
        "software",
        [DATASET],
    )


def test_options_reach_the_evidence_and_it_prints_to_stdout_without_out(
    rcm: Callable[..., Run], enclave_dir: Path, tmp_path: Path
) -> None:
    declared, ran = tmp_path / "declared.json", tmp_path / "ran.json"
    committed = default_ran("commercial")
    declared.write_text(committed.model_dump_json())
    ran.write_text(committed.model_copy(update={"task": "training"}).model_dump_json())
    run = _attest(
        rcm,
        enclave_dir,
        "--claimed-epsilon",
        "0.5",
        "--purpose",
        "commercial",
        "--eval",
        "toxicity_rate=0.2",
        "--gpu-hours",
        "4",
        "--declared",
        str(declared),
        "--ran",
        str(ran),
    )
    assert run.code == 0, run.err
    evidence = Attestation.model_validate(json.loads(run.out)).evidence
    assert evidence.dp.claimed_epsilon == 0.5
    assert evidence.purpose == "commercial"
    assert evidence.evaluations["toxicity_rate"] == 0.2
    assert evidence.evaluations["harmful_refusal_rate"] == 0.98
    assert evidence.resources.gpu_hours == 4.0
    assert (evidence.ran, evidence.declaration_hash) == (
        read_declaration(ran), "0x" + declaration_hash(committed).hex())


def test_a_job_ran_as_declared_unless_told_otherwise(
    rcm: Callable[..., Run], enclave_dir: Path
) -> None:
    committed = read_declaration(EXAMPLE)
    run = _attest(rcm, enclave_dir, "--purpose", committed.purpose, "--declared", str(EXAMPLE))
    assert run.code == 0, run.err
    evidence = Attestation.model_validate(json.loads(run.out)).evidence
    assert (evidence.ran, evidence.declaration_hash) == (
        committed, "0x" + declaration_hash(committed).hex())
    # FLOP counts beyond 2^53 are signed as decimal strings: no double holds them exactly.
    assert json.loads(run.out)["evidence"]["ran"]["model_flop"] == str(committed.model_flop)


def test_by_default_a_job_ran_the_attesters_workload_and_declared_it(
    rcm: Callable[..., Run], enclave_dir: Path
) -> None:
    run = _attest(rcm, enclave_dir)
    assert run.code == 0, run.err
    evidence = Attestation.model_validate(json.loads(run.out)).evidence
    assert evidence.ran == default_ran(evidence.purpose)
    assert evidence.declaration_hash == "0x" + declaration_hash(evidence.ran).hex()


def test_a_declaration_of_what_ran_for_another_purpose_exits_2(
    rcm: Callable[..., Run], enclave_dir: Path, tmp_path: Path
) -> None:
    ran = tmp_path / "ran.json"
    ran.write_text(default_ran("diagnostics").model_dump_json())
    run = _attest(rcm, enclave_dir, "--ran", str(ran))
    assert run.code == 2
    assert "ran.purpose 'diagnostics' is not the job's purpose 'research'" in run.err


def test_a_job_id_that_is_not_bytes32_exits_2_naming_job(
    rcm: Callable[..., Run], enclave_dir: Path
) -> None:
    run = rcm(
        "enclave",
        "attest",
        "--enclave",
        str(enclave_dir),
        "--job",
        "42",
        "--dataset",
        DATASET,
        *MECHANISM_FLAGS,
    )
    assert run.code == 2
    assert run.err.startswith("error: schema: job: ")


def test_bad_values_exit_2_naming_the_field(rcm: Callable[..., Run], enclave_dir: Path) -> None:
    assert "datasets.1" in _attest(rcm, enclave_dir, "--dataset", "dataset-1").err
    assert "dp.sampling_rate" in _attest(rcm, enclave_dir, "--sampling-rate", "2").err
    run = _attest(rcm, enclave_dir, "--eval", "toxicity_rate=high")
    assert run.code == 2 and "--eval" in run.err


def test_a_missing_enclave_directory_exits_2(rcm: Callable[..., Run], tmp_path: Path) -> None:
    run = _attest(rcm, tmp_path / "nowhere")
    assert run.code == 2
    assert run.err.startswith("error: enclave: ")


def test_a_job_needs_exactly_one_of_job_and_future(
    rcm: Callable[..., Run], enclave_dir: Path
) -> None:
    command = ("enclave", "attest", "--enclave", str(enclave_dir), "--dataset", DATASET)
    for ids in ((), ("--job", job_id(), "--future", job_id())):
        run = rcm(*command, *ids, *MECHANISM_FLAGS)
        assert (run.code, run.err) == (
            2, "error: schema: job: give --job, or --future for a redeemed future's job\n")


def test_a_job_outside_the_market_names_its_data_and_delta(
    rcm: Callable[..., Run], enclave_dir: Path
) -> None:
    command = ("enclave", "attest", "--enclave", str(enclave_dir), "--job", job_id(),
               "--noise-multiplier", "1.1", "--sampling-rate", "0.01", "--steps", "1000")
    run = rcm(*command, "--delta", "1e-5")
    assert (run.code, run.err) == (
        2, "error: schema: datasets: give --dataset (the attester has no default)\n")
    run = rcm(*command, "--dataset", DATASET)
    assert (run.code, run.err) == (
        2, "error: schema: delta: give --delta (the attester has no default)\n")


def test_a_future_id_that_is_not_bytes32_exits_2_before_reading_the_chain(
    rcm: Callable[..., Run], enclave_dir: Path
) -> None:
    run = rcm("enclave", "attest", "--enclave", str(enclave_dir), "--future", "42",
              "--rpc", "http://127.0.0.1:1", *MECHANISM_FLAGS)
    assert (run.code, run.err) == (2, "error: --future: expected 32 bytes in hex, got '42'\n")


def test_a_negative_resource_exits_2_naming_the_field(
    rcm: Callable[..., Run], enclave_dir: Path
) -> None:
    run = _attest(rcm, enclave_dir, "--gpu-hours", "-1")
    assert run.code == 2 and run.err.startswith("error: schema: gpu_hours: ")
