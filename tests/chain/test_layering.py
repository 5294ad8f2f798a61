"""Contracts are read only through `chain/`: its readers name every field a view returns, so
no ABI layout (a struct's field order, a tuple index) leaks into the packages above it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABOVE_CHAIN = ("market", "tokens", "oracle", "rcm")


def test_no_package_above_chain_calls_a_contract_view() -> None:
    calls = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for package in ABOVE_CHAIN
             for path in sorted((ROOT / package).rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), start=1)
             if ".call(" in line]
    listed = "\n".join(calls)
    assert not calls, f"read contracts through a reader in chain/, not `.call(`:\n{listed}"
