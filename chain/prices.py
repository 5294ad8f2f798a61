"""A round's price report as EIP-712 typed data: what the oracle quorum signs and the
ClearingHouse checks before it prices the round's final allocation.

Typed data (mirrored in Solidity by `PriceLib`)::

    PriceReport(address clearingHouse,uint32 roundId,uint32 resultVersion,
                uint64[] itemPricesMicroUsd,uint64[] paymentsMicroUsd,bytes32 configDigest)

    domain: the PolicyOracle's (name "rcm PolicyOracle", version "1", chainId, PolicyOracle)

- `itemPricesMicroUsd`: one price per unit of each item of the round, in item order.
- `paymentsMicroUsd`: one payment per fill of the priced result, in the result's order (its
  batches in turn, each in ascending digest order).
- `configDigest`: the oracle set the report was signed under, as for verdicts.

Every field is a deterministic function of the chain's events, so honest nodes sign the same
digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chain.eip712 import Domain, recover_typed, sign_typed

if TYPE_CHECKING:
    from chain.signer import Signer

PRICE_TYPES = {
    "PriceReport": [
        {"name": "clearingHouse", "type": "address"},
        {"name": "roundId", "type": "uint32"},
        {"name": "resultVersion", "type": "uint32"},
        {"name": "itemPricesMicroUsd", "type": "uint64[]"},
        {"name": "paymentsMicroUsd", "type": "uint64[]"},
        {"name": "configDigest", "type": "bytes32"},
    ]
}


@dataclass(frozen=True)
class PriceReport:
    clearing_house: str
    round_id: int
    result_version: int
    item_prices_micro_usd: tuple[int, ...]
    payments_micro_usd: tuple[int, ...]
    config_digest: bytes

    def message(self) -> dict[str, Any]:
        return {
            "clearingHouse": self.clearing_house,
            "roundId": self.round_id,
            "resultVersion": self.result_version,
            "itemPricesMicroUsd": list(self.item_prices_micro_usd),
            "paymentsMicroUsd": list(self.payments_micro_usd),
            "configDigest": self.config_digest,
        }


def sign_report(account: Signer, domain: Domain, report: PriceReport) -> bytes:
    return sign_typed(account, domain, PRICE_TYPES, "PriceReport", report.message())


def recover_report_signer(signature: bytes, domain: Domain, report: PriceReport) -> str:
    return recover_typed(signature, domain, PRICE_TYPES, "PriceReport", report.message())
