"""ComputeFutures: ERC-1155 positions minted (with the acceptance check) and burned by the
clearing role only, transferable in between, with a metadata URI wallets resolve by id."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from chain.connection import Chain
from chain.contract import Contract
from chain.system import System
from tests.contracts.settlement_fixtures import REJECT
from tests.support import event_args, reverts, role

FUTURE = int.from_bytes(b"\xf0" * 32, "big")
ERC1155_INTERFACE, ERC1155_METADATA_INTERFACE = bytes.fromhex("d9b67a26"), bytes.fromhex("0e89341c")


@pytest.fixture(scope="module")
def futures(
    chain: Chain, system: System, governance: LocalAccount, clearing: LocalAccount
) -> Contract:
    futures = system.futures
    grant = futures.functions.grantRole(role(futures, "CLEARING_ROLE"), clearing.address)
    chain.send(grant, governance)
    return futures


def test_the_clearing_role_mints_a_unit_per_future_and_burns_it(
    chain: Chain, futures: Contract, clearing: LocalAccount, buyer: LocalAccount
) -> None:
    receipt = chain.send(futures.functions.mint(buyer.address, [FUTURE, FUTURE + 1]), clearing)
    (minted,) = event_args(futures, receipt, "TransferBatch")
    assert (minted["to"], minted["ids"], minted["values"]) == (
        buyer.address,
        [FUTURE, FUTURE + 1],
        [1, 1],
    )
    chain.send(futures.functions.burn(buyer.address, FUTURE), clearing)
    balances = futures.functions.balanceOfBatch([buyer.address] * 2, [FUTURE, FUTURE + 1]).call()
    assert balances == [0, 1]


def test_only_the_clearing_role_mints_and_burns(
    chain: Chain,
    futures: Contract,
    clearing: LocalAccount,
    buyer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    chain.send(futures.functions.mint(buyer.address, [FUTURE]), clearing)
    clearing_role = role(futures, "CLEARING_ROLE")
    with reverts("AccessControlUnauthorizedAccount", outsider.address, clearing_role):
        chain.send(futures.functions.mint(outsider.address, [FUTURE + 1]), outsider)
    with reverts("AccessControlUnauthorizedAccount", outsider.address, clearing_role):
        chain.send(futures.functions.burn(buyer.address, FUTURE), outsider)
    with reverts("ERC1155InsufficientBalance", outsider.address, 0, 1, FUTURE):
        chain.send(futures.functions.burn(outsider.address, FUTURE), clearing)
    assert futures.functions.balanceOf(buyer.address, FUTURE).call() == 1


def test_a_contract_that_rejects_futures_is_not_minted_one(
    chain: Chain, system: System, futures: Contract, clearing: LocalAccount, outsider: LocalAccount
) -> None:
    hostile = chain.deploy("HostileReceiver", outsider, outsider.address)
    chain.send(hostile.functions.arm(REJECT, hostile.address, b""), outsider)
    with reverts("Rejected"):
        chain.send(futures.functions.mint(hostile.address, [FUTURE]), clearing)
    with reverts("ERC1155InvalidReceiver", system.usd.address):
        chain.send(futures.functions.mint(system.usd.address, [FUTURE]), clearing)
    assert futures.functions.balanceOf(hostile.address, FUTURE).call() == 0


def test_holders_transfer_futures_before_delivery(
    chain: Chain,
    futures: Contract,
    clearing: LocalAccount,
    buyer: LocalAccount,
    rival: LocalAccount,
) -> None:
    chain.send(futures.functions.mint(buyer.address, [FUTURE]), clearing)
    with reverts("ERC1155MissingApprovalForAll", rival.address, buyer.address):
        chain.send(
            futures.functions.safeTransferFrom(buyer.address, rival.address, FUTURE, 1, b""), rival
        )
    chain.send(
        futures.functions.safeTransferFrom(buyer.address, rival.address, FUTURE, 1, b""), buyer
    )
    assert futures.functions.balanceOf(rival.address, FUTURE).call() == 1
    assert futures.functions.balanceOf(buyer.address, FUTURE).call() == 0


def test_wallets_read_the_token_standard_and_a_metadata_uri(futures: Contract) -> None:
    assert futures.functions.supportsInterface(ERC1155_INTERFACE).call() is True
    assert futures.functions.supportsInterface(ERC1155_METADATA_INTERFACE).call() is True
    assert futures.functions.uri(FUTURE).call() == "rcm://futures/{id}.json"
