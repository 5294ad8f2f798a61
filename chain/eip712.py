"""EIP-712 typed data: a domain bound to name, version, chain id and contract; digests; signing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eth_account.signers.base import BaseAccount

Types = dict[str, list[dict[str, str]]]

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True)
class Domain:
    name: str
    version: str
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


def _full_message(domain: Domain, types: Types, primary_type: str, message: dict[str, Any]) -> Any:
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, **types},
        "primaryType": primary_type,
        "domain": domain.as_dict(),
        "message": message,
    }


def typed_digest(domain: Domain, types: Types, primary_type: str, message: dict[str, Any]) -> bytes:
    """keccak256("\\x19\\x01" ‖ domainSeparator ‖ hashStruct(message)) — what contracts recover."""
    from eth_account.messages import encode_typed_data
    from eth_hash.auto import keccak

    signable = encode_typed_data(full_message=_full_message(domain, types, primary_type, message))
    return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))


def type_hash(primary_type: str, types: Types) -> bytes:
    """keccak256 of EIP-712's encodeType: the primary type's signature, then every struct type
    it references, directly or not, sorted by name."""
    from eth_hash.auto import keccak

    def referenced(name: str, found: set[str]) -> set[str]:
        for field in types[name]:
            struct = field["type"].split("[", 1)[0]
            if struct in types and struct not in found:
                found.add(struct)
                referenced(struct, found)
        return found

    def signature(name: str) -> str:
        fields = ",".join(field["type"] + " " + field["name"] for field in types[name])
        return f"{name}({fields})"

    others = sorted(referenced(primary_type, set()) - {primary_type})
    return bytes(keccak("".join(signature(n) for n in [primary_type, *others]).encode()))


def sign_typed(
    account: BaseAccount, domain: Domain, types: Types, primary_type: str, message: dict[str, Any]
) -> bytes:
    """A 65-byte r ‖ s ‖ v signature (low-s, as eth-account always produces)."""
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message=_full_message(domain, types, primary_type, message))
    return bytes(account.sign_message(signable).signature)


def recover_typed(
    signature: bytes, domain: Domain, types: Types, primary_type: str, message: dict[str, Any]
) -> str:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message=_full_message(domain, types, primary_type, message))
    return str(Account.recover_message(signable, signature=signature))
