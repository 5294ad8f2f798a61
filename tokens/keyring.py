"""A named wallet's account whose key is fetched only when it first signs: from the agent that
`rcm wallet unlock` started, else from the keystore with a password. Every check before a
transaction needs only the address, so bad input is refused before any password is asked."""

from __future__ import annotations

from typing import Any

from chain.signer import SignedHashLike, SignedTransactionLike, Signer
from tokens import wallets


class WalletAccount:
    """A `chain.signer.Signer` for the wallet `name`."""

    def __init__(self, name: str, password: str | None = None) -> None:
        self.name = name
        self.address = wallets.address_of(name)
        self._password = password
        self._signer: Signer | None = None

    def unsafe_sign_hash(self, message_hash: Any) -> SignedHashLike:
        return self._key().unsafe_sign_hash(message_hash)

    def sign_transaction(self, transaction_dict: Any) -> SignedTransactionLike:
        return self._key().sign_transaction(transaction_dict)

    def _key(self) -> Signer:
        if self._signer is None:
            from chain.keystore import read_password
            from tokens import agent

            self._signer = agent.account_for(self.name) or wallets.unlock(
                self.name, read_password(self.name) if self._password is None else self._password)
        return self._signer
