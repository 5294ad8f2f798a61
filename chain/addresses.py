"""0x addresses as people and files write them, checked before anything is sent to one.

EIP-55 spells an address's checksum in the case of its hex letters: a mixed-case address that is
not its own checksummed form has a typo (one in about 4,000 typos slips through), and money sent
to it is lost. All-lower and all-upper hex carry no checksum and are taken as written.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from chain.abi_codec import AbiError, checksum_fits, to_checksum_address
from chain.errors import RcmError


def checksummed(text: str) -> str:
    """The EIP-55 form of `text`; ValueError, with the reason, for anything that is not an
    address or whose mixed case is not its checksum."""
    try:
        address = to_checksum_address(text)
    except AbiError:
        raise ValueError(f"expected 0x and 40 hex digits, got {text!r}") from None
    if not checksum_fits(text):
        raise ValueError(
            f"{text}: bad EIP-55 checksum (mixed case must match; did you mistype it?)")
    return address


def parse_address(text: str, field: str) -> str:
    """The EIP-55 form of an address read from `field`; RcmError naming it otherwise."""
    try:
        return checksummed(text)
    except ValueError as exc:
        raise RcmError(str(exc), field=field) from None


Address = Annotated[str, AfterValidator(checksummed)]
"""An address field of a pydantic model: validated as `parse_address` does, held checksummed."""
