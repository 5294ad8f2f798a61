"""The sealed bid as EIP-712 typed data: what bidders sign and the ClearingHouse checks.

Typed data (mirrored in Solidity by `BidLib`)::

    Bid(Terms terms,Envelope envelope)
    Bundle(uint16[] items,uint32[] quantities,uint64 valueMicroUsd)
    Envelope(Bundle[] bundles,bytes32 salt)
    Terms(uint32 roundId,address bidder,uint64 maxValueMicroUsd,uint96 datasetId,
          uint32 epsilonMicros,uint64 deltaAtto,uint16 riskBps,bytes32 declarationHash,
          bytes32 purpose,uint8 equityClass,uint64 nonce,uint64 expiryTimestamp)

    domain: name "rcm ClearingHouse", version "1", chainId, verifyingContract = ClearingHouse

- `terms` are public from the commitment on: the deposit (`maxValueMicroUsd`), the CST stake
  (from `riskBps`) and the ε reservation (`datasetId`, `epsilonMicros`, `deltaAtto` — δ × 10¹⁸ —
  and `purpose`, keccak256 of the purpose's name) are computed from them; `declarationHash`
  commits to the workload declaration `riskBps` was scored from (`risk.declaration_hash`), so
  a declaration changed after the commit no longer opens it. `roundId` and
  `nonce` in the struct, chain id and contract in the domain: a bid replays nowhere else.
- `envelope` stays sealed until the reveal: an XOR of bundles (at most one wins; a bundle's
  `items` are the round's item indices, its `quantities` their units, `valueMicroUsd` what the
  bundle is worth to the bidder) and a random `salt`, without which anyone could find the
  bundles by hashing guesses against the commitment's envelope hash.

The commitment sends `terms` and `envelope_hash(bid)`; the contract recomputes the digest (so
do `cancel` and `forfeit`, which take the same two arguments). A fill of a posted result sends
the terms, the salt, one bundle and the struct hashes of the bid's other bundles, from which the
contract rebuilds the digest.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chain.abi_codec import encode, keccak
from chain.eip712 import Domain, recover_typed, sign_typed, type_hash, typed_digest

if TYPE_CHECKING:
    from chain.signer import Signer

DOMAIN_NAME = "rcm ClearingHouse"
DOMAIN_VERSION = "1"

BID_TYPES = {
    "Bid": [
        {"name": "terms", "type": "Terms"},
        {"name": "envelope", "type": "Envelope"},
    ],
    "Bundle": [
        {"name": "items", "type": "uint16[]"},
        {"name": "quantities", "type": "uint32[]"},
        {"name": "valueMicroUsd", "type": "uint64"},
    ],
    "Envelope": [
        {"name": "bundles", "type": "Bundle[]"},
        {"name": "salt", "type": "bytes32"},
    ],
    "Terms": [
        {"name": "roundId", "type": "uint32"},
        {"name": "bidder", "type": "address"},
        {"name": "maxValueMicroUsd", "type": "uint64"},
        {"name": "datasetId", "type": "uint96"},
        {"name": "epsilonMicros", "type": "uint32"},
        {"name": "deltaAtto", "type": "uint64"},
        {"name": "riskBps", "type": "uint16"},
        {"name": "declarationHash", "type": "bytes32"},
        {"name": "purpose", "type": "bytes32"},
        {"name": "equityClass", "type": "uint8"},
        {"name": "nonce", "type": "uint64"},
        {"name": "expiryTimestamp", "type": "uint64"},
    ],
}


@dataclass(frozen=True)
class Bundle:
    items: tuple[int, ...]
    quantities: tuple[int, ...]
    value_micro_usd: int

    def __post_init__(self) -> None:
        if not self.items or len(self.items) != len(self.quantities):
            raise ValueError("a bundle needs one quantity per item, and at least one item")


@dataclass(frozen=True)
class Bid:
    round_id: int
    bidder: str
    max_value_micro_usd: int
    dataset_id: int
    epsilon_micros: int
    delta_atto: int
    risk_bps: int
    declaration_hash: bytes
    purpose: bytes
    equity_class: int
    nonce: int
    expiry_timestamp: int
    bundles: tuple[Bundle, ...]
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def __post_init__(self) -> None:
        if len(self.declaration_hash) != 32 or len(self.purpose) != 32 or len(self.salt) != 32:
            raise ValueError("declaration_hash, purpose and salt must be 32 bytes")
        if any(b.value_micro_usd > self.max_value_micro_usd for b in self.bundles):
            raise ValueError("no bundle may be worth more than the bid's max value")


def bid_domain(chain_id: int, clearing_house: str) -> Domain:
    return Domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, clearing_house)


def purpose_id(name: str) -> bytes:
    """A purpose as bids and dataset consents carry it: keccak256 of its name."""
    return bytes(keccak(name.encode()))


# Purpose ids are keccak256 of a name, so a name is shown only for a purpose this list, or a
# policy's ε limits, knows; any other is shown as its id.
KNOWN_PURPOSES = ("research", "commercial", "clinical", "diagnostics", "epidemiology", "training",
                  "inference", "marketing", "general")


def purpose_name(purpose: bytes, names: Iterable[str] = ()) -> str:
    """The purpose's name among KNOWN_PURPOSES and `names` (a policy's purposes), else its id
    in 0x-hex."""
    return next((name for name in (*names, *KNOWN_PURPOSES) if purpose_id(name) == purpose),
                "0x" + purpose.hex())


def bid_message(bid: Bid) -> dict[str, Any]:
    return {
        "terms": {
            "roundId": bid.round_id,
            "bidder": bid.bidder,
            "maxValueMicroUsd": bid.max_value_micro_usd,
            "datasetId": bid.dataset_id,
            "epsilonMicros": bid.epsilon_micros,
            "deltaAtto": bid.delta_atto,
            "riskBps": bid.risk_bps,
            "declarationHash": bid.declaration_hash,
            "purpose": bid.purpose,
            "equityClass": bid.equity_class,
            "nonce": bid.nonce,
            "expiryTimestamp": bid.expiry_timestamp,
        },
        "envelope": {
            "bundles": [
                {
                    "items": list(b.items),
                    "quantities": list(b.quantities),
                    "valueMicroUsd": b.value_micro_usd,
                }
                for b in bid.bundles
            ],
            "salt": bid.salt,
        },
    }


def bid_digest(domain: Domain, bid: Bid) -> bytes:
    """The digest the bidder signs and the ClearingHouse keys the bid's record by."""
    return typed_digest(domain, BID_TYPES, "Bid", bid_message(bid))


