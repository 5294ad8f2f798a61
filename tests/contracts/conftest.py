"""One deployment per test module on the embedded chain; each test runs in a snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.connection import Chain, connect
from chain.deploy import deploy_system
from chain.system import System
from tests.support import role

# Indices of the embedded chain's pre-funded development accounts.
GOVERNANCE, REGULATOR, CLEARING, ORACLE, BUYER, PROVIDER, OUTSIDER = range(7)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return connect()


@pytest.fixture(scope="module")
def governance(chain: Chain) -> LocalAccount:
    return chain.dev_account(GOVERNANCE)


@pytest.fixture(scope="module")
def regulator(chain: Chain) -> LocalAccount:
    return chain.dev_account(REGULATOR)


@pytest.fixture(scope="module")
def clearing(chain: Chain) -> LocalAccount:
    return chain.dev_account(CLEARING)


@pytest.fixture(scope="module")
def oracle(chain: Chain) -> LocalAccount:
    return chain.dev_account(ORACLE)


@pytest.fixture(scope="module")
def buyer(chain: Chain) -> LocalAccount:
    return chain.dev_account(BUYER)


@pytest.fixture(scope="module")
def provider(chain: Chain) -> LocalAccount:
    return chain.dev_account(PROVIDER)


@pytest.fixture(scope="module")
def outsider(chain: Chain) -> LocalAccount:
    return chain.dev_account(OUTSIDER)


@pytest.fixture(scope="module")
def system(
    chain: Chain,
    governance: LocalAccount,
    regulator: LocalAccount,
    clearing: LocalAccount,
    oracle: LocalAccount,
    buyer: LocalAccount,
    provider: LocalAccount,
) -> System:
    """Deployed, with each stakeholder role held by its own account and CST in the hands of
    the buyer and the provider."""
    deployed = deploy_system(chain, governance)
    grants: list[tuple[Any, str, LocalAccount]] = [
        (deployed.vault, "REGULATOR_ROLE", regulator),
        (deployed.reputation, "REGULATOR_ROLE", regulator),
        (deployed.vault, "CLEARING_ROLE", clearing),
        (deployed.vault, "ORACLE_ROLE", oracle),
        (deployed.reputation, "AUDITOR_ROLE", oracle),
    ]
    for contract, name, holder in grants:
        chain.send(contract.functions.grantRole(role(contract, name), holder.address), governance)
    for holder in (buyer, provider):
        chain.send(deployed.cst.functions.mint(holder.address, 1_000 * 10**18), governance)
        chain.send(deployed.cst.functions.approve(deployed.vault.address, 2**256 - 1), holder)
    return deployed


@pytest.fixture(autouse=True)
def _isolated(chain: Chain, system: System) -> Iterator[None]:
    snapshot = chain.snapshot()
    yield
    chain.revert_to(snapshot)


@pytest.fixture(scope="module")
def oracle_nodes() -> list[LocalAccount]:
    """Seven oracle node keys (deterministic, TEST-ONLY), ascending by address."""
    from eth_account import Account

    keys = [Account.from_key(bytes([0x40 + i]) * 32) for i in range(7)]
    return sorted(keys, key=lambda account: int(account.address, 16))
