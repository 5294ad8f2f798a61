"""Fixtures of the oracle tests: a software enclave (the provider) and an initialised oracle set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from oracle.attestation import TrustPolicy, certificate_fingerprint
from oracle.attester import Enclave, new_enclave, write_enclave
from oracle.config import init_oracle_dir
from oracle.examples import example_policies
from oracle.policy import Policies
from tests.oracle.factories import PASSWORD
from tests.support import Run, rcm_in_process


@pytest.fixture(scope="session")
def enclave() -> Enclave:
    return new_enclave()


@pytest.fixture(scope="session")
def enclave_dir(enclave: Enclave, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("enclave")
    write_enclave(directory, enclave)
    return directory


@pytest.fixture(scope="session")
def policies(enclave: Enclave) -> Policies:
    return example_policies([certificate_fingerprint(enclave.cert_chain[-1])])


@pytest.fixture(scope="session")
def trust(policies: Policies) -> TrustPolicy:
    return policies.regulator.trust


@pytest.fixture(scope="session")
def oracle_dir(enclave_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three nodes, threshold two, trusting the enclave's root (keystores take ~1 s each)."""
    directory = tmp_path_factory.mktemp("oracle")
    init_oracle_dir(
        directory,
        nodes=3,
        threshold=2,
        trust_roots=[enclave_dir / "root.pem"],
        password=lambda: PASSWORD,
    )
    return directory


@pytest.fixture
def rcm(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Runs the `rcm` command in this process: its exit code and what it printed."""
    monkeypatch.setenv("RCM_PASSWORD", PASSWORD)

    return lambda *args: rcm_in_process(args, capsys, monkeypatch)
