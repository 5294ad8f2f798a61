"""Rubrics: the launch rubric draws the regimes' lines exactly; a rubric that is malformed or
not monotone is refused naming its key; the hash is of the file's bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import tomli_w

from chain.abi_codec import keccak
from risk.errors import RubricError
from risk.rubric import DEFAULT_RUBRIC, parse_rubric, read_rubric, rubric_hash

Edit = Callable[[dict[str, Any]], None]


def test_the_launch_rubric_draws_each_regime_line_at_its_exact_flop_count() -> None:
    rubric, _ = read_rubric()
    assert [line.flop for line in rubric.compute.model_thresholds] == [10**23, 10**25, 10**26]
    assert [line.flop for line in rubric.compute.biological_sequence_thresholds] == [10**23]
    assert "Art. 51(2)" in rubric.compute.model_thresholds[1].source
    assert len(rubric.prohibited) == 8  # AI Act Art. 5(1)(a) to (h)


def _set(path: str, value: Any) -> Edit:
    """Sets the value at a dotted path into the document (`compute.model_thresholds.2.flop`)."""
    *parents, last = path.split(".")

    def edit(document: dict[str, Any]) -> None:
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return edit


def _delete(key: str) -> Edit:
    return lambda document: document.pop(key) and None


@pytest.mark.parametrize(("edit", "field", "reason"), [
    (_delete("version"), "version", "Field required"),
    (_set("version", ""), "version", "at least 1 character"),
    (_delete("tolerance_bps"), "tolerance_bps", "Field required"),
    (_set("base.bps", -1), "base.bps", "greater than or equal to 0"),
    (_set("base.bps", 10_001), "base.bps", "less than or equal to 10000"),
    (_set("tasks.training.bps", -500), "tasks.training.bps", "greater than or equal to 0"),
    (_set("data_categories.health.bps", 7.5), "data_categories.health.bps", "valid integer"),
    (_set("capabilities.offensive_cyber.bps", -1), "capabilities.offensive_cyber.bps",
     "greater than or equal to 0"),
    (_set("compute.model_thresholds.2.bps", -2000), "compute.model_thresholds[2].bps",
     "greater than or equal to 0"),
    (_set("compute.model_thresholds.2.flop", 1e24), "compute.model_thresholds[2].flop",
     "must be above compute.model_thresholds[1].flop (1e25)"),
    (_set("compute.model_thresholds.1.flop", 1e23), "compute.model_thresholds[1].flop",
     "must be above compute.model_thresholds[0].flop (1e23)"),
    (_set("compute.job_thresholds.1.flop", 1e21), "compute.job_thresholds[1].flop",
     "must be above compute.job_thresholds[0].flop (1e22)"),
    (_set("compute.model_thresholds.0.flop", -1), "compute.model_thresholds[0].flop",
     "greater than or equal to 0"),
    (_set("release.weights.bps", 100), "release.weights.bps",
     "must be at least release.api.bps (500)"),
    (_set("release.internal.bps", 600), "release.api.bps",
     "must be at least release.internal.bps (600)"),
    (_set("bonus", 1), "bonus", "unknown field"),
    (_set("compute.model_thresholds.0.name", "gpai"), "compute.model_thresholds[0].name",
     "unknown field"),
    (_set("capabilities.mind_control", {"bps": 1, "source": "x"}),
     "capabilities.mind_control", "'surveillance'"),
    (_set("prohibited.jaywalking", "nowhere"), "prohibited.jaywalking", "'social_scoring'"),
])
def test_a_bad_or_non_monotone_rubric_is_refused_naming_its_key(
        launch_document: dict[str, Any], edit: Edit, field: str, reason: str) -> None:
    edit(launch_document)
    with pytest.raises(RubricError) as raised:
        parse_rubric(tomli_w.dumps(launch_document).encode())
    assert raised.value.field == field and reason in raised.value.reason, raised.value


@pytest.mark.parametrize("source", [b"version = ", b"\xff\xfe", b"[base]\n[base]\n"])
def test_a_file_that_is_no_toml_is_refused_as_the_rubric(source: bytes) -> None:
    with pytest.raises(RubricError) as raised:
        parse_rubric(source)
    assert raised.value.field == "rubric"


def test_the_hash_is_of_the_files_bytes() -> None:
    source = DEFAULT_RUBRIC.read_bytes()
    assert read_rubric()[1] == source
    assert rubric_hash(source) == keccak(source)
    edited = source + b"# a comment changes the file, so the rubric it pins\n"
    assert parse_rubric(edited) == parse_rubric(source)
    assert rubric_hash(edited) != rubric_hash(source)
