"""Long ids named by their first hex digits: one match or a refusal naming the field."""

from __future__ import annotations

import pytest

from tokens.errors import TokensError
from tokens.ids import resolve_prefix

IDS = {"0x1234abcd00ff": 1, "0x1234abcd11ee": 2, "0x99887766aa": 3}


def _resolve(text: str, whole_digits: int | None = None) -> int | None:
    return resolve_prefix(text, lambda: IDS, "the test ids", "dataset", whole_digits)


def test_a_prefix_of_one_id_names_it_and_a_whole_id_itself() -> None:
    assert _resolve("0x99887766") == 3
    assert _resolve("0X1234ABCD00") == 1
    assert _resolve("0x99887766aa") == 3


@pytest.mark.parametrize("text, reason", [
    ("0x1234abcd", "0x1234abcd is the start of 2 of the test ids; give more digits"),
    ("0x1234", "0x1234 is too short to name an id: give at least 8 hex digits after its "
               "leading zeros"),
    ("0x0000000012", "0x0000000012 is too short to name an id: give at least 8 hex digits "
                     "after its leading zeros"),
    ("0x55555555", "0x55555555 is the start of none of the test ids"),
])
def test_an_ambiguous_short_or_unknown_prefix_is_refused(text: str, reason: str) -> None:
    with pytest.raises(TokensError) as raised:
        _resolve(text, whole_digits=12)
    assert (raised.value.field, raised.value.reason) == ("dataset", reason)


def test_what_is_no_prefix_is_left_to_the_caller() -> None:
    def unread() -> dict[str, int]:
        raise AssertionError("a whole id needs no lookup")

    for text in ("1234", "0xnothex1", "0x5555555555aa"):
        assert resolve_prefix(text, unread, "ids", "dataset", whole_digits=12) is None
    assert _resolve("0x55555555") is None  # with no whole length, it may be a whole id


def test_an_id_shown_in_two_forms_is_one_match() -> None:
    forms = {"0x99887766aa": 3, f"0x{0x99887766aa:064x}": 3}
    assert resolve_prefix("0x99887766", lambda: forms, "the test ids", "dataset") == 3
