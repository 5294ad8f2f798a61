"""What a token holder does, checked before anything is sent: a failing check raises
TokensError naming the field and no transaction leaves the machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from chain.clearing_house import credit_micro_usd
from chain.erc20 import allowance, balance_of
from chain.system import System
from chain.times import unix_and_utc
from chain.vault import VaultBalance
from tokens.amounts import from_units
from tokens.errors import TokensError

if TYPE_CHECKING:
    from chain.contract import Receipt
    from chain.signer import Signer


class Balances(BaseModel):
    """Every amount in the smallest unit (wei for ETH and CST, micro-USD for USD)."""

    address: str
    eth: int
    cst: int
    usd: int
    staked: int
    locked: int
    bonded: int
    bond_locked: int  # part of the bond held: a result poster's, a provider's asks' or futures'
    unbonding: int
    unbonding_ready_at: int
    credit: int  # USD the clearing house holds for the account: the next bids draw on it first


def balances(system: System, address: str) -> Balances:
    vault = VaultBalance.read(system.vault, address)
    return Balances(
        address=address,
        eth=system.chain.balance(address),
        cst=balance_of(system.cst, address),
        usd=balance_of(system.payment_token, address),
        staked=vault.free_wei,
        locked=vault.locked_wei,
        bonded=vault.bonded_wei,
        bond_locked=vault.bond_locked_wei,
        unbonding=vault.unbonding_wei,
        unbonding_ready_at=vault.unbonding_ready_timestamp,
        credit=credit_micro_usd(system.clearing_house, address),
    )


def _require_at_most(amount: int, available: int, token: str, what: str) -> None:
    if amount > available:
        raise TokensError(
            f"{from_units(amount, token)} {token.upper()} exceeds {what} of "
            f"{from_units(available, token)}",
            field="amount",
        )


def transfer(system: System, sender: Signer, to: str, amount: int, token: str) -> Receipt:
    held = balances(system, sender.address)
    _require_at_most(amount, getattr(held, token), token, "the balance")
    if token == "eth":
        return system.chain.transfer_eth(sender, to, amount)
    contract = system.cst if token == "cst" else system.usd
    return system.chain.send(contract.functions.transfer(to, amount), sender)


def _deposit(system: System, sender: Signer, amount: int, method: str) -> Receipt:
    """Moves CST from the wallet into the vault (`stake` or `bond`), approving it first."""
    _require_at_most(amount, balances(system, sender.address).cst, "cst", "the CST balance")
    if allowance(system.cst, sender.address, system.vault.address) < amount:
        system.chain.send(system.cst.functions.approve(system.vault.address, amount), sender)
    return system.chain.send(getattr(system.vault.functions, method)(amount), sender)


def stake(system: System, sender: Signer, amount: int) -> Receipt:
    return _deposit(system, sender, amount, "stake")


def unstake(system: System, sender: Signer, amount: int) -> Receipt:
    _require_at_most(amount, balances(system, sender.address).staked, "cst", "the free stake")
    return system.chain.send(system.vault.functions.unstake(amount), sender)


def bond(system: System, sender: Signer, amount: int) -> Receipt:
    return _deposit(system, sender, amount, "bond")


def unbond(system: System, sender: Signer, amount: int) -> Receipt:
    _require_at_most(amount, balances(system, sender.address).bonded, "cst", "the bond")
    return system.chain.send(system.vault.functions.unbond(amount), sender)


def unbonded_ready(system: System, address: str) -> bool:
    held = balances(system, address)
    now = system.chain.latest_timestamp()
    return held.unbonding > 0 and now >= held.unbonding_ready_at


def withdraw(system: System, sender: Signer) -> Receipt:
    held = balances(system, sender.address)
    if held.unbonding == 0:
        raise TokensError("nothing to withdraw: no refunds or proceeds from rounds, and no CST "
                          "is unbonding")
    now = system.chain.latest_timestamp()
    if now < held.unbonding_ready_at:
        raise TokensError(
            f"nothing to withdraw yet: {from_units(held.unbonding, 'cst')} CST unbonds in "
            f"{held.unbonding_ready_at - now} s, at {unix_and_utc(held.unbonding_ready_at)}"
        )
    return system.chain.send(system.vault.functions.withdraw(), sender)


def fund(system: System, governance: Signer, to: str, cst: int, usd: int, eth: int) -> None:
    """Mints demo tokens and sends ETH from the governance account (local chains only)."""
    if cst:
        system.chain.send(system.cst.functions.mint(to, cst), governance)
    if usd:
        system.chain.send(system.usd.functions.mint(to, usd), governance)
    if eth:
        system.chain.transfer_eth(governance, to, eth)
