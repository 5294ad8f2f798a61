"""What ComputeFutures' views return. A future's token id is its digest as an integer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chain.contract import Contract


def future_balance(futures: Contract, account: str, future_id: bytes) -> int:
    """How many of the future's tokens `account` holds: 1 or 0, a future being one of a kind."""
    return int(futures.functions.balanceOf(account, int.from_bytes(future_id, "big")).call())


def is_operator(futures: Contract, holder: str, operator: str) -> bool:
    """Whether `holder` lets `operator` move its futures (`setApprovalForAll`)."""
    return bool(futures.functions.isApprovedForAll(holder, operator).call())
