"""Contracts are read only through `chain/`: its readers name every field a view returns, so
no ABI layout (a struct's field order, a tuple index) leaks into the packages above it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABOVE_CHAIN = ("market", "tokens", "oracle", "service", "rcm")


def test_no_package_above_chain_calls_a_contract_view() -> None:
    calls = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for package in ABOVE_CHAIN
             for path in sorted((ROOT / package).rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), start=1)
             if ".call(" in line]
    listed = "\n".join(calls)
    assert not calls, f"read contracts through a reader in chain/, not `.call(`:\n{listed}"


def _raised_text(path: Path) -> list[tuple[int, str]]:
    """The string parts of every `raise ...(...)` in a module, with their line numbers."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            for part in ast.walk(node.exc):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    found.append((node.lineno, part.value))
    return found


def test_no_error_below_the_cli_names_a_command_or_a_flag() -> None:
    """The library's errors name fields as the API spells them; the CLI spells them as its
    options and adds the command that fixes an error (rcm/errors.py)."""
    import re

    command = re.compile(r"`rcm |--[a-z]")
    found = [f"{path.relative_to(ROOT)}:{number}: {text!r}"
             for package in ("chain", "tokens", "market", "oracle", "risk", "service")
             for path in sorted((ROOT / package).rglob("*.py"))
             for number, text in _raised_text(path) if command.search(text)]
    listed = "\n".join(found)
    assert not found, f"errors below the CLI name a command or a flag:\n{listed}"


def test_risk_depends_on_nothing_of_ours_but_chains_pure_helpers() -> None:
    """Both sides use it, the buyer's command and the oracle node, so it stays a leaf."""
    import ast

    ours = ("chain", "tokens", "market", "oracle", "rcm", "risk")
    pure = {"chain.abi_codec", "chain.errors", "chain.schema_files", "chain.validation"}
    found = [f"{path.relative_to(ROOT)}: {name}"
             for path in sorted((ROOT / "risk").rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.ImportFrom | ast.Import)
             for name in ([node.module or ""] if isinstance(node, ast.ImportFrom)
                          else [alias.name for alias in node.names])
             if name.split(".")[0] in ours and not name.startswith("risk")
             and name not in pure]
    assert not found, "risk imports beyond chain's pure helpers:\n" + "\n".join(found)


# What each package may import of ours besides itself (../shared/DESIGN.md: dependencies point
# one way; market, oracle and tokens are peers over chain and risk; the service is above them).
MAY_IMPORT = {"chain": set(), "risk": {"chain"}, "tokens": {"chain", "risk"},
              "market": {"chain", "risk"}, "oracle": {"chain", "risk"},
              "service": {"chain", "risk", "market", "oracle", "tokens"}}


def test_dependencies_point_one_way() -> None:
    import ast

    ours = {"chain", "tokens", "market", "oracle", "service", "rcm", "risk"}
    found = [f"{path.relative_to(ROOT)}: {name}"
             for package, allowed in MAY_IMPORT.items()
             for path in sorted((ROOT / package).rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.ImportFrom | ast.Import)
             for name in ([node.module or ""] if isinstance(node, ast.ImportFrom)
                          else [alias.name for alias in node.names])
             if name.split(".")[0] in ours - allowed - {package}]
    assert not found, "imports against the layering:\n" + "\n".join(found)
