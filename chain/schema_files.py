"""JSON Schema files generated from pydantic models, rendered exactly as they ship, so that a
test can tell a shipped file that drifted from its model."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel


def render_schemas(schemas: dict[str, type[BaseModel]]) -> dict[str, str]:
    """File name -> schema text, exactly as shipped."""
    return {name: json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
            for name, model in schemas.items()}


def write_schemas(directory: Path, schemas: dict[str, type[BaseModel]]) -> None:
    for name, text in render_schemas(schemas).items():
        (directory / name).write_text(text, encoding="utf-8")
