"""JSON Schemas of the market instance (`rcm auction clear` input) and of the clearing result
(its output: priced for a JSON market, unpriced for a CATS file), generated from the pydantic
models. Regenerate with `python -m market.schema`; a test fails when the shipped files drift
from the models."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from chain.schema_files import render_schemas, write_schemas
from market.model import Market
from market.result import Clearing, PricedClearing

SCHEMA_DIR = Path(__file__).parent
SCHEMAS: dict[str, type[BaseModel]] = {"market.schema.json": Market,
                                       "clearing.schema.json": Clearing,
                                       "priced-clearing.schema.json": PricedClearing}


def render() -> dict[str, str]:
    """File name -> schema text, exactly as shipped."""
    return render_schemas(SCHEMAS)


def write() -> None:
    write_schemas(SCHEMA_DIR, SCHEMAS)
