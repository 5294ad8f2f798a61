"""What the PrivacyBudgetLedger's views return: a dataset's id and budget, the ε and δ reserved
for committed bids, offers, consent, and the budget an account holds (its ERC-1155 balance);
and the data categories its registration declared. ε is counted in micro-ε, δ in atto-δ
(δ × 10¹⁸)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.abi_codec import encode, keccak
from chain.contract import ZERO_ADDRESS
from chain.events import events

if TYPE_CHECKING:
    from chain.contract import Contract
    from chain.system import System

CATEGORY_BITS = {"health": 1, "genomic": 2, "biometric": 4, "financial": 8}
"""The sensitive data categories a dataset's registration declares, one bit each, named as the
risk rubric names them; a dataset with none holds public data."""


def category_bits(names: Iterable[str]) -> int:
    return sum(CATEGORY_BITS[name] for name in set(names))


def category_names(bits: int) -> frozenset[str]:
    return frozenset(name for name, bit in CATEGORY_BITS.items() if bits & bit)


def registered_categories(system: System) -> dict[int, frozenset[str]]:
    """Every registered dataset's categories by id, as its `DatasetRegistered` event declared
    them."""
    return {int(e.args["id"]): category_names(int(e.args["categories"]))
            for e in events(system, system.ledger, "DatasetRegistered")}


def dataset_id(owner: str, content_hash: bytes) -> int:
    """`PrivacyBudgetLedger.datasetIdOf`: the low 96 bits of keccak256(owner, contentHash)."""
    digest = keccak(encode(["address", "bytes32"], [owner, content_hash]))
    return int.from_bytes(digest, "big") % 2**96


@dataclass(frozen=True)
class Dataset:
    """`IPrivacyBudgetLedger.Dataset` as `datasetOf` returns it; every field is zero for a
    dataset nobody registered."""

    owner: str
    max_delta_atto: int
    total_micro_epsilon: int
    consumed_micro_epsilon: int
    total_delta_atto: int
    consumed_delta_atto: int

    @classmethod
    def read(cls, ledger: Contract, dataset: int) -> Dataset:
        return cls(*ledger.functions.datasetOf(dataset).call())

    @property
    def registered(self) -> bool:
        return self.owner != ZERO_ADDRESS


@dataclass(frozen=True)
class Offer:
    """`IPrivacyBudgetLedger.Offer` as `offerOf` returns it: zero when the seller offers none."""

    amount_micro_epsilon: int
    price_micro_usd_per_epsilon: int

    @classmethod
    def read(cls, ledger: Contract, dataset: int, seller: str) -> Offer:
        return cls(*ledger.functions.offerOf(dataset, seller).call())


def reserved_micro_epsilon(ledger: Contract, dataset: int) -> int:
    """ε of the dataset reserved for committed bids, across all holders."""
    return int(ledger.functions.reservedOf(dataset).call())


def reserved_delta_atto(ledger: Contract, dataset: int) -> int:
    """δ of the dataset reserved for committed bids: the per-job cap for each."""
    return int(ledger.functions.reservedDeltaOf(dataset).call())


def is_consented(ledger: Contract, dataset: int, purpose: bytes) -> bool:
    return bool(ledger.functions.isConsented(dataset, purpose).call())


def held_micro_epsilon(ledger: Contract, account: str, dataset: int) -> int:
    """The dataset's budget `account` holds: its ERC-1155 balance."""
    return int(ledger.functions.balanceOf(account, dataset).call())
