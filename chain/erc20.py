"""What an ERC-20's views return (CST, the payment token), in its smallest unit: CST wei,
micro-USD."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chain.contract import Contract


def balance_of(token: Contract, account: str, block: int | None = None) -> int:
    """At the latest block, or at `block`."""
    return int(_at(token.functions.balanceOf(account), block))


def allowance(token: Contract, owner: str, spender: str, block: int | None = None) -> int:
    """At the latest block, or at `block`."""
    return int(_at(token.functions.allowance(owner, spender), block))


def _at(call: Any, block: int | None) -> Any:
    # Called bare at the latest block, so that a web3 contract reads through the same reader.
    return call.call() if block is None else call.call(block=hex(block))


def total_supply(token: Contract) -> int:
    return int(token.functions.totalSupply().call())
