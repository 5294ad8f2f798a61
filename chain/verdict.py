"""The oracle verdict as EIP-712 typed data: what oracle nodes sign and PolicyOracle checks.

Typed data (mirror it in Solidity as `VerdictLib`)::

    Verdict(bytes32 jobId,bool compliant,uint8 fault,bytes32 clausesHash,bytes32 configDigest)

    domain: name "rcm PolicyOracle", version "1", chainId, verifyingContract = PolicyOracle

- `jobId`: the job the attestation was about: a redeemed future, named by its bid's digest.
- `compliant`: true when every clause of every stakeholder's policy holds.
- `fault`: 0 none (compliant), 1 buyer, 2 provider.
- `clausesHash`: which clauses failed. Clause ids are ASCII strings such as
  `regulator.epsilon_claim`. With `ids` the failed ids, de-duplicated and sorted by their
  bytes, `clausesHash = keccak256(keccak256(id_1) ‖ keccak256(id_2) ‖ …)` — exactly EIP-712's
  encoding of a `string[]` value, i.e. in Solidity
  `keccak256(abi.encodePacked(keccak256(bytes(id_1)), keccak256(bytes(id_2)), …))`.
  A compliant verdict has no failed clause and `clausesHash = bytes32(0)`.
- `configDigest`: binds the oracle set configuration (signers, threshold) the verdict was
  signed under, so a verdict from a retired set can't be replayed into a new one; zero until
  the set is registered on-chain.

Every field is a deterministic function of the attestation and the policies, never of a
node's clock, so k nodes judging the same attestation sign the same digest.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from chain.abi_codec import keccak
from chain.eip712 import Domain, recover_typed

if TYPE_CHECKING:
    from chain.signer import Signer

DOMAIN_NAME = "rcm PolicyOracle"
DOMAIN_VERSION = "1"
ZERO_BYTES32 = bytes(32)

VERDICT_TYPES = {
    "Verdict": [
        {"name": "jobId", "type": "bytes32"},
        {"name": "compliant", "type": "bool"},
        {"name": "fault", "type": "uint8"},
        {"name": "clausesHash", "type": "bytes32"},
        {"name": "configDigest", "type": "bytes32"},
    ]
}


TYPE_HASH = keccak(
    b"Verdict(bytes32 jobId,bool compliant,uint8 fault,bytes32 clausesHash,bytes32 configDigest)"
)


class Fault(IntEnum):
    NONE = 0
    BUYER = 1
    PROVIDER = 2


@dataclass(frozen=True)
class Verdict:
    job_id: bytes
    compliant: bool
    fault: Fault
    clauses_hash: bytes
    config_digest: bytes

    def __post_init__(self) -> None:
        for name in ("job_id", "clauses_hash", "config_digest"):
            if len(getattr(self, name)) != 32:
                raise ValueError(f"{name} must be 32 bytes")
        if self.compliant != (self.fault is Fault.NONE):
            raise ValueError("a verdict is compliant exactly when its fault is NONE")


def verdict_domain(chain_id: int, policy_oracle: str) -> Domain:
    return Domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, policy_oracle)


def clauses_hash(failed_clause_ids: Iterable[str]) -> bytes:
    """The `clausesHash` of the module docstring; zero bytes32 for no failed clause."""
    ids = sorted({clause.encode("ascii") for clause in failed_clause_ids})
    if not ids:
        return ZERO_BYTES32
    return bytes(keccak(b"".join(keccak(clause) for clause in ids)))


def verdict_message(verdict: Verdict) -> dict[str, Any]:
    return {
        "jobId": verdict.job_id,
        "compliant": verdict.compliant,
        "fault": int(verdict.fault),
        "clausesHash": verdict.clauses_hash,
        "configDigest": verdict.config_digest,
    }


def struct_hash(verdict: Verdict) -> bytes:
    """EIP-712 hashStruct: every field is static, so abi.encode is five 32-byte words."""
    return keccak(
        TYPE_HASH
        + verdict.job_id
        + int(verdict.compliant).to_bytes(32, "big")
        + int(verdict.fault).to_bytes(32, "big")
        + verdict.clauses_hash
        + verdict.config_digest
    )


@functools.lru_cache(maxsize=16)
def _domain_separator(domain: Domain) -> bytes:
    from eth_account.messages import encode_typed_data

    any_verdict = Verdict(ZERO_BYTES32, True, Fault.NONE, ZERO_BYTES32, ZERO_BYTES32)
    signable = encode_typed_data(domain.as_dict(), VERDICT_TYPES, verdict_message(any_verdict))
    return bytes(signable.header)


def verdict_digest(domain: Domain, verdict: Verdict) -> bytes:
    """keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(verdict)), as `VerdictLib` computes it.

    The same bytes as `chain.eip712.typed_digest`, without re-encoding the type and the domain
    for every verdict: a node signs hundreds a second.
    """
    return keccak(b"\x19\x01" + _domain_separator(domain) + struct_hash(verdict))


def sign_verdict(account: Signer, domain: Domain, verdict: Verdict) -> bytes:
    """65 bytes r ‖ s ‖ v; RFC 6979 nonces make it deterministic for a given key and verdict."""
    return bytes(account.unsafe_sign_hash(verdict_digest(domain, verdict)).signature)


def recover_verdict_signer(signature: bytes, domain: Domain, verdict: Verdict) -> str:
    return recover_typed(signature, domain, VERDICT_TYPES, "Verdict", verdict_message(verdict))
