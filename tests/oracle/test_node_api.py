"""The node's HTTP API: verdicts signed, untrusted evidence refused, replays shown the first."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chain.bid import purpose_id
from chain.verdict import clauses_hash
from oracle.attestation import Attestation, ResourceUse
from oracle.attester import DEFAULT_EVALUATIONS, Enclave, attest, default_ran, new_enclave
from oracle.config import read_node_config
from oracle.errors import FutureUnreadable
from oracle.examples import BANNED_DATASET
from oracle.future import FutureTerms, Window
from oracle.node.app import create_app
from oracle.node.service import FutureReader, OracleNode, load_node
from risk.declaration import declaration_hash
from risk.rubric import DEFAULT_RUBRIC, launch_rubric_hash, rubric_hash
from tests.oracle.factories import (
    PASSWORD,
    body,
    evidence,
    signed,
    signer_of,
    with_platform,
    with_timestamps,
)


def _node(oracle_dir: Path, database: Path, index: int = 1, **settings: Any) -> OracleNode:
    config = read_node_config(oracle_dir / f"node-{index}.toml")
    return load_node(config.model_copy(update={"database": database, **settings}), PASSWORD)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node") / "node.sqlite"


@pytest.fixture(scope="module")
def node(oracle_dir: Path, database: Path) -> OracleNode:
    return _node(oracle_dir, database)


@pytest.fixture(scope="module")
def client(node: OracleNode) -> Iterator[TestClient]:
    with TestClient(create_app(node)) as client:
        yield client


def test_a_default_attestation_gets_a_signed_compliant_verdict(
    client: TestClient, node: OracleNode, enclave: Enclave
) -> None:
    attestation = signed(enclave)
    response = client.post("/attestations", json=body(attestation))
    assert response.status_code == 201, response.text
    verdict = response.json()
    assert verdict["job"] == attestation.evidence.job
    assert (verdict["verdict"], verdict["clauses"], verdict["fault"]) == ("compliant", [], "none")
    assert verdict["clauses_hash"] == "0x" + "00" * 32
    assert verdict["epsilon"] == pytest.approx(1.71177, abs=1e-5)
    assert verdict["signer"] == node.account.address == signer_of(verdict)


def _tampered(enclave: Enclave) -> Attestation:
    attestation = signed(enclave)
    evidence = attestation.evidence
    # What ran, made to look smaller after the enclave signed it.
    changed = evidence.model_copy(update={"ran": evidence.ran.model_copy(update={"job_flop": 0})})
    return attestation.model_copy(update={"evidence": changed})


def _spliced(enclave: Enclave) -> Attestation:
    other = new_enclave()
    return attest(
        Enclave(other.signing_key, [other.cert_chain[0], enclave.cert_chain[1]]), evidence()
    )


def _expired(enclave: Enclave) -> Attestation:
    return attest(new_enclave(datetime.now(UTC) - timedelta(days=4000)), evidence())


def _unbound(enclave: Enclave) -> Attestation:
    original = evidence()
    return signed(enclave, original.model_copy(update={"report_data": "00" * 64}))


def _unknown_measurement(enclave: Enclave) -> Attestation:
    original = evidence()
    measured = original.platform.measurements.model_copy(update={"gpu_firmware": "ee" * 48})
    return signed(enclave, with_platform(original, measurements=measured))


def _stale(enclave: Enclave) -> Attestation:
    old = int((datetime.now(UTC) - timedelta(days=30)).timestamp())
    return signed(enclave, evidence(issued_at=old))


def _future(enclave: Enclave) -> Attestation:
    later = int((datetime.now(UTC) + timedelta(hours=2)).timestamp())
    return signed(enclave, with_timestamps(evidence(), finished_at=later, issued_at=later))


REJECTIONS: list[tuple[str, Callable[[Enclave], Attestation]]] = [
    ("signature", _tampered),
    ("cert_chain", _spliced),
    ("cert_validity", _expired),
    ("trust_root", lambda enclave: attest(new_enclave(), evidence())),
    ("report_data", _unbound),
    ("debug", lambda enclave: signed(enclave, with_platform(evidence(), debug=True))),
    ("tcb", lambda enclave: signed(enclave, with_platform(evidence(), tcb_status="OutOfDate"))),
    ("measurement", _unknown_measurement),
    ("timestamps", _stale),
    ("timestamps", _future),
]


@pytest.mark.parametrize(
    ("check", "make"), REJECTIONS, ids=[f"{c}-{m.__name__}" for c, m in REJECTIONS]
)
def test_untrusted_evidence_is_refused_naming_the_check_and_nothing_is_kept(
    client: TestClient, enclave: Enclave, check: str, make: Callable[[Enclave], Attestation]
) -> None:
    attestation = make(enclave)
    held = client.get("/health").json()["verdicts"]
    response = client.post("/attestations", json=body(attestation))
    assert response.status_code == 422, response.text
    assert response.json()["check"] == check
    assert response.json()["detail"].startswith(f"{check}: ")
    assert client.get(f"/verdicts/{attestation.evidence.job}").status_code == 404
    assert client.get("/health").json()["verdicts"] == held


def test_malformed_json_is_refused(client: TestClient) -> None:
    response = client.post(
        "/attestations", content=b'{"evidence": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["check"] == "schema"


def test_a_job_id_that_is_not_bytes32_is_refused_naming_job(
    client: TestClient, enclave: Enclave
) -> None:
    document = body(signed(enclave))
    document["evidence"]["job"] = "job-42"
    response = client.post("/attestations", json=document)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("schema: evidence.job: ")


VIOLATIONS: list[tuple[str, dict[str, Any], list[str], str]] = [
    ("understated ε", {"claimed_epsilon": 0.5}, ["regulator.epsilon_claim"], "buyer"),
    (
        "less capacity delivered than bought",
        {"resources": {"gpu_hours": 6.0, "energy_kwh": 5.6, "storage_gb": 100.0}},
        ["buyer.gpu_hours"],
        "provider",
    ),
    ("banned dataset", {"datasets": [BANNED_DATASET]}, ["regulator.banned_datasets"], "buyer"),
    (
        "failed behaviour check",
        {"evaluations": DEFAULT_EVALUATIONS | {"membership_inference_auc": 0.9}},
        ["regulator.behaviour.membership_inference_auc"],
        "buyer",
    ),
    (
        "purpose not consented",
        {"purpose": "commercial", "noise_multiplier": 3.0},
        ["data_owner.purpose"],
        "buyer",
    ),
    (
        "over-use",
        {"resources": {"gpu_hours": 80.0, "energy_kwh": 56.0, "storage_gb": 100.0}},
        ["operator.energy_kwh", "operator.gpu_hours"],
        "buyer",
    ),
]


@pytest.mark.parametrize(
    ("case", "overrides", "clauses", "fault"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS]
)
def test_authentic_evidence_of_a_breach_gets_a_signed_violation(
    client: TestClient,
    node: OracleNode,
    enclave: Enclave,
    case: str,
    overrides: dict[str, Any],
    clauses: list[str],
    fault: str,
) -> None:
    response = client.post("/attestations", json=body(signed(enclave, **overrides)))
    assert response.status_code == 201, response.text
    verdict = response.json()
    assert verdict["verdict"] == "violation"
    assert sorted(c["id"] for c in verdict["clauses"]) == clauses
    assert all(c["reason"] for c in verdict["clauses"])
    assert verdict["fault"] == fault
    assert verdict["clauses_hash"] == "0x" + clauses_hash(clauses).hex()
    assert signer_of(verdict) == node.account.address


def test_a_replayed_nonce_gets_409_with_the_stored_verdict(
    client: TestClient, enclave: Enclave
) -> None:
    attestation = signed(enclave, claimed_epsilon=0.1)
    first = client.post("/attestations", json=body(attestation)).json()
    replay = client.post("/attestations", json=body(attestation))
    assert replay.status_code == 409
    assert replay.json()["check"] == "nonce"
    assert replay.json()["verdict"] == first


def test_a_second_attestation_for_a_judged_job_gets_409(
    client: TestClient, enclave: Enclave
) -> None:
    first = signed(enclave)
    verdict = client.post("/attestations", json=body(first)).json()
    again = signed(enclave, job=first.evidence.job, claimed_epsilon=0.1)
    response = client.post("/attestations", json=body(again))
    assert response.status_code == 409
    assert response.json()["check"] == "job"
    assert response.json()["verdict"] == verdict


def test_verdicts_are_served_by_job(client: TestClient, enclave: Enclave) -> None:
    attestation = signed(enclave)
    verdict = client.post("/attestations", json=body(attestation)).json()
    assert client.get(f"/verdicts/{attestation.evidence.job}").json() == verdict
    assert (
        client.get(f"/verdicts/{attestation.evidence.job.upper().replace('0X', '0x')}").json()
        == verdict
    )


def test_an_unknown_job_is_404_and_a_malformed_one_422(client: TestClient) -> None:
    missing = client.get("/verdicts/0x" + "77" * 32)
    assert (missing.status_code, missing.json()["check"]) == (404, "job")
    malformed = client.get("/verdicts/42")
    assert malformed.status_code == 422
    assert malformed.json()["detail"].startswith("schema: job: ")


def test_health_names_the_node_and_its_signer(client: TestClient, node: OracleNode) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert (health["node"], health["signer"]) == ("node-1", node.account.address)
    assert health["chain_id"] == 31337


def test_metrics_count_verdicts_rejections_and_the_epsilon_memo(
    client: TestClient, enclave: Enclave
) -> None:
    client.post("/attestations", json=body(signed(enclave)))
    client.post("/attestations", json=body(_tampered(enclave)))
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    for sample in (
        'rcm_oracle_verdicts_total{verdict="compliant"}',
        'rcm_oracle_rejections_total{check="signature"}',
        "rcm_oracle_judge_seconds_count",
        "rcm_oracle_epsilon_cache_hits_total",
        "rcm_oracle_epsilon_cache_misses_total",
    ):
        assert sample in response.text


def test_the_openapi_document_describes_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {"/attestations", "/verdicts/{job}", "/rounds/{round_id}/prices",
                          "/health", "/metrics"}
    assert set(paths["/attestations"]["post"]["responses"]) == {"201", "409", "422"}


def test_a_restarted_node_serves_every_verdict_it_signed(
    client: TestClient, enclave: Enclave, oracle_dir: Path, database: Path
) -> None:
    attestation = signed(enclave, claimed_epsilon=0.2)
    verdict = client.post("/attestations", json=body(attestation)).json()
    with TestClient(create_app(_node(oracle_dir, database))) as restarted:
        assert restarted.get(f"/verdicts/{attestation.evidence.job}").json() == verdict
        assert restarted.post("/attestations", json=body(attestation)).status_code == 409


def test_nodes_sign_identical_verdict_content_for_one_attestation(
    client: TestClient, node: OracleNode, enclave: Enclave, oracle_dir: Path, tmp_path: Path
) -> None:
    attestation = signed(enclave, claimed_epsilon=0.5, datasets=[BANNED_DATASET])
    other = _node(oracle_dir, tmp_path / "node-2.sqlite", index=2)
    with TestClient(create_app(other)) as second:
        verdicts = [
            c.post("/attestations", json=body(attestation)).json() for c in (client, second)
        ]
    content = [(v["job"], v["verdict"], v["fault"], v["clauses_hash"]) for v in verdicts]
    assert content[0] == content[1]
    assert [signer_of(v) for v in verdicts] == [node.account.address, other.account.address]


def test_a_node_without_a_chain_still_verifies_and_signs_for_its_configured_domain(
    enclave: Enclave, oracle_dir: Path, tmp_path: Path
) -> None:
    settings = {
        "chain_id": 11155111,
        "policy_oracle": "0x" + "5a" * 20,
        "config_digest": "0x" + "c0" * 32,
    }
    offline = _node(oracle_dir, tmp_path / "node-3.sqlite", index=3, **settings)
    with TestClient(create_app(offline)) as client:
        verdict = client.post("/attestations", json=body(signed(enclave))).json()
    assert {k: verdict[k] for k in settings} == settings
    assert signer_of(verdict) == offline.account.address


def test_a_node_that_reads_no_chain_refuses_to_price_naming_the_check(
    client: TestClient,
) -> None:
    response = client.post("/rounds/1/prices")
    assert response.status_code == 422
    assert response.json() == {
        "detail": "pricing: this node reads no chain, so it cannot price rounds",
        "check": "pricing"}


def _reading(oracle_dir: Path, database: Path, futures: FutureReader, **settings: Any
             ) -> OracleNode:
    config = read_node_config(oracle_dir / "node-1.toml")
    return load_node(config.model_copy(update={"database": database, **settings}), PASSWORD,
                     futures=futures)


def _bought(attestation: Attestation, **changes: Any) -> FutureTerms:
    """A future that bought what the attestation's job used and declared what it ran."""
    evidence = attestation.evidence
    return replace(FutureTerms(
        bought=evidence.resources,
        window=Window(0, 2**40),
        purpose_id=purpose_id(evidence.purpose),
        dataset=None,
        epsilon_micros=0,
        delta_atto=0,
        private_datasets=frozenset(),
        dataset_categories={},
        risk_bps=1_000,
        declaration_hash=evidence.declaration_hash,
        rubric_hash=launch_rubric_hash(),
    ), **changes)