def sign_bid(account: Signer, domain: Domain, bid: Bid) -> bytes:
    return sign_typed(account, domain, BID_TYPES, "Bid", bid_message(bid))


def recover_bid_signer(signature: bytes, domain: Domain, bid: Bid) -> str:
    return recover_typed(signature, domain, BID_TYPES, "Bid", bid_message(bid))


# ---- struct hashes the contract is sent (EIP-712 hashStruct, as BidLib computes them) ----


def _type_hash(primary: str) -> bytes:
    return type_hash(primary, BID_TYPES)


def bundle_hash(bundle: Bundle) -> bytes:
    items = keccak(encode(["uint256"] * len(bundle.items), bundle.items))
    quantities = keccak(encode(["uint256"] * len(bundle.quantities), bundle.quantities))
    return bytes(
        keccak(
            encode(
                ["bytes32", "bytes32", "bytes32", "uint64"],
                [_type_hash("Bundle"), items, quantities, bundle.value_micro_usd],
            )
        )
    )


def envelope_hash(bid: Bid) -> bytes:
    """What a commitment discloses of the sealed part: its struct hash, salted."""
    bundles = keccak(b"".join(bundle_hash(b) for b in bid.bundles))
    return bytes(
        keccak(
            encode(["bytes32", "bytes32", "bytes32"], [_type_hash("Envelope"), bundles, bid.salt])
        )
    )


# ---- call encoding ----


def terms_args(bid: Bid) -> tuple[Any, ...]:
    return tuple(bid_message(bid)["terms"].values())


def bundle_args(bundle: Bundle) -> tuple[list[int], list[int], int]:
    return (list(bundle.items), list(bundle.quantities), bundle.value_micro_usd)


def bid_args(bid: Bid) -> tuple[Any, ...]:
    """`BidLib.Data` as `reveal` takes it."""
    return (terms_args(bid), ([bundle_args(b) for b in bid.bundles], bid.salt))


def fill_args(bid: Bid, bundle_index: int) -> tuple[Any, ...]:
    """`IClearingHouse.Fill`: the bid's terms and salt, the won bundle in full, the bid's other
    bundles by hash — what rebuilds the digest of the revealed bid."""
    others = [bundle_hash(b) for i, b in enumerate(bid.bundles) if i != bundle_index]
    bundle = bundle_args(bid.bundles[bundle_index])
    return (terms_args(bid), bid.salt, bundle_index, bundle, others)
