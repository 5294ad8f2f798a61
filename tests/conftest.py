"""Fixtures shared by every test: an isolated RCM_HOME, the compiled contracts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def rcm_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test reads or writes the developer's ~/.rcm."""
    home = tmp_path_factory.mktemp("rcm-home")
    previous = os.environ.get("RCM_HOME")
    os.environ["RCM_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("RCM_HOME", None)
    else:
        os.environ["RCM_HOME"] = previous
