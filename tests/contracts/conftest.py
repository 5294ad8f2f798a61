"""One deployment per test module on the embedded chain; each test runs in a snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.connection import Chain, connect
from chain.deploy import deploy_system
from chain.system import System
from tests.contracts.settlement_fixtures import Market, build_market
from tests.support import role

# Indices of the embedded chain's pre-funded development accounts.
GOVERNANCE, REGULATOR, CLEARING, ORACLE, BUYER, PROVIDER, OUTSIDER = range(7)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return connect()


def _dev_account(index: int) -> Any:
    """A module fixture for one role, held by the embedded chain's pre-funded account `index`."""

    @pytest.fixture(scope="module")
    def holder(chain: Chain) -> LocalAccount:
        return chain.dev_account(index)

    return holder


governance = _dev_account(GOVERNANCE)
regulator = _dev_account(REGULATOR)
clearing = _dev_account(CLEARING)
oracle = _dev_account(ORACLE)
buyer = _dev_account(BUYER)
provider = _dev_account(PROVIDER)
outsider = _dev_account(OUTSIDER)


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


# ---- settlement: the clearing house's market (tests/contracts/settlement_fixtures.py) ----

AUCTIONEER, DATA_OWNER, RIVAL = 7, 8, 9

auctioneer = _dev_account(AUCTIONEER)
data_owner = _dev_account(DATA_OWNER)
rival = _dev_account(RIVAL)  # a second bidder


@pytest.fixture(scope="module")
def market(
    system: System,
    governance: LocalAccount,
    auctioneer: LocalAccount,
    provider: LocalAccount,
    data_owner: LocalAccount,
    buyer: LocalAccount,
    rival: LocalAccount,
    oracle_nodes: list[LocalAccount],
) -> Market:
    return build_market(
        system, governance, auctioneer, provider, data_owner, [buyer, rival], oracle_nodes
    )
