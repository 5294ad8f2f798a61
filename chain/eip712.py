"""EIP-712 typed data: a domain bound to name, version, chain id and contract; digests; signing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chain.abi_codec import encode, keccak

if TYPE_CHECKING:
    from chain.signer import Signer

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


def typed_digest(domain: Domain, types: Types, primary_type: str, message: dict[str, Any]) -> bytes:
    """keccak256("\\x19\\x01" ‖ domainSeparator ‖ hashStruct(message)) — what contracts recover."""
    separator = hash_struct("EIP712Domain", {"EIP712Domain": DOMAIN_TYPE}, domain.as_dict())
    return keccak(b"\x19\x01" + separator + hash_struct(primary_type, types, message))


def hash_struct(primary_type: str, types: Types, value: dict[str, Any]) -> bytes:
    """EIP-712's hashStruct: the type's hash, then each field encoded as one word."""
    words = [_encode_field(field["type"], types, value[field["name"]])
             for field in types[primary_type]]
    return keccak(type_hash(primary_type, types) + b"".join(words))


def _encode_field(kind: str, types: Types, value: Any) -> bytes:
    if kind in types:
        return hash_struct(kind, types, value)
    if kind.endswith("]"):
        item = kind[:kind.rindex("[")]
        return keccak(b"".join(_encode_field(item, types, v) for v in value))
    if kind == "string":
        return keccak(value.encode())
    if kind == "bytes":
        return keccak(bytes(value))
    return encode([kind], [value])


def type_hash(primary_type: str, types: Types) -> bytes:
    """keccak256 of EIP-712's encodeType: the primary type's signature, then every struct type
    it references, directly or not, sorted by name."""

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
    return keccak("".join(signature(n) for n in [primary_type, *others]).encode())


def sign_typed(
    account: Signer, domain: Domain, types: Types, primary_type: str, message: dict[str, Any]
) -> bytes:
    """A 65-byte r ‖ s ‖ v signature (low-s, as eth-account always produces)."""
    return bytes(account.unsafe_sign_hash(typed_digest(domain, types, primary_type,
                                                       message)).signature)


def recover_typed(
    signature: bytes, domain: Domain, types: Types, primary_type: str, message: dict[str, Any]
) -> str:
    """The signer, recovered through eth-account's own typed-data encoding: a second
    implementation beside `typed_digest`, which signing uses."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    full_message = {"types": {"EIP712Domain": DOMAIN_TYPE, **types}, "primaryType": primary_type,
                    "domain": domain.as_dict(), "message": message}
    signable = encode_typed_data(full_message=full_message)
    return str(Account.recover_message(signable, signature=signature))
