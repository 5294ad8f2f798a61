from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from risk.rubric import DEFAULT_RUBRIC

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "declaration.json"


@pytest.fixture
def declared() -> dict[str, Any]:
    """The example declaration as a document a test may change."""
    document: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return document


@pytest.fixture
def launch_document() -> dict[str, Any]:
    """The launch rubric as a document a test may change."""
    return tomllib.loads(DEFAULT_RUBRIC.read_text())
