"""`rcm oracle init|serve`, and the acceptance run: three nodes, one enclave, every outcome."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from oracle.config import read_node_config
from oracle.node.background import serving_all
from tests.oracle.factories import MECHANISM_FLAGS, PASSWORD, Run, job_id, signer_of


def test_init_writes_keys_policies_and_one_config_per_node(
    rcm: Callable[..., Run], enclave_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the README's `rcm oracle init nodes`, on a wide terminal
    monkeypatch.setenv("COLUMNS", "200")
    root = str(enclave_dir / "root.pem")
    run = rcm("oracle", "init", "nodes", "--nodes", "1", "--threshold", "1", "--trust-root", root)
    assert run.code == 0, run.err
    config = read_node_config(tmp_path / "nodes" / "node-1.toml")
    assert max(map(len, run.out.splitlines())) <= 80, run.out
    assert f"node-1  {config.address}  http://127.0.0.1:{config.port}" in run.out
    assert "configs in nodes/<node>.toml" in run.out
    assert sorted(p.name for p in (tmp_path / "nodes" / "policies").iterdir()) == [
        "buyer.toml",
        "data_owner.toml",
        "operator.toml",
        "regulator.toml",
    ]


def test_init_checks_the_threshold_before_asking_for_a_password(
    rcm: Callable[..., Run], enclave_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RCM_PASSWORD")
    root = str(enclave_dir / "root.pem")
    run = rcm(
        "oracle", "init", str(tmp_path), "--nodes", "2", "--threshold", "3", "--trust-root", root
    )
    assert run.code == 2
    assert run.err.startswith("error: config: threshold: ")


def test_serve_says_which_node_serves_where_in_80_columns(
    rcm: Callable[..., Run], oracle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)  # stops at once
    run = rcm("oracle", "serve", "--config", str(oracle_dir / "node-1.toml"), "--host",
              "oracle-node-1.internal.example.org")
    assert run.code == 0, run.err
    config = read_node_config(oracle_dir / "node-1.toml")
    assert max(map(len, run.err.splitlines())) <= 80, run.err
    assert " ".join(run.err.split()) == (f"node-1 ({config.address}) serving on "
                                         f"http://oracle-node-1.internal.example.org:{config.port}")


def test_serve_with_the_wrong_password_exits_2(
    rcm: Callable[..., Run], oracle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCM_PASSWORD", "not the password")
    run = rcm("oracle", "serve", "--config", str(oracle_dir / "node-1.toml"))
    assert run.code == 2
    assert "wrong password" in run.err


def test_serve_with_a_missing_config_exits_2(rcm: Callable[..., Run], tmp_path: Path) -> None:
    run = rcm("oracle", "serve", "--config", str(tmp_path / "node-9.toml"))
    assert run.code == 2
    assert run.err.startswith("error: config: ")


def test_serve_with_a_mistyped_address_in_its_config_exits_2(
    rcm: Callable[..., Run], oracle_dir: Path, tmp_path: Path
) -> None:
    """Issue 18: a node signing for a mistyped PolicyOracle would sign for no contract."""
    mistyped = "0xB5f6E8eB1A846824b38a3f214F0CF487A9386617"
    text = (oracle_dir / "node-1.toml").read_text()
    config = tmp_path / "node-1.toml"
    config.write_text(text.replace('policy_oracle = "0x' + "0" * 40 + '"',
                                   f'policy_oracle = "{mistyped}"'))
    assert config.read_text() != text
    run = rcm("oracle", "serve", "--config", str(config))
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1, run.err
    assert "policy_oracle: " in run.err and f"{mistyped}: bad EIP-55 checksum" in run.err


@pytest.fixture(scope="module")
def nodes(oracle_dir: Path) -> Iterator[list[str]]:
    """The three nodes of `rcm oracle init`, served over loopback HTTP from this process (the
    crash-safety test runs `rcm oracle serve` as a process; three more would only add start-up)."""
    configs = [read_node_config(oracle_dir / f"node-{i}.toml") for i in (1, 2, 3)]
    with serving_all(configs, PASSWORD) as urls:
        yield urls


def _attestation(rcm: Callable[..., Run], enclave_dir: Path, *extra: str) -> dict[str, object]:
    job = ["--job", job_id(), "--dataset", "0x" + "da" * 32]
    run = rcm("enclave", "attest", "--enclave", str(enclave_dir), *job, *MECHANISM_FLAGS, *extra)
    assert run.code == 0, run.err
    return json.loads(run.out)


def test_three_nodes_agree_on_compliant_tampered_understated_and_replayed_attestations(
    rcm: Callable[..., Run], enclave_dir: Path, oracle_dir: Path, nodes: list[str]
) -> None:
    signers = read_node_config(oracle_dir / "node-1.toml").signers
    default = _attestation(rcm, enclave_dir)
    understated = _attestation(rcm, enclave_dir, "--claimed-epsilon", "0.5")
    tampered = json.loads(json.dumps(default))
    tampered["evidence"]["dp"]["noise_multiplier"] = 5.0
    compliant, violations = [], []
    for url, signer in zip(nodes, signers, strict=True):
        answer = httpx.post(f"{url}/attestations", json=default)
        assert answer.status_code == 201 and answer.json()["verdict"] == "compliant"
        assert signer_of(answer.json()) == signer
        compliant.append(answer.json())

        refused = httpx.post(f"{url}/attestations", json=tampered)
        assert (refused.status_code, refused.json()["check"]) == (422, "signature")

        violation = httpx.post(f"{url}/attestations", json=understated)
        assert violation.status_code == 201
        assert [c["id"] for c in violation.json()["clauses"]] == ["regulator.epsilon_claim"]
        violations.append(violation.json())

        replay = httpx.post(f"{url}/attestations", json=default)
        assert replay.status_code == 409
        assert replay.json()["verdict"] == answer.json()
    for verdicts in (compliant, violations):
        content = {(v["job"], v["verdict"], v["fault"], v["clauses_hash"]) for v in verdicts}
        assert len(content) == 1
