"""The JSON Schema of a workload declaration (`rcm risk assess` input), generated from the
pydantic model. Regenerate with `python -m risk.schema`; a test fails when the shipped file
drifts from the model."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from chain.schema_files import render_schemas, write_schemas
from risk.declaration import Declaration

SCHEMA_DIR = Path(__file__).parent
SCHEMAS: dict[str, type[BaseModel]] = {"declaration.schema.json": Declaration}


def render() -> dict[str, str]:
    """File name -> schema text, exactly as shipped."""
    return render_schemas(SCHEMAS)


def write() -> None:
    write_schemas(SCHEMA_DIR, SCHEMAS)
