"""The deployment manifest `$RCM_HOME/deployments/<chain-id>.json`: what every client loads."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from chain.config import rcm_home
from chain.errors import NoDeployment


class DeployedContract(BaseModel):
    address: str
    abi_hash: str


class Manifest(BaseModel):
    chain_id: int
    deploy_block: int
    governance: str
    payment_token: str
    contracts: dict[str, DeployedContract]


def manifest_path(chain_id: int) -> Path:
    return rcm_home() / "deployments" / f"{chain_id}.json"


def save_manifest(manifest: Manifest) -> Path:
    path = manifest_path(manifest.chain_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest.model_dump(), indent=2) + "\n")
    tmp.replace(path)
    return path


def load_manifest(chain_id: int) -> Manifest:
    path = manifest_path(chain_id)
    if not path.exists():
        raise NoDeployment(f"no deployment for chain id {chain_id} at {path}")
    return Manifest.model_validate_json(path.read_text())
