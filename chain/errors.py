"""The one exception every package's errors derive from: the CLI maps it to exit 2."""

from __future__ import annotations


class RcmError(Exception):
    """Bad input or a rejected action.

    `field` names the input that failed, as the API spells it: a parameter (`amount`,
    `content_hash`) or a path into a file (`bids[0].bundles`); None when no one input is at
    fault. `reason` is the message without the field. Neither ever names a CLI flag or command:
    the CLI spells the field as its own option and adds its hints.
    """

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason = reason
        self.field = field


class AmountError(RcmError):
    """An amount that is no number, not above zero, or finer than its token's smallest unit."""


class ChainError(RcmError):
    """A chain-side problem: unreachable RPC, stale manifest, reverted transaction."""


class NoDeployment(ChainError):
    """No deployment of the system is recorded for this chain."""


class StaleDeployment(ChainError):
    """The recorded deployment no longer matches the chain (a restarted node, a changed ABI)."""


class InsufficientStake(RcmError):
    """The account's free CST stake in the vault is below what the action locks."""


class InsufficientBond(RcmError):
    """The account's free reputation bond is below what the action holds."""


class InsufficientGas(ChainError):
    """The sender has not the ether to pay for a transaction's gas (and value)."""

    def __init__(self, sender: str, needed_wei: int, balance_wei: int) -> None:
        from chain.amounts import amount_text  # which imports this module

        super().__init__(f"{sender} has {amount_text(balance_wei, 'eth')} ETH and needs up to "
                         f"{amount_text(needed_wei, 'eth')} ETH to pay for this transaction's "
                         "gas")
        self.sender, self.needed_wei, self.balance_wei = sender, needed_wei, balance_wei
