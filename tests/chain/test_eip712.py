"""The EIP-712 helper: the domain binds name, version, chain id and contract."""

from __future__ import annotations

from dataclasses import replace

from eth_account import Account

from chain.eip712 import Domain, recover_typed, sign_typed, typed_digest

TYPES = {"Ping": [{"name": "id", "type": "bytes32"}, {"name": "nonce", "type": "uint256"}]}
MESSAGE = {"id": b"\x01" * 32, "nonce": 7}
DOMAIN = Domain("rcm Test", "1", 31337, "0x" + "ab" * 20)


def test_every_domain_field_changes_the_digest() -> None:
    base = typed_digest(DOMAIN, TYPES, "Ping", MESSAGE)
    variants = [
        replace(DOMAIN, name="other"),
        replace(DOMAIN, version="2"),
        replace(DOMAIN, chain_id=1),
        replace(DOMAIN, verifying_contract="0x" + "cd" * 20),
    ]
    digests = {typed_digest(d, TYPES, "Ping", MESSAGE) for d in variants}
    assert base not in digests and len(digests) == 4


def test_signature_recovers_its_signer_only_under_its_domain() -> None:
    signer = Account.create()
    signature = sign_typed(signer, DOMAIN, TYPES, "Ping", MESSAGE)
    assert recover_typed(signature, DOMAIN, TYPES, "Ping", MESSAGE) == signer.address
    other_chain = replace(DOMAIN, chain_id=1)
    assert recover_typed(signature, other_chain, TYPES, "Ping", MESSAGE) != signer.address


def test_signatures_are_low_s() -> None:
    half_order = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
    for nonce in range(5):
        signature = sign_typed(Account.create(), DOMAIN, TYPES, "Ping", {**MESSAGE, "nonce": nonce})
        assert int.from_bytes(signature[32:64], "big") <= half_order