def test_a_node_reading_a_chain_judges_a_futures_job_by_the_future_and_refuses_others(
    enclave: Enclave, oracle_dir: Path, tmp_path: Path
) -> None:
    redeemed, outside = signed(enclave), signed(enclave)
    dataset = redeemed.evidence.datasets[0]
    bought = _bought(
        redeemed,
        bought=ResourceUse(gpu_hours=1_344.0, energy_kwh=0.0, storage_gb=0.0),
        purpose_id=purpose_id("diagnostics"),
        dataset=dataset,
        epsilon_micros=1_000_000,
        delta_atto=10**13,
        private_datasets=frozenset({dataset}),
    )
    asked: list[str] = []

    def futures(job: str) -> FutureTerms:
        asked.append(job)
        if job != redeemed.evidence.job:
            raise FutureUnreadable(f"{job} is no redeemed future on this chain")
        return bought

    with TestClient(create_app(_reading(oracle_dir, tmp_path / "node.sqlite", futures))) as node:
        verdict = node.post("/attestations", json=body(redeemed)).json()
        assert (verdict["verdict"], verdict["fault"]) == ("violation", "provider")
        assert sorted(c["id"] for c in verdict["clauses"]) == [
            "future.epsilon", "future.gpu_hours", "future.purpose"]
        refused = node.post("/attestations", json=body(outside))
        assert (refused.status_code, refused.json()["check"]) == (422, "future")
        # A replay is answered from the store: the chain is not read again.
        assert node.post("/attestations", json=body(redeemed)).status_code == 409
    assert asked == [redeemed.evidence.job, outside.evidence.job]


