"""What the SafetyVault's views return: an account's CST in the vault, and the stake a job of
a given risk and notional locks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.settlement import STAKE_UNIT_WEI

if TYPE_CHECKING:
    from chain.contract import Contract


@dataclass(frozen=True)
class VaultBalance:
    """`ISafetyVault.Balance` as `balanceOf` returns it: stake free and locked for bids, bond
    free and locked by the clearing house, and bond unbonding until its ready time."""

    free_wei: int
    locked_wei: int
    bonded_wei: int
    unbonding_wei: int
    unbonding_ready_timestamp: int
    bond_locked_wei: int

    @classmethod
    def read(cls, vault: Contract, account: str) -> VaultBalance:
        return cls(*vault.functions.balanceOf(account).call())


def required_stake_wei(vault: Contract, account: str, risk_bps: int,
                       notional_micro_usd: int) -> int:
    """`requiredStake`: the notional × risk in CST at the regulator's rate, less the account's
    reputation discount. The clearing house locks it rounded up to `STAKE_UNIT_WEI`."""
    return int(vault.functions.requiredStake(account, risk_bps, notional_micro_usd).call())


def stake_to_lock_wei(vault: Contract, account: str, risk_bps: int,
                      notional_micro_usd: int) -> int:
    """What the clearing house locks for a bid or a redemption: `required_stake_wei` rounded
    up to whole `STAKE_UNIT_WEI` (`SafetyVault.lockStake`)."""
    required = required_stake_wei(vault, account, risk_bps, notional_micro_usd)
    return -(-required // STAKE_UNIT_WEI) * STAKE_UNIT_WEI
