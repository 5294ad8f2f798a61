"""What the ReputationRegistry's views return: an account's score and the stake discount it
buys."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chain.contract import Contract


def score_micro_usd(reputation: Contract, account: str) -> int:
    """The worth of the audits `account` passed, less a multiple of those it failed, in
    micro-USD at risk (a job's payment × its risk score)."""
    return int(reputation.functions.scoreOf(account).call())


def discount_bps(reputation: Contract, account: str) -> int:
    """The discount on `account`'s required stake its score buys."""
    return int(reputation.functions.discountBpsOf(account).call())
