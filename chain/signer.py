"""What signs for an account: an eth-account `LocalAccount`, or a wallet whose key is in the
agent or a keystore. A protocol, so code that only needs an address and signatures never imports
eth-account (a second) for its types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class SignedTransactionLike(Protocol):
    @property
    def raw_transaction(self) -> bytes: ...


class SignedHashLike(Protocol):
    @property
    def signature(self) -> bytes: ...


class Signer(Protocol):
    @property
    def address(self) -> str: ...

    def sign_transaction(self, transaction_dict: Any) -> SignedTransactionLike: ...

    def unsafe_sign_hash(self, message_hash: Any) -> SignedHashLike:
        """The signature of a 32-byte digest, as a contract's `ecrecover` checks it."""
        ...


@dataclass(frozen=True)
class SignedTransaction:
    raw_transaction: bytes
    hash: bytes
    r: int
    s: int
    v: int


@dataclass(frozen=True)
class SignedHash:
    message_hash: bytes
    r: int
    s: int
    v: int
    signature: bytes
