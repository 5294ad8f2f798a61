"""oracle.config: `rcm oracle init` output, node files and policy files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from oracle.config import (
    ZERO_ADDRESS,
    ZERO_DIGEST,
    init_oracle_dir,
    read_node_config,
    read_policies,
    read_toml,
)
from oracle.errors import ConfigError
from oracle.policy import Policies


def test_init_writes_one_config_per_node_sharing_the_policies(oracle_dir: Path) -> None:
    configs = [read_node_config(oracle_dir / f"node-{i}.toml") for i in (1, 2, 3)]
    assert [c.port for c in configs] == [8701, 8702, 8703]
    assert all(c.signers == [d.address for d in configs] for c in configs)
    assert {c.policies for c in configs} == {configs[0].policies}
    assert all(c.keystore.exists() and c.trusted_roots[0].exists() for c in configs)
    assert len({c.database for c in configs}) == 3


def test_chain_settings_are_top_level_keys_with_local_defaults(oracle_dir: Path) -> None:
    data = tomllib.loads((oracle_dir / "node-1.toml").read_text())
    assert data["chain_id"] == 31337
    assert data["policy_oracle"] == ZERO_ADDRESS
    assert data["config_digest"] == ZERO_DIGEST
    assert data["threshold"] == 2


def test_paths_are_relative_to_the_config_file(oracle_dir: Path) -> None:
    data = tomllib.loads((oracle_dir / "node-1.toml").read_text())
    assert data["keystore"] == "keys/node-1.json"
    assert read_node_config(oracle_dir / "node-1.toml").keystore == oracle_dir / "keys/node-1.json"


def test_example_policies_round_trip_through_their_files(
    oracle_dir: Path, policies: Policies
) -> None:
    config = read_node_config(oracle_dir / "node-1.toml")
    assert read_policies(config.policies) == policies


def test_init_refuses_a_threshold_above_the_nodes(tmp_path: Path, enclave_dir: Path) -> None:
    with pytest.raises(ConfigError, match="threshold"):
        init_oracle_dir(
            tmp_path,
            nodes=2,
            threshold=3,
            trust_roots=[enclave_dir / "root.pem"],
            password=_never,
        )


def test_init_refuses_a_root_that_is_not_a_certificate(tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_text("nope")
    with pytest.raises(ConfigError, match=r"not a PEM X\.509 certificate"):
        init_oracle_dir(
            tmp_path / "o",
            nodes=1,
            threshold=1,
            trust_roots=[tmp_path / "root.pem"],
            password=_never,
        )


def test_init_never_overwrites_an_oracle_set(oracle_dir: Path, enclave_dir: Path) -> None:
    with pytest.raises(ConfigError, match="already exists"):
        init_oracle_dir(
            oracle_dir,
            nodes=1,
            threshold=1,
            trust_roots=[enclave_dir / "root.pem"],
            password=_never,
        )


def _never() -> str:
    raise AssertionError("the password is asked for only once the request is valid")


def test_a_node_config_with_an_unknown_key_is_refused(tmp_path: Path, oracle_dir: Path) -> None:
    text = (oracle_dir / "node-1.toml").read_text().replace("chain_id", "chainid")
    (tmp_path / "node.toml").write_text(text)
    with pytest.raises(ConfigError, match="chainid"):
        read_node_config(tmp_path / "node.toml")


def test_a_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"regulator\.toml"):
        read_toml(tmp_path / "regulator.toml", Policies)
