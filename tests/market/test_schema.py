from __future__ import annotations

from market.schema import SCHEMA_DIR, render


def test_shipped_schemas_match_the_models() -> None:
    for name, text in render().items():
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run `python -m market.schema`")
