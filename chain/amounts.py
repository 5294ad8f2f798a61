"""Whole-token amounts as users type them, and the integer smallest units contracts take."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from chain.errors import AmountError

DECIMALS = {"eth": 18, "cst": 18, "usd": 6}
UNITS = {"eth": "wei", "cst": "wei", "usd": "micro_usd"}  # each token's smallest unit, by name


def to_units(text: str, token: str, field: str = "amount") -> int:
    """'1.5' CST -> 1500000000000000000. Rejects non-numbers, amounts ≤ 0 and more decimal
    places than the token has."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise AmountError(f"{text!r} is not a number", field=field) from None
    if not value.is_finite() or value <= 0:
        raise AmountError(f"must be greater than 0, got {text}", field=field)
    units = value.scaleb(DECIMALS[token])
    if units != units.to_integral_value():
        raise AmountError(f"{token.upper()} has only {DECIMALS[token]} decimal places", field=field)
    return int(units)


def from_units(units: int, token: str) -> str:
    """1500000000000000000 CST -> '1.5'."""
    text = format(_whole(units, token), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def amount_text(units: int, token: str) -> str:
    """An amount as every human line shows it: exact, with thousands separators, no trailing
    zeros but a USD amount's cents. 1234500000000000000000 CST -> '1,234.5';
    1500000 micro-USD -> '1.50'."""
    text = format(_whole(units, token), ",f")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2 if token == "usd" else 0, "0")
    return f"{whole}.{fraction}" if fraction else whole


def grouped(units: int, token: str, places: int = 2) -> str:
    """Exact whole tokens with thousands separators and `places` decimals (half to even):
    10**30 micro-USD -> '1,000,000,000,000,000,000,000,000.00', where a float prints
    999,999,999,999,999,983,222,784.00."""
    return format(_whole(units, token), f",.{places}f")


def _whole(units: int, token: str) -> Decimal:
    # From text: Decimal arithmetic (scaleb, division) rounds to 28 digits.
    return Decimal(f"{units}e-{DECIMALS[token]}")


def counted(number: int, noun: str) -> str:
    """`1 winner`, `2 winners`: a count with its noun, for a human line."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def epsilon_text(micros: int) -> str:
    """ε as the ledger counts it (micro-ε, its ERC-1155 unit) as people read it:
    2500000 -> '2.5'."""
    return format(Decimal(micros).scaleb(-6).normalize(), "f")
