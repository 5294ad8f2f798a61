"""Register an oracle set on-chain and point its nodes' configurations at it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chain.policy_oracle import config_digest, set_config
from chain.system import System
from oracle.config import NodeConfig, read_toml, write_toml
from oracle.errors import ConfigError

if TYPE_CHECKING:
    from chain.contract import Receipt
    from chain.signer import Signer


@dataclass(frozen=True)
class RegisteredSet:
    config_digest: str
    signers: list[str]
    threshold: int
    configs: list[Path]
    receipt: Receipt


def node_config_paths(directory: Path) -> list[Path]:
    paths = sorted(directory.glob("node-*.toml"))
    if not paths:
        raise ConfigError(f"{directory}: no node-*.toml")
    return paths


def register_oracle_set(system: System, governance: Signer, directory: Path) -> RegisteredSet:
    """Sets the nodes of `directory` and their threshold on PolicyOracle, then writes the
    chain id, the contract and the new configuration digest into every node's TOML."""
    paths = node_config_paths(directory)
    configs = [read_toml(path, NodeConfig) for path in paths]
    thresholds = {config.threshold for config in configs}
    if len(thresholds) != 1:
        raise ConfigError(f"{directory}: the nodes disagree on the threshold {sorted(thresholds)}")
    signers = [config.address for config in configs]
    threshold = thresholds.pop()
    receipt = set_config(system, governance, signers, threshold)
    digest = "0x" + config_digest(system).hex()
    for path, config in zip(paths, configs, strict=True):
        update = {
            "chain_id": system.chain.chain_id,
            "policy_oracle": system.oracle.address,
            "config_digest": digest,
        }
        write_toml(path, config.model_copy(update=update), overwrite=True)
    return RegisteredSet(digest, signers, threshold, paths, receipt)
