"""chain.verdict: the EIP-712 Verdict, its clausesHash, and signer recovery."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_account import Account
from eth_hash.auto import keccak

from chain.eip712 import typed_digest
from chain.verdict import (
    VERDICT_TYPES,
    ZERO_BYTES32,
    Fault,
    Verdict,
    clauses_hash,
    recover_verdict_signer,
    sign_verdict,
    verdict_digest,
    verdict_domain,
    verdict_message,
)

ORACLE = "0x" + "0c" * 20
VIOLATION = Verdict(
    job_id=bytes.fromhex("ab" * 32),
    compliant=False,
    fault=Fault.PROVIDER,
    clauses_hash=clauses_hash(["regulator.epsilon_claim"]),
    config_digest=bytes.fromhex("cd" * 32),
)


def test_clauses_hash_is_zero_without_failed_clauses() -> None:
    assert clauses_hash([]) == ZERO_BYTES32


def test_clauses_hash_is_eip712_string_array_of_sorted_unique_ids() -> None:
    ids = ["regulator.epsilon_claim", "buyer.gpu_hours", "regulator.epsilon_claim"]
    expected = keccak(keccak(b"buyer.gpu_hours") + keccak(b"regulator.epsilon_claim"))
    assert clauses_hash(ids) == expected
    assert clauses_hash(reversed(ids)) == expected


def test_digest_is_what_solidity_computes() -> None:
    """The VerdictLib a contract mirrors: typehash, abi.encode of the fields, EIP-712 domain."""
    type_hash = keccak(
        b"Verdict(bytes32 jobId,bool compliant,uint8 fault,bytes32 clausesHash,"
        b"bytes32 configDigest)"
    )
    struct_hash = keccak(
        type_hash
        + encode(
            ["bytes32", "bool", "uint8", "bytes32", "bytes32"],
            [VIOLATION.job_id, False, 2, VIOLATION.clauses_hash, VIOLATION.config_digest],
        )
    )
    domain_type = (
        b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    separator = keccak(
        keccak(domain_type)
        + encode(
            ["bytes32", "bytes32", "uint256", "address"],
            [keccak(b"rcm PolicyOracle"), keccak(b"1"), 31337, ORACLE],
        )
    )
    assert verdict_digest(verdict_domain(31337, ORACLE), VIOLATION) == keccak(
        b"\x19\x01" + separator + struct_hash
    )


@pytest.mark.parametrize("chain_id", [1, 31337])
@pytest.mark.parametrize(
    "verdict",
    [VIOLATION, Verdict(bytes(range(32)), True, Fault.NONE, ZERO_BYTES32, ZERO_BYTES32)],
)
def test_digest_equals_the_generic_eip712_encoding(chain_id: int, verdict: Verdict) -> None:
    domain = verdict_domain(chain_id, ORACLE)
    generic = typed_digest(domain, VERDICT_TYPES, "Verdict", verdict_message(verdict))
    assert verdict_digest(domain, verdict) == generic


def test_a_signature_recovers_its_signer_and_is_deterministic() -> None:
    account, domain = Account.create(), verdict_domain(31337, ORACLE)
    signature = sign_verdict(account, domain, VIOLATION)
    assert len(signature) == 65
    assert signature == sign_verdict(account, domain, VIOLATION)
    assert recover_verdict_signer(signature, domain, VIOLATION) == account.address


def test_a_signature_for_another_chain_does_not_recover_the_signer() -> None:
    account = Account.create()
    signature = sign_verdict(account, verdict_domain(31337, ORACLE), VIOLATION)
    assert (
        recover_verdict_signer(signature, verdict_domain(1, ORACLE), VIOLATION) != account.address
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"compliant": True}, "compliant exactly when"),
        ({"fault": Fault.NONE}, "compliant exactly when"),
        ({"job_id": b"\x01"}, "job_id must be 32 bytes"),
    ],
)
def test_inconsistent_verdicts_are_refused(changes: dict[str, object], message: str) -> None:
    fields = {**VIOLATION.__dict__, **changes}
    with pytest.raises(ValueError, match=message):
        Verdict(**fields)  # type: ignore[arg-type]
