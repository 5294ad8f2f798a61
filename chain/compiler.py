"""Compile contracts/ with the pinned Solidity compiler; artifacts cached by content hash.

No native `solc` can be downloaded on our machines, so py-solc-x drives solc-js through
`solc_shim.js`; a native `solc` of the pinned version on PATH is used when present.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from chain.config import CONTRACTS_DIR, NODE_MODULES, PROJECT_ROOT, cache_dir
from chain.errors import ChainError

SOLC_VERSION = "0.8.28"
SHIM = Path(__file__).with_name("solc_shim.js")
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    runtime: str

    @property
    def runtime_size(self) -> int:
        """Bytes of deployed code: what EIP-170 limits to 24,576."""
        return (len(self.runtime) - 2) // 2

    @property
    def abi_hash(self) -> str:
        return abi_hash(self.abi)


@dataclass(frozen=True)
class Interface:
    """What a client needs of a compiled contract: its ABI, and the ABI's hash that the
    deployment manifest records."""

    abi: list[dict[str, Any]]
    abi_hash: str


def abi_hash(abi: list[dict[str, Any]]) -> str:
    return "0x" + hashlib.sha256(json.dumps(abi, sort_keys=True).encode()).hexdigest()


def _sources() -> dict[str, str]:
    return {
        path.relative_to(PROJECT_ROOT).as_posix(): path.read_text()
        for path in sorted(CONTRACTS_DIR.rglob("*.sol"))
    }


def _source_hash(sources: dict[str, str]) -> str:
    digest = hashlib.sha256()
    lock = PROJECT_ROOT / "package-lock.json"
    # The lock file pins OpenZeppelin's sources, which reach the compiler through imports.
    for part in (SOLC_VERSION, json.dumps(SETTINGS, sort_keys=True), lock.read_text()):
        digest.update(part.encode())
    for name, text in sources.items():
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


def _solc_binary() -> Path:
    native = shutil.which("solc")
    if native:
        version = subprocess.run([native, "--version"], capture_output=True, text=True).stdout
        if f"Version: {SOLC_VERSION}" in version:
            return Path(native)
    if not (NODE_MODULES / "solc").is_dir():
        raise ChainError("solc-js is not installed: run `make bootstrap` (npm ci) first")
    return SHIM


def _compile(sources: dict[str, str]) -> dict[str, Artifact]:
    import solcx

    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": SETTINGS,
    }
    try:
        output = solcx.compile_standard(
            standard_input,
            solc_binary=_solc_binary(),
            base_path=PROJECT_ROOT,
            allow_paths=[PROJECT_ROOT],
        )
    except solcx.exceptions.SolcError as exc:
        raise ChainError(f"contracts failed to compile:\n{exc.message}") from exc
    artifacts = {}
    for path, contracts in output["contracts"].items():
        if not path.startswith("contracts/"):
            continue
        for name, compiled in contracts.items():
            bytecode = compiled["evm"]["bytecode"]["object"]
            if bytecode:
                runtime = compiled["evm"]["deployedBytecode"]["object"]
                artifacts[name] = Artifact(name, compiled["abi"], "0x" + bytecode, "0x" + runtime)
    return artifacts


def _cached(sources: dict[str, str], suffix: str) -> Path:
    """The cache file of these sources' artifacts (`.json`) or interfaces (`.abi.json`)."""
    return cache_dir() / "artifacts" / f"{_source_hash(sources)}{suffix}"


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


@cache
def load_artifacts() -> dict[str, Artifact]:
    """Every deployable contract under contracts/, compiled once per source content."""
    sources = _sources()
    cached = _cached(sources, ".json")
    if cached.exists():
        raw = json.loads(cached.read_text())
        return {name: Artifact(name, a["abi"], a["bytecode"], a["runtime"])
                for name, a in raw.items()}
    artifacts = _compile(sources)
    _write_json(cached, {name: {"abi": a.abi, "bytecode": a.bytecode, "runtime": a.runtime}
                         for name, a in artifacts.items()})
    return artifacts


@cache
def load_interfaces() -> dict[str, Interface]:
    """Every contract's ABI and its hash, from a file kept beside the artifacts: a client
    checking a deployment or calling a contract needs no bytecode, which is most of them."""
    cached = _cached(_sources(), ".abi.json")
    if cached.exists():
        raw = json.loads(cached.read_text())
        return {name: Interface(i["abi"], i["abi_hash"]) for name, i in raw.items()}
    interfaces = {name: Interface(a.abi, a.abi_hash) for name, a in load_artifacts().items()}
    _write_json(cached, {name: {"abi": i.abi, "abi_hash": i.abi_hash}
                         for name, i in interfaces.items()})
    return interfaces


def artifact(name: str) -> Artifact:
    try:
        return load_artifacts()[name]
    except KeyError:
        raise ChainError(f"no compiled contract named {name}") from None


def interface(name: str) -> Interface:
    try:
        return load_interfaces()[name]
    except KeyError:
        raise ChainError(f"no compiled contract named {name}") from None
