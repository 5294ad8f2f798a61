"""What a token holder does, checked before anything is sent: a failing check raises
TokensError naming the field and no transaction leaves the machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from chain.amounts import UNITS, amount_text
from chain.clearing_house import credit_micro_usd
from chain.erc20 import allowance, balance_of
from chain.system import System
from chain.times import duration_text, unix_and_utc
from chain.vault import VaultBalance
from tokens.errors import TokensError

if TYPE_CHECKING:
    from chain.contract import Receipt
    from chain.signer import Signer


class Balances(BaseModel):
    """Every amount in the smallest unit (wei for ETH and CST, micro-USD for USD)."""

    address: str
    eth_wei: int
    cst_wei: int
    usd_micro_usd: int
    staked_wei: int
    locked_wei: int
    bonded_wei: int
    bond_locked_wei: int  # the bond held: a result poster's, a provider's asks' or futures'
    unbonding_wei: int
    unbonding_ready_at: int | None  # None while nothing unbonds
    # USD the clearing house holds for the account: the next bids draw on it first
    credit_micro_usd: int


def balances(system: System, address: str) -> Balances:
    vault = VaultBalance.read(system.vault, address)
    return Balances(
        address=address,
        eth_wei=system.chain.balance(address),
        cst_wei=balance_of(system.cst, address),
        usd_micro_usd=balance_of(system.payment_token, address),
        staked_wei=vault.free_wei,
        locked_wei=vault.locked_wei,
        bonded_wei=vault.bonded_wei,
        bond_locked_wei=vault.bond_locked_wei,
        unbonding_wei=vault.unbonding_wei,
        unbonding_ready_at=vault.unbonding_ready_timestamp if vault.unbonding_wei else None,
        credit_micro_usd=credit_micro_usd(system.clearing_house, address),
    )


def _require_at_most(amount: int, available: int, token: str, what: str) -> None:
    if amount > available:
        raise TokensError(
            f"{amount_text(amount, token)} {token.upper()} exceeds {what} of "
            f"{amount_text(available, token)} {token.upper()}",
            field="amount",
        )


def transfer(system: System, sender: Signer, to: str, amount: int, token: str) -> Receipt:
    held = balances(system, sender.address).model_dump()
    _require_at_most(amount, held[f"{token}_{UNITS[token]}"], token, "the balance")
    if token == "eth":
        return system.chain.transfer_eth(sender, to, amount)
    contract = system.cst if token == "cst" else system.usd
    return system.chain.send(contract.functions.transfer(to, amount), sender)


def _deposit(system: System, sender: Signer, amount: int, method: str) -> Receipt:
    """Moves CST from the wallet into the vault (`stake` or `bond`), approving it first."""
    _require_at_most(amount, balances(system, sender.address).cst_wei, "cst", "the CST balance")
    if allowance(system.cst, sender.address, system.vault.address) < amount:
        system.chain.send(system.cst.functions.approve(system.vault.address, amount), sender)
    return system.chain.send(getattr(system.vault.functions, method)(amount), sender)


def stake(system: System, sender: Signer, amount: int) -> Receipt:
    return _deposit(system, sender, amount, "stake")


def unstake(system: System, sender: Signer, amount: int) -> Receipt:
    _require_at_most(amount, balances(system, sender.address).staked_wei, "cst",
                     "the free stake")
    return system.chain.send(system.vault.functions.unstake(amount), sender)


def bond(system: System, sender: Signer, amount: int) -> Receipt:
    return _deposit(system, sender, amount, "bond")


def unbond(system: System, sender: Signer, amount: int) -> Receipt:
    _require_at_most(amount, balances(system, sender.address).bonded_wei, "cst", "the bond")
    return system.chain.send(system.vault.functions.unbond(amount), sender)


def unbonded_ready_wei(system: System, address: str) -> int:
    """CST whose unbonding delay has passed: what `withdraw` takes back (0: none)."""
    held = balances(system, address)
    ready_at = held.unbonding_ready_at
    return held.unbonding_wei if ready_at and system.chain.latest_timestamp() >= ready_at else 0


def withdraw(system: System, sender: Signer) -> Receipt:
    held = balances(system, sender.address)
    ready_at = held.unbonding_ready_at
    if ready_at is None:
        raise TokensError("nothing to withdraw: no refunds or proceeds from rounds, and no CST "
                          "is unbonding")
    now = system.chain.latest_timestamp()
    if now < ready_at:
        raise TokensError(
            f"nothing to withdraw yet: {amount_text(held.unbonding_wei, 'cst')} CST unbonds in "
            f"{duration_text(ready_at - now)}, at {unix_and_utc(ready_at)}"
        )
    return system.chain.send(system.vault.functions.withdraw(), sender)


def fund(system: System, governance: Signer, to: str, cst: int, usd: int, eth: int
         ) -> list[Receipt]:
    """Mints demo tokens and sends ETH from the governance account (local chains only)."""
    sent: list[Receipt] = []
    if cst:
        sent.append(system.chain.send(system.cst.functions.mint(to, cst), governance))
    if usd:
        sent.append(system.chain.send(system.usd.functions.mint(to, usd), governance))
    if eth:
        sent.append(system.chain.transfer_eth(governance, to, eth))
    return sent
