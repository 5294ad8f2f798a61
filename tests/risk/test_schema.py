from __future__ import annotations

from risk.schema import SCHEMA_DIR, render


def test_the_shipped_schema_matches_the_model() -> None:
    for name, text in render().items():
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run `python -m risk.schema`")
