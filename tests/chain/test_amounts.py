from __future__ import annotations

import pytest

from chain.amounts import from_units, grouped, to_units
from chain.errors import AmountError


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
    with pytest.raises(AmountError, match=f"amount: .*{message}"):
        to_units(text, "usd")



MAX_UINT = 2**256 - 1


@pytest.mark.parametrize(
    "units, token, places, text",
    [
        (10**30, "usd", 2, "1,000,000,000,000,000,000,000,000.00"),  # a float: …983,222,784.00
        (10**36 + 5, "usd", 6, "1,000,000,000,000,000,000,000,000,000,000.000005"),
        (-1_234_567, "usd", 2, "-1.23"),
        (1_500_000_000_000_000_000, "cst", 4, "1.5000"),
        # its fraction is not a half, so rounding it is adding a half and truncating
        (MAX_UINT, "cst", 0, f"{(MAX_UINT + 10**18 // 2) // 10**18:,}"),
    ],
)
def test_amounts_are_shown_exactly_with_thousands_separators(units: int, token: str,
                                                               places: int, text: str) -> None:
    assert grouped(units, token, places) == text
