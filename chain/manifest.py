"""The deployment manifest `$RCM_HOME/deployments/<chain-id>.json`: what every client loads.

Plain dataclasses read by hand: every chain command loads it, and a pydantic model of it costs
a command more time to build than the file takes to read."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chain.addresses import parse_address
from chain.config import rcm_home
from chain.errors import NoDeployment, RcmError, StaleDeployment


@dataclass(frozen=True)
class DeployedContract:
    address: str
    abi_hash: str


@dataclass(frozen=True)
class Manifest:
    chain_id: int
    deploy_block: int
    governance: str
    payment_token: str
    contracts: dict[str, DeployedContract]

    @classmethod
    def from_json(cls, document: Any) -> Manifest:
        """The manifest a JSON document holds; ValueError, or RcmError for an address, naming
        what is wrong."""
        try:
            contracts = {str(name): DeployedContract(parse_address(c["address"], name),
                                                     str(c["abi_hash"]))
                         for name, c in document["contracts"].items()}
            return cls(_integer(document["chain_id"]), _integer(document["deploy_block"]),
                       parse_address(document["governance"], "governance"),
                       parse_address(document["payment_token"], "payment_token"), contracts)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"missing or malformed {exc}") from None


def _integer(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def manifest_path(chain_id: int) -> Path:
    return rcm_home() / "deployments" / f"{chain_id}.json"


def save_manifest(manifest: Manifest) -> Path:
    path = manifest_path(manifest.chain_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    tmp.replace(path)
    return path


def load_manifest(chain_id: int) -> Manifest:
    path = manifest_path(chain_id)
    if not path.exists():
        raise NoDeployment(f"no deployment for chain id {chain_id} at {path}")
    try:
        return Manifest.from_json(json.loads(path.read_text()))
    except (ValueError, RcmError) as exc:  # JSONDecodeError among them
        raise StaleDeployment(f"{path} is not a deployment manifest: {exc}") from None
