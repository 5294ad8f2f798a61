"""Node configuration files (`node-<i>.toml`), policy files, and `rcm oracle init` writing them.

A node file's keys; relative paths are relative to the file's directory::

    name = "node-1"                      # shown in /health and logs
    address = "0x…"                      # the node's signer, readable without the password
    keystore = "keys/node-1.json"        # encrypted eth-account keystore (secp256k1)
    database = "data/node-1.sqlite"      # verdicts it signed
    trusted_roots = ["roots/….pem"]      # provider roots installed on this node
    host = "127.0.0.1"
    port = 8701
    threshold = 2                        # k of the oracle set …
    signers = ["0x…", "0x…", "0x…"]      # … and its n signers, in node order
    chain_id = 31337                     # EIP-712 domain of the verdicts it signs …
    policy_oracle = "0x000…000"          # … PolicyOracle's address (zero until deployed)
    config_digest = "0x000…000"          # the registered oracle set (zero until registered)
    rubrics = "rubrics"                  # optional: risk rubrics (TOML) beside those shipped

    [policies]                           # one file per stakeholder
    regulator = "policies/regulator.toml"
    data_owner = "policies/data_owner.toml"
    operator = "policies/operator.toml"
    buyer = "policies/buyer.toml"

A node scores what a job ran with the rubric its round's policy pinned, found by its hash
among the files in `rubrics` and those shipped with rcm (`risk/rubrics/`); a regulator
publishes any other.

`chain_id`, `policy_oracle` and `config_digest` stay top-level keys: registering the set on a
chain rewrites them in place, and a node reads them when it starts.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chain.addresses import Address
from chain.keystore import write_keystore
from oracle.attestation import Bytes32Hex, certificate_fingerprint
from oracle.errors import ConfigError
from oracle.policy import (
    BuyerPolicy,
    DataOwnerPolicy,
    OperatorPolicy,
    Policies,
    RegulatorPolicy,
)

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_DIGEST = "0x" + "00" * 32
DEFAULT_CHAIN_ID = 31337
DEFAULT_BASE_PORT = 8700
STAKEHOLDERS = ("regulator", "data_owner", "operator", "buyer")

Model = TypeVar("Model", bound=BaseModel)


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyFiles(_Config):
    regulator: Path
    data_owner: Path
    operator: Path
    buyer: Path


class NodeConfig(_Config):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    address: Address
    keystore: Path
    database: Path
    trusted_roots: Annotated[list[Path], Field(min_length=1)]
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)]
    threshold: Annotated[int, Field(ge=1)]
    signers: Annotated[list[Address], Field(min_length=1)]
    chain_id: Annotated[int, Field(ge=1)] = DEFAULT_CHAIN_ID
    policy_oracle: Address = ZERO_ADDRESS
    config_digest: Bytes32Hex = ZERO_DIGEST
    rubrics: Path | None = None
    policies: PolicyFiles

    def resolved(self, base: Path) -> NodeConfig:
        """The same configuration with every path made absolute against `base`."""
        return self.model_copy(
            update={
                "keystore": base / self.keystore,
                "database": base / self.database,
                "trusted_roots": [base / root for root in self.trusted_roots],
                "rubrics": base / self.rubrics if self.rubrics else None,
                "policies": PolicyFiles(
                    **{name: base / getattr(self.policies, name) for name in STAKEHOLDERS}
                ),
            }
        )


def read_toml(path: Path, model: type[Model]) -> Model:
    try:
        with path.open("rb") as source:
            data = tomllib.load(source)
        return model.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None


def write_toml(path: Path, model: BaseModel, overwrite: bool = False) -> None:
    """Writes a new file; an existing one only with `overwrite`, and then atomically."""
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_suffix(".tmp") if overwrite else path
    try:
        with target.open("xb") as out:
            tomli_w.dump(model.model_dump(mode="json", exclude_none=True), out)
    except FileExistsError:
        raise ConfigError(f"{path} already exists") from None
    if overwrite:
        target.replace(path)


def read_node_config(path: Path) -> NodeConfig:
    return read_toml(path, NodeConfig).resolved(path.resolve().parent)


def read_policies(files: PolicyFiles) -> Policies:
    return Policies(
        regulator=read_toml(files.regulator, RegulatorPolicy),
        data_owner=read_toml(files.data_owner, DataOwnerPolicy),
        operator=read_toml(files.operator, OperatorPolicy),
        buyer=read_toml(files.buyer, BuyerPolicy),
    )


def root_fingerprint(path: Path) -> str:
    try:
        return certificate_fingerprint(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{path}: not a PEM X.509 certificate") from None


def init_oracle_dir(
    directory: Path,
    *,
    nodes: int,
    threshold: int,
    trust_roots: list[Path],
    password: Callable[[], str],
    base_port: int = DEFAULT_BASE_PORT,
    chain_id: int = DEFAULT_CHAIN_ID,
) -> list[NodeConfig]:
    """Keys, example policies and one configuration per node of a new oracle set.

    `password` is asked for only once the rest of the request is known to be valid.
    """
    from eth_account import Account

    from oracle.examples import example_policies

    if not 1 <= threshold <= nodes:
        raise ConfigError(f"threshold: need 1 <= threshold <= nodes, got {threshold} of {nodes}")
    if not trust_roots:
        raise ConfigError("trust_root: give at least one provider root certificate")
    names = [f"node-{i}" for i in range(1, nodes + 1)]
    if existing := [n for n in names if (directory / f"{n}.toml").exists()]:
        raise ConfigError(f"{directory / existing[0]}.toml already exists")
    fingerprints = [root_fingerprint(root) for root in trust_roots]
    secret = password()
    keystores = [Path("keys") / f"{name}.json" for name in names]
    signers = [
        write_keystore(directory / keystore, bytes(Account.create().key), secret)
        for keystore in keystores
    ]
    roots = [Path("roots") / f"{fingerprint[:16]}.pem" for fingerprint in fingerprints]
    for source, target in zip(trust_roots, roots, strict=True):
        (directory / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, directory / target)
    policies = example_policies(fingerprints)
    files = PolicyFiles(**{name: Path("policies") / f"{name}.toml" for name in STAKEHOLDERS})
    for name in STAKEHOLDERS:
        write_toml(directory / getattr(files, name), getattr(policies, name))
    configs = [
        NodeConfig(
            name=name,
            address=address,
            keystore=keystore,
            database=Path("data") / f"{name}.sqlite",
            trusted_roots=roots,
            port=base_port + index,
            threshold=threshold,
            signers=signers,
            chain_id=chain_id,
            policies=files,
        )
        for index, (name, address, keystore) in enumerate(
            zip(names, signers, keystores, strict=True), start=1
        )
    ]
    for config in configs:
        write_toml(directory / f"{config.name}.toml", config)
    return configs
