from __future__ import annotations

import pytest

from tokens.amounts import from_units, to_units
from tokens.errors import TokensError


@pytest.mark.parametrize(
    "text, token, units",
    [
        ("1", "cst", 10**18),
        ("1.5", "cst", 15 * 10**17),
        ("0.000001", "usd", 1),
        ("12", "usd", 12_000_000),
    ],
)
def test_whole_tokens_become_smallest_units_and_back(text: str, token: str, units: int) -> None:
    assert to_units(text, token) == units
    assert from_units(units, token) == text


@pytest.mark.parametrize(
    "text, message",
    [
        ("0", "greater than 0"),
        ("-3", "greater than 0"),
        ("abc", "not a number"),
        ("nan", "greater than 0"),
        ("inf", "greater than 0"),
        ("0.0000001", "6 decimal places"),
    ],
)
def test_bad_amounts_name_the_field(text: str, message: str) -> None:
    with pytest.raises(TokensError, match=f"amount: .*{message}"):
        to_units(text, "usd")
