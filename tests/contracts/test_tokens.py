"""ComputeSafetyToken and TestUSD: ERC-20 with permit, minting and burning by role only."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from chain.connection import Chain
from chain.contract import Contract
from chain.eip712 import Domain, sign_typed
from chain.system import System
from tests.support import event_args, reverts, role

PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def test_metadata(system: System) -> None:
    assert system.cst.functions.decimals().call() == 18
    assert system.cst.functions.symbol().call() == "CST"
    assert system.usd.functions.decimals().call() == 6
    assert "test only" in system.usd.functions.name().call()


def test_governance_mints_cst_and_minted_is_counted(
    chain: Chain, system: System, governance: LocalAccount, outsider: LocalAccount
) -> None:
    minted_before = system.cst.functions.totalMinted().call()
    receipt = chain.send(system.cst.functions.mint(outsider.address, 5), governance)
    assert system.cst.functions.balanceOf(outsider.address).call() == 5
    assert system.cst.functions.totalMinted().call() == minted_before + 5
    assert event_args(system.cst, receipt, "Transfer")[0]["value"] == 5


@pytest.mark.parametrize("token, minter_role", [("cst", "GOVERNANCE_ROLE"), ("usd", "MINTER_ROLE")])
def test_mint_reverts_for_anyone_without_the_role(
    chain: Chain, system: System, outsider: LocalAccount, token: str, minter_role: str
) -> None:
    contract = getattr(system, token)
    with reverts("AccessControlUnauthorizedAccount", outsider.address, role(contract, minter_role)):
        chain.send(contract.functions.mint(outsider.address, 1), outsider)


def test_burn_reverts_for_anyone_but_the_vault(
    chain: Chain, system: System, governance: LocalAccount, buyer: LocalAccount
) -> None:
    for caller in (governance, buyer):
        with reverts(
            "AccessControlUnauthorizedAccount", caller.address, role(system.cst, "BURNER_ROLE")
        ):
            chain.send(system.cst.functions.burn(1), caller)
    assert system.cst.functions.hasRole(
        role(system.cst, "BURNER_ROLE"), system.vault.address
    ).call()


def _permit(
    chain: Chain,
    token: Contract,
    owner: LocalAccount,
    spender: str,
    value: int,
    deadline: int,
    chain_id: int | None = None,
) -> tuple[int, bytes, bytes]:
    """(v, r, s) of an EIP-2612 permit signed with our EIP-712 helper."""
    domain = Domain(
        name=token.functions.name().call(),
        version="1",
        chain_id=chain_id or chain.chain_id,
        verifying_contract=token.address,
    )
    message = {
        "owner": owner.address,
        "spender": spender,
        "value": value,
        "nonce": token.functions.nonces(owner.address).call(),
        "deadline": deadline,
    }
    signature = sign_typed(owner, domain, PERMIT_TYPES, "Permit", message)
    return signature[64], signature[:32], signature[32:64]


@pytest.mark.parametrize("token", ["cst", "usd"])
def test_permit_signed_with_the_eip712_helper_sets_an_allowance_once(
    chain: Chain, system: System, buyer: LocalAccount, outsider: LocalAccount, token: str
) -> None:
    contract = getattr(system, token)
    deadline = chain.latest_timestamp() + 3600
    v, r, s = _permit(chain, contract, buyer, outsider.address, 77, deadline)
    call = contract.functions.permit(buyer.address, outsider.address, 77, deadline, v, r, s)
    chain.send(call, outsider)
    assert contract.functions.allowance(buyer.address, outsider.address).call() == 77
    # The nonce moved on: the same signature now recovers to someone else.
    with reverts("ERC2612InvalidSigner"):
        chain.send(call, outsider)


def test_permit_replayed_from_another_chain_is_rejected(
    chain: Chain, system: System, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    deadline = chain.latest_timestamp() + 3600
    v, r, s = _permit(chain, system.cst, buyer, outsider.address, 5, deadline, chain_id=1)
    with reverts("ERC2612InvalidSigner"):
        chain.send(
            system.cst.functions.permit(buyer.address, outsider.address, 5, deadline, v, r, s),
            outsider,
        )
    assert system.cst.functions.allowance(buyer.address, outsider.address).call() == 0


def test_expired_permit_is_rejected(
    chain: Chain, system: System, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    deadline = chain.latest_timestamp() - 1
    v, r, s = _permit(chain, system.cst, buyer, outsider.address, 5, deadline)
    with reverts("ERC2612ExpiredSignature", deadline):
        chain.send(
            system.cst.functions.permit(buyer.address, outsider.address, 5, deadline, v, r, s),
            outsider,
        )