def test_a_node_that_cannot_read_the_jobs_future_refuses_naming_the_check(
    enclave: Enclave, oracle_dir: Path, tmp_path: Path
) -> None:
    def unreachable(job: str) -> FutureTerms:
        raise FutureUnreadable("cannot reach the chain at http://127.0.0.1:1 (--rpc)")

    attestation = signed(enclave)
    reading = _reading(oracle_dir, tmp_path / "node.sqlite", unreachable)
    with TestClient(create_app(reading)) as node:
        response = node.post("/attestations", json=body(attestation))
        assert response.status_code == 422
        assert response.json()["check"] == "future"
        assert node.get(f"/verdicts/{attestation.evidence.job}").status_code == 404


def test_a_node_without_the_rounds_rubric_refuses_naming_the_check(
    enclave: Enclave, oracle_dir: Path, tmp_path: Path
) -> None:
    attestation = signed(enclave)
    regulators = tmp_path / "rubrics"
    regulators.mkdir()
    published = regulators / "stricter.toml"
    published.write_bytes(DEFAULT_RUBRIC.read_bytes().replace(b"tolerance_bps = 250",
                                                             b"tolerance_bps = 0"))
    pinned = rubric_hash(published.read_bytes())
    terms = _bought(attestation, rubric_hash=pinned)
    without = _reading(oracle_dir, tmp_path / "without.sqlite", lambda job: terms)
    with TestClient(create_app(without)) as node:
        response = node.post("/attestations", json=body(attestation))
        assert response.status_code == 422
        assert response.json() == {
            "detail": f"rubric: the job's round pinned rubric 0x{pinned.hex()}, which is not "
                      "among the shipped rubrics",
            "check": "rubric"}
        assert node.get(f"/verdicts/{attestation.evidence.job}").status_code == 404
    # Given the regulator's published file, a node scores with it.
    holding = _reading(oracle_dir, tmp_path / "holding.sqlite", lambda job: terms,
                       rubrics=regulators)
    with TestClient(create_app(holding)) as node:
        response = node.post("/attestations", json=body(attestation))
        assert (response.status_code, response.json()["verdict"]) == (201, "compliant")
    assert holding.rubrics[pinned].tolerance_bps == 0


