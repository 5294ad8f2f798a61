"""Embedded-chain fixtures for the token clients' tests: the roles, deployment and market of
tests/contracts (one deployment per module). A module that uses them opts into a snapshot per
test with `pytestmark = pytest.mark.usefixtures("snapshot")`; the CLI tests here need neither."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chain.connection import Chain
from chain.system import System
from tests.contracts import conftest as contracts

# Shared by name: pytest finds a fixture by the name it is bound to in a conftest.
auctioneer = contracts.auctioneer
buyer = contracts.buyer
chain = contracts.chain
clearing = contracts.clearing
data_owner = contracts.data_owner
governance = contracts.governance
market = contracts.market
oracle = contracts.oracle
oracle_nodes = contracts.oracle_nodes
outsider = contracts.outsider
provider = contracts.provider
regulator = contracts.regulator
rival = contracts.rival
system = contracts.system


@pytest.fixture
def snapshot(chain: Chain, system: System) -> Iterator[None]:
    taken = chain.snapshot()
    yield
    chain.revert_to(taken)
