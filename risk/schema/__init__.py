"""The JSON Schema of a workload declaration (`rcm risk assess` input), generated from the
pydantic model. Regenerate with `python -m risk.schema`; a test fails when the shipped file
drifts from the model."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from risk.declaration import Declaration

SCHEMA_DIR = Path(__file__).parent
SCHEMAS: dict[str, type[BaseModel]] = {"declaration.schema.json": Declaration}


def render() -> dict[str, str]:
    """File name -> schema text, exactly as shipped."""
    return {name: json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
            for name, model in SCHEMAS.items()}


def write() -> None:
    for name, text in render().items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
