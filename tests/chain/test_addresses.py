"""Every address rcm reads goes through one EIP-55 check (issue 18, bug 1)."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address as web3_checksum
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from chain.addresses import Address, parse_address
from chain.errors import RcmError

# The issue's recipient: mixed case, but not its checksum (one typo away from it).
MISTYPED = "0xB5f6E8eB1A846824b38a3f214F0CF487A9386617"
CHECKSUMMED = web3_checksum(MISTYPED.lower())


def test_the_issues_mistyped_address_is_refused_naming_its_field() -> None:
    assert CHECKSUMMED != MISTYPED
    with pytest.raises(RcmError) as refused:
        parse_address(MISTYPED, "to")
    assert refused.value.field == "to"
    assert refused.value.reason == (
        f"{MISTYPED}: bad EIP-55 checksum (mixed case must match; did you mistype it?)")


@pytest.mark.parametrize("written", [CHECKSUMMED, CHECKSUMMED.lower(),
                                     "0x" + CHECKSUMMED[2:].upper()])
def test_the_checksum_and_both_unchecked_forms_are_read_checksummed(written: str) -> None:
    assert parse_address(written, "to") == CHECKSUMMED


@pytest.mark.parametrize("text", [
    CHECKSUMMED[:-1],                    # 39 digits
    CHECKSUMMED + "0",                   # 41 digits
    CHECKSUMMED[:-1] + "g",              # not hex
    CHECKSUMMED[2:],                     # no 0x
    "0X" + CHECKSUMMED[2:],
    " " + CHECKSUMMED,
    "",
])
def test_anything_but_0x_and_40_hex_digits_is_refused(text: str) -> None:
    with pytest.raises(RcmError, match=r"^seller: expected 0x and 40 hex digits, got ") as refused:
        parse_address(text, "seller")
    assert refused.value.field == "seller"


@given(st.binary(min_size=20, max_size=20), st.data())
def test_flipping_the_case_of_one_letter_of_a_checksummed_address_is_refused(
    raw: bytes, data: st.DataObject
) -> None:
    valid = web3_checksum(raw)
    letters = [i for i, c in enumerate(valid[2:], start=2) if c.isalpha()]
    assume(letters)
    i = data.draw(st.sampled_from(letters))
    flipped = valid[:i] + valid[i].swapcase() + valid[i + 1:]
    digits = flipped[2:]
    # A flip that leaves every letter in one case drops the checksum rather than breaking it.
    assume(digits not in (digits.lower(), digits.upper()))
    with pytest.raises(RcmError, match="bad EIP-55 checksum"):
        parse_address(flipped, "to")


class _Holder(BaseModel):
    owner: Address


def test_a_model_field_reads_through_the_same_check() -> None:
    assert _Holder(owner=CHECKSUMMED.lower()).owner == CHECKSUMMED
    with pytest.raises(ValidationError, match="bad EIP-55 checksum"):
        _Holder.model_validate({"owner": MISTYPED})
