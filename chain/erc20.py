"""What an ERC-20's views return (CST, the payment token), in its smallest unit: CST wei,
micro-USD."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chain.contract import Contract


def balance_of(token: Contract, account: str) -> int:
    return int(token.functions.balanceOf(account).call())


def allowance(token: Contract, owner: str, spender: str) -> int:
    return int(token.functions.allowance(owner, spender).call())


def total_supply(token: Contract) -> int:
    return int(token.functions.totalSupply().call())
