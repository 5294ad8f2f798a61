"""The compiler: solc-js behind a py-solc-x shim, artifacts cached by content hash."""

from __future__ import annotations

import subprocess

import pytest

from chain import compiler
from chain.config import cache_dir
from chain.errors import ChainError


def test_shim_answers_version_like_solc() -> None:
    out = subprocess.run([str(compiler.SHIM), "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert f"Version: {compiler.SOLC_VERSION}" in out.stdout


def test_every_contract_compiles_with_abi_and_bytecode() -> None:
    artifacts = compiler.load_artifacts()
    for name in ("ComputeSafetyToken", "TestUSD", "ReputationRegistry", "SafetyVault"):
        assert artifacts[name].bytecode.startswith("0x6") and len(artifacts[name].bytecode) > 100
        assert any(entry["type"] == "function" for entry in artifacts[name].abi)


def test_cache_key_changes_with_any_source_byte() -> None:
    sources = compiler._sources()
    key = compiler._source_hash(sources)
    assert compiler._source_hash(dict(sources)) == key
    first = next(iter(sources))
    assert compiler._source_hash({**sources, first: sources[first] + " "}) != key


def test_artifacts_are_read_back_from_the_cache() -> None:
    compiled = compiler.load_artifacts()
    cached = cache_dir() / "artifacts" / f"{compiler._source_hash(compiler._sources())}.json"
    assert cached.exists()
    compiler.load_artifacts.cache_clear()
    try:
        assert compiler.load_artifacts() == compiled  # read back from the file, not recompiled
    finally:
        compiler.load_artifacts.cache_clear()


def test_a_syntax_error_is_reported_with_the_compiler_message() -> None:
    with pytest.raises(ChainError, match="failed to compile"):
        compiler._compile({"contracts/Broken.sol": "pragma solidity ^0.8.28; contract B { x }"})


def test_unknown_contract_name_is_a_clear_error() -> None:
    with pytest.raises(ChainError, match="no compiled contract named Nope"):
        compiler.artifact("Nope")
