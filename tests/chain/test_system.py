"""Deployment manifest: written on deploy, loaded by clients, refused when stale."""

from __future__ import annotations

import json

import pytest

from chain.connection import connect
from chain.deploy import deploy_system
from chain.errors import ChainError, NoDeployment
from chain.events import events
from chain.manifest import load_manifest, manifest_path
from chain.system import System


@pytest.fixture(scope="module")
def deployed() -> System:
    chain = connect()
    return deploy_system(chain, chain.dev_account(0))


def test_manifest_records_addresses_block_and_abi_hashes(deployed: System) -> None:
    manifest = load_manifest(deployed.chain.chain_id)
    assert set(manifest.contracts) == {
        "TestUSD", "ComputeSafetyToken", "ReputationRegistry", "SafetyVault", "PolicyOracle",
        "PrivacyBudgetLedger", "ComputeFutures", "PolicyRegistry", "ClearingHouse",
        "ClearingHouseResults", "ClearingHouseDelivery", "FuturesExchange"}
    assert manifest.payment_token == manifest.contracts["TestUSD"].address
    assert manifest.deploy_block >= 1
    assert all(c.abi_hash.startswith("0x") for c in manifest.contracts.values())
    assert System.load(deployed.chain).vault.address == deployed.vault.address


def test_every_contract_fits_the_deployed_code_size_limit(deployed: System) -> None:
    w3 = deployed.chain.w3
    sizes = {
        name: len(w3.eth.get_code(w3.to_checksum_address(c.address)))
        for name, c in deployed.manifest.contracts.items()
    }
    assert max(sizes.values()) <= 24_576, sizes  # EIP-170


def test_governance_may_open_rounds(deployed: System) -> None:
    house = deployed.clearing_house.functions
    role = house.AUCTIONEER_ROLE().call()
    assert house.hasRole(role, deployed.manifest.governance).call() is True


def test_a_fresh_chain_makes_the_manifest_stale(deployed: System) -> None:
    with pytest.raises(ChainError, match="stale: no code at"):
        System.load(connect())  # same chain id, nothing deployed: like a restarted Hardhat node


def test_a_changed_abi_makes_the_manifest_stale(deployed: System) -> None:
    path = manifest_path(deployed.chain.chain_id)
    saved = path.read_text()
    raw = json.loads(saved)
    raw["contracts"]["SafetyVault"]["abi_hash"] = "0x00"
    path.write_text(json.dumps(raw))
    try:
        with pytest.raises(ChainError, match="SafetyVault's ABI changed"):
            System.load(deployed.chain)
    finally:
        path.write_text(saved)


def test_no_manifest_is_no_deployment() -> None:
    with pytest.raises(NoDeployment, match="no deployment for chain id 4242"):
        load_manifest(4242)


def test_a_real_network_needs_a_payment_token(
    deployed: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deployed.chain, "chain_id", 1)
    with pytest.raises(ChainError, match="payment token"):
        deploy_system(deployed.chain, deployed.chain.dev_account(0))


def test_unreachable_rpc_is_named() -> None:
    with pytest.raises(ChainError, match=r"rpc: cannot reach the chain at http://127.0.0.1:9"):
        connect("http://127.0.0.1:9")
    with pytest.raises(ChainError, match="rpc: expected an http"):
        connect("ftp://example")


def test_the_clearing_house_is_the_one_holder_of_every_role_that_moves_value_for_jobs(
    deployed: System,
) -> None:
    """One enforcement (issue 16): the clearing house alone opens oracle jobs, acts on their
    verdicts, locks, releases and burns stake and bonds, moves ε and mints futures, so no other
    contract can open a job on a future's id or move a lock the clearing house holds."""
    house = deployed.clearing_house.address
    for contract, name in ((deployed.oracle, "CONSUMER_ROLE"), (deployed.vault, "CLEARING_ROLE"),
                           (deployed.vault, "ORACLE_ROLE"), (deployed.reputation, "AUDITOR_ROLE"),
                           (deployed.ledger, "CLEARING_ROLE"),
                           (deployed.futures, "CLEARING_ROLE")):
        role = bytes(getattr(contract.functions, name)().call())
        holders = {e.args["account"] for e in events(deployed, contract, "RoleGranted")
                   if bytes(e.args["role"]) == role}
        assert holders == {house}, (contract.address, name)