def test_every_node_finds_an_understated_risk_in_authentic_evidence(
    enclave: Enclave, oracle_dir: Path, tmp_path: Path
) -> None:
    declared = default_ran("research")
    ran = declared.model_copy(update={"task": "training", "job_flop": 2 * 10**22,
                                      "model_flop": 2 * 10**22})
    attestation = signed(enclave, ran=ran, declared="0x" + declaration_hash(declared).hex())
    terms = _bought(attestation)
    verdicts = []
    for index in (1, 2, 3):
        config = read_node_config(oracle_dir / f"node-{index}.toml")
        node = load_node(config.model_copy(update={"database": tmp_path / f"{index}.sqlite"}),
                         PASSWORD, futures=lambda job: terms)
        with TestClient(create_app(node)) as client:
            verdicts.append(client.post("/attestations", json=body(attestation)).json())
    # Training (+1,000) past the 10^22 FLOP job line (+200) on the base: 2,200 > 1,000 + 250.
    assert {(v["verdict"], v["fault"], tuple(c["id"] for c in v["clauses"])) for v in verdicts} == {
        ("violation", "buyer", ("regulator.risk_understated",))}
    assert len({v["clauses_hash"] for v in verdicts}) == 1
    assert len({signer_of(v) for v in verdicts}) == 3
