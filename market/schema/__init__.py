"""JSON Schemas of the market instance (`rcm auction clear` input) and of the clearing result
(its output: priced for a JSON market, unpriced for a CATS file), generated from the pydantic
models. Regenerate with `python -m market.schema`; a test fails when the shipped files drift
from the models."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from market.model import Market
from market.result import Clearing, PricedClearing

SCHEMA_DIR = Path(__file__).parent
SCHEMAS: dict[str, type[BaseModel]] = {"market.schema.json": Market,
                                       "clearing.schema.json": Clearing,
                                       "priced-clearing.schema.json": PricedClearing}


def render() -> dict[str, str]:
    """File name -> schema text, exactly as shipped."""
    return {name: json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
            for name, model in SCHEMAS.items()}


def write() -> None:
    for name, text in render().items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
