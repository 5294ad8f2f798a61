"""What a redeemed future bought, in the units of the evidence its job's enclave signs: the
terms the `future.*` clauses of `oracle/policy.py` hold a job to.

An item's unit is a base, optionally followed by the period of its slot: `gpu-week` is one GPU
through a week-long slot. One GPU through a slot of S seconds is S/3600 GPU-hours, one kW
(MW: a thousand) S/3600 kWh; storage is held through its slot, so a GB is a GB and a TB
1,000 GB, as disks are sold. GPU-hours and kWh are amounts over time, so they add up over a
bundle's items; storage is a level, so a bundle bought the most it holds at once. A unit with
another base, or whose period is not its slot's length (`gpu-week` on a one-hour slot), has no
conversion: the node refuses the job's evidence rather than guess what was bought.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from oracle.attestation import ResourceUse
from oracle.errors import FutureUnreadable

if TYPE_CHECKING:
    from chain.futures_terms import RedeemedFuture
    from chain.settlement import Ask

MICRO = 10**6
ATTO = 10**18
HOUR_SECONDS = 3_600
PERIOD_SECONDS = {"hour": HOUR_SECONDS, "day": 86_400, "week": 604_800}
FIELDS = {"gpu": "gpu_hours", "power": "energy_kwh", "storage": "storage_gb"}
BASES = {"gpu": {"gpu": 1}, "power": {"kw": 1, "mw": 1_000}, "storage": {"gb": 1, "tb": 1_000}}
LEVELS = frozenset({"storage"})


@dataclass(frozen=True)
class Window:
    """From the earliest start to the latest end of a bundle's slots, Unix seconds."""

    start_timestamp: int
    end_timestamp: int


@dataclass(frozen=True)
class FutureTerms:
    """A redeemed future's bundle and the window of its slots, its purpose (keccak256 of the
    name) and its privacy budget: the dataset it reserved ε on (its content hash, as
    evidence lists datasets; None when it bought no private data), ε and δ; the risk it staked
    for (`riskBps`: the ceiling of what its job may score), the declaration its redeemer
    committed to and the rubric its round pinned.
    Beside them, the content hash of every dataset registered on the ledger: the data that is
    private."""

    bought: ResourceUse
    window: Window
    purpose_id: bytes
    dataset: str | None
    epsilon_micros: int
    delta_atto: int
    private_datasets: frozenset[str]
    # The data categories each registered dataset holds, by content hash: what a job that
    # read it ran on, whatever its evidence declares.
    dataset_categories: dict[str, frozenset[str]]
    risk_bps: int
    declaration_hash: str  # 0x-hex, as evidence names it
    rubric_hash: bytes
    # What the bundle's asks named (`enclave_digest`s); empty: any enclave the operator allows.
    enclave_digests: frozenset[bytes] = frozenset()

    @property
    def epsilon(self) -> float:
        return self.epsilon_micros / MICRO

    @property
    def delta(self) -> float:
        return self.delta_atto / ATTO


def future_terms(future: RedeemedFuture) -> FutureTerms:
    """The future's terms in the evidence's units; FutureUnreadable when an item's unit has no
    conversion."""
    record = future.record
    contents = {id_: "0x" + content.hex() for id_, content in future.datasets.items()}
    held = [(item.ask, item.quantity * unit_amount(item.ask)) for item in future.items]
    return FutureTerms(
        bought=_bought(held),
        window=Window(min(ask.slot_start_timestamp for ask, _ in held),
                      max(_end(ask) for ask, _ in held)),
        purpose_id=future.bid.purpose,
        dataset=contents[record.dataset_id] if record.dataset_id else None,
        epsilon_micros=record.epsilon_micros,
        delta_atto=future.bid.delta_atto,
        private_datasets=frozenset(contents.values()),
        dataset_categories={contents[id_]: kinds for id_, kinds in future.categories.items()},
        risk_bps=record.risk_bps,
        declaration_hash="0x" + future.declaration_hash.hex(),
        rubric_hash=future.rubric_hash,
        enclave_digests=frozenset(ask.enclave_digest for ask, _ in held if any(ask.enclave_digest)),
    )


def unit_amount(ask: Ask) -> float:
    """How much one unit of the item is, in its resource's evidence field."""
    base, _, period = ask.unit.lower().partition("-")
    size = BASES[ask.resource].get(base)
    if size is None or (period and PERIOD_SECONDS.get(period) != ask.slot_seconds):
        raise FutureUnreadable(
            f"unit {ask.unit!r} of a {ask.resource} item on a {ask.slot_seconds} s slot has no "
            f"conversion to {FIELDS[ask.resource]}"
        )
    return float(size if ask.resource in LEVELS else size * ask.slot_seconds / HOUR_SECONDS)


def _bought(held: list[tuple[Ask, float]]) -> ResourceUse:
    totals: dict[str, float] = {}
    for kind, field in FIELDS.items():
        amounts = [(ask, amount) for ask, amount in held if ask.resource == kind]
        totals[field] = _peak(amounts) if kind in LEVELS else sum((a for _, a in amounts), 0.0)
    return ResourceUse(**totals)


def _peak(amounts: list[tuple[Ask, float]]) -> float:
    """The most held at once: a sum of levels over slots peaks where one of the slots starts."""
    starts = {ask.slot_start_timestamp for ask, _ in amounts}
    return max(
        (sum(a for ask, a in amounts if ask.slot_start_timestamp <= t < _end(ask)) for t in starts),
        default=0.0,
    )


def _end(ask: Ask) -> int:
    return ask.slot_start_timestamp + ask.slot_seconds
