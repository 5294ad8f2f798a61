"""FuturesExchange orders as EIP-712 typed data (mirroring `contracts/libraries/OrderLib.sol`),
their hashing and signing, and what the exchange's views return. An `Order` names one future;
a `CriteriaOrder` buys any future of a round that delivers at least a quantity of an item.

An order's hash is its EIP-712 digest under the exchange's domain: what its maker signs, what
`Traded` and `Cancelled` index and what `statusOf` is keyed by."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from chain.abi_codec import keccak, to_checksum_address
from chain.eip712 import Domain, Types, sign_typed, typed_digest

if TYPE_CHECKING:
    from chain.contract import Contract
    from chain.signer import Signer

DOMAIN_NAME = "rcm FuturesExchange"
DOMAIN_VERSION = "1"
MAX_FEE_BPS = 100
MAX_PRICE_MICRO_USD = 2**63 - 1
"""The most an order may ask or offer: ~9.2 trillion USD, beyond what any USD supply pays
(and what a SQLite integer holds, as the relay keeps orders)."""
# OpenZeppelin's ECDSA refuses s above half the curve order: the malleable twin of a signature.
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0

ORDER_TYPES = {
    "Order": [
        {"name": "maker", "type": "address"},
        {"name": "side", "type": "uint8"},
        {"name": "futureId", "type": "uint256"},
        {"name": "priceMicroUsd", "type": "uint256"},
        {"name": "expiryTimestamp", "type": "uint64"},
        {"name": "salt", "type": "uint256"},
        {"name": "counter", "type": "uint256"},
    ],
}

CRITERIA_ORDER_TYPES = {
    "CriteriaOrder": [
        {"name": "maker", "type": "address"},
        {"name": "roundId", "type": "uint32"},
        {"name": "item", "type": "uint16"},
        {"name": "minQuantity", "type": "uint32"},
        {"name": "priceMicroUsd", "type": "uint256"},
        {"name": "expiryTimestamp", "type": "uint64"},
        {"name": "salt", "type": "uint256"},
        {"name": "counter", "type": "uint256"},
    ],
}


class Side(IntEnum):
    """`OrderLib.SELL` / `OrderLib.BUY`: what the maker gives, a future or the money."""

    SELL = 0
    BUY = 1


class OrderStatus(IntEnum):
    """`IFuturesExchange.OrderStatus`."""

    OPEN = 0
    FILLED = 1
    CANCELLED = 2


@dataclass(frozen=True)
class Order:
    maker: str
    side: Side
    future_id: int
    price_micro_usd: int
    expiry_timestamp: int
    salt: int
    counter: int = 0

    def message(self) -> dict[str, Any]:
        return {
            "maker": self.maker,
            "side": int(self.side),
            "futureId": self.future_id,
            "priceMicroUsd": self.price_micro_usd,
            "expiryTimestamp": self.expiry_timestamp,
            "salt": self.salt,
            "counter": self.counter,
        }

    def as_args(self) -> tuple[Any, ...]:
        """`OrderLib.Order` as `fill` and `cancel` take it."""
        return tuple(self.message().values())


@dataclass(frozen=True)
class CriteriaOrder:
    """A buy order for any future of round `round_id` whose bundle delivers at least
    `min_quantity` units of the round's item `item` (its index among the round's asks)."""

    maker: str
    round_id: int
    item: int
    min_quantity: int
    price_micro_usd: int
    expiry_timestamp: int
    salt: int
    counter: int = 0

    side = Side.BUY

    def message(self) -> dict[str, Any]:
        return {
            "maker": self.maker,
            "roundId": self.round_id,
            "item": self.item,
            "minQuantity": self.min_quantity,
            "priceMicroUsd": self.price_micro_usd,
            "expiryTimestamp": self.expiry_timestamp,
            "salt": self.salt,
            "counter": self.counter,
        }

    def as_args(self) -> tuple[Any, ...]:
        """`OrderLib.CriteriaOrder` as `fillCriteria` and `cancelCriteria` take it."""
        return tuple(self.message().values())


AnyOrder = Order | CriteriaOrder


def exchange_domain(chain_id: int, exchange: str) -> Domain:
    return Domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, exchange)


def _typed(order: AnyOrder) -> tuple[Types, str]:
    if isinstance(order, CriteriaOrder):
        return CRITERIA_ORDER_TYPES, "CriteriaOrder"
    return ORDER_TYPES, "Order"


def order_hash(domain: Domain, order: AnyOrder) -> bytes:
    types, primary = _typed(order)
    return typed_digest(domain, types, primary, order.message())


def sign_order(account: Signer, domain: Domain, order: AnyOrder) -> bytes:
    types, primary = _typed(order)
    return sign_typed(account, domain, types, primary, order.message())


def signer_of(digest: bytes, signature: bytes) -> str | None:
    """Who signed `digest`, as the exchange recovers an externally owned maker: 65 bytes
    r ‖ s ‖ v with v 27 or 28 and s in the lower half; None for any other signature, which
    the exchange refuses (a contract maker's ERC-1271 check aside)."""
    import coincurve

    if len(signature) != 65 or signature[64] not in (27, 28):
        return None
    s = int.from_bytes(signature[32:64], "big")
    if not 0 < s <= SECP256K1_HALF_N:
        return None
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), digest, hasher=None)
    except ValueError:
        return None
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


# ---- views ----


@dataclass(frozen=True)
class Fee:
    """Who receives the protocol fee, and its basis points of each price (out of the seller's
    proceeds)."""

    recipient: str
    fee_bps: int

    @classmethod
    def read(cls, exchange: Contract) -> Fee:
        recipient, fee_bps = exchange.functions.fee().call()
        return cls(str(recipient), int(fee_bps))

    def of(self, price_micro_usd: int) -> int:
        return price_micro_usd * self.fee_bps // 10_000


def status_of(exchange: Contract, digest: bytes) -> OrderStatus:
    return OrderStatus(exchange.functions.statusOf(digest).call())


def counter_of(exchange: Contract, maker: str) -> int:
    return int(exchange.functions.counterOf(maker).call())
