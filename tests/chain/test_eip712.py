"""The EIP-712 helper: the domain binds name, version, chain id and contract."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from chain.abi_codec import keccak
from chain.bid import BID_TYPES, Bid, Bundle, bid_domain, bid_message, purpose_id
from chain.eip712 import DOMAIN_TYPE, Domain, recover_typed, sign_typed, typed_digest

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


def _eth_account_digest(domain: Domain, types: Any, primary: str, message: Any) -> bytes:
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message={
        "types": {"EIP712Domain": DOMAIN_TYPE, **types}, "primaryType": primary,
        "domain": domain.as_dict(), "message": message})
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


@given(st.lists(st.tuples(st.lists(st.integers(0, 2**16 - 1), min_size=1, max_size=4),
                          st.integers(0, 2**64 - 1)), min_size=1, max_size=3),
       st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32),
       st.integers(0, 2**64 - 1))
def test_digests_are_eth_accounts_for_nested_structs_and_arrays(
        bundles: list[tuple[list[int], int]], salt: bytes, declaration: bytes, nonce: int
) -> None:
    bid = Bid(round_id=3, bidder="0x" + "ab" * 20, max_value_micro_usd=2**64 - 1, dataset_id=2**95,
              epsilon_micros=250_000, delta_atto=10**12, risk_bps=1000,
              declaration_hash=declaration, purpose=purpose_id("research"), equity_class=1,
              nonce=nonce, expiry_timestamp=2**63 - 1,
              bundles=tuple(Bundle(tuple(items), tuple(range(len(items))), value)
                            for items, value in bundles), salt=salt)
    domain = bid_domain(31337, "0x" + "cd" * 20)
    assert typed_digest(domain, BID_TYPES, "Bid", bid_message(bid)) == _eth_account_digest(
        domain, BID_TYPES, "Bid", bid_message(bid))
    assert typed_digest(DOMAIN, STRINGS, "Note", {"text": "ε ≤ 1", "data": salt}) == (
        _eth_account_digest(DOMAIN, STRINGS, "Note", {"text": "ε ≤ 1", "data": salt}))


STRINGS = {"Note": [{"name": "text", "type": "string"}, {"name": "data", "type": "bytes"}]}
