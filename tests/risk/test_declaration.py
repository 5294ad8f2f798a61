"""Declarations: every field required and checked, FLOP counts read as written, and one hash
however the same declaration is written."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest

from chain.abi_codec import keccak
from chain.ledger import CATEGORY_BITS, category_bits, category_names
from risk.declaration import (
    MAX_FLOP,
    DataCategory,
    Declaration,
    canonical_json,
    declaration_hash,
    parse_declaration,
    read_declaration,
)
from risk.errors import DeclarationError
from tests.risk.conftest import EXAMPLE


def _refusal(document: Any) -> DeclarationError:
    with pytest.raises(DeclarationError) as raised:
        parse_declaration(json.dumps(document))
    return raised.value


def test_the_example_is_a_complete_declaration() -> None:
    declaration = read_declaration(EXAMPLE)
    assert declaration.task == "fine_tuning" and declaration.data_categories == {"health"}
    assert declaration.model_flop >= declaration.job_flop


@pytest.mark.parametrize("field", list(Declaration.model_fields))
def test_a_missing_field_is_refused_by_name(declared: dict[str, Any], field: str) -> None:
    del declared[field]
    refused = _refusal(declared)
    assert (refused.field, refused.reason) == (field, "Field required")


@pytest.mark.parametrize(("changes", "field", "reason"), [
    ({"job_flop": -1}, "job_flop", "greater than or equal to 0"),
    ({"model_flop": -1e3}, "model_flop", "greater than or equal to 0"),
    ({"job_flop": MAX_FLOP + 1}, "job_flop", f"less than or equal to {MAX_FLOP}"),
    ({"model_flop": 1e31}, "model_flop", f"less than or equal to {MAX_FLOP}"),
    ({"job_flop": 1.5}, "job_flop", "valid integer"),
    ({"job_flop": "1e20"}, "job_flop", "valid integer"),
    ({"job_flop": True}, "job_flop", "valid integer"),
    ({"model_parameters": -7}, "model_parameters", "greater than or equal to 0"),
    ({"capabilities": ["offensive_cyber", "mind_control"]}, "capabilities[1]", "'surveillance'"),
    ({"data_categories": ["astrology"]}, "data_categories[0]", "'public'"),
    ({"practices": ["jaywalking"]}, "practices[0]", "'social_scoring'"),
    ({"task": "pretraining"}, "task", "'fine_tuning'"),
    ({"release": "open"}, "release", "'weights'"),
    ({"mainly_biological_sequences": "no"}, "mainly_biological_sequences", "valid boolean"),
    ({"purpose": ""}, "purpose", "at least 1 character"),
    ({"bonus": 1}, "bonus", "unknown field"),
    ({"task": "training", "job_flop": 2e24, "model_flop": 1e24}, "model_flop",
     "must be at least job_flop (2e24) for a training job"),
])
def test_a_bad_value_is_refused_naming_its_field(
        declared: dict[str, Any], changes: dict[str, Any], field: str, reason: str) -> None:
    refused = _refusal(declared | changes)
    assert refused.field == field and reason in refused.reason, refused


def test_a_job_that_trains_nothing_may_use_more_compute_than_trained_its_model(
        declared: dict[str, Any]) -> None:
    declared |= {"task": "inference", "job_flop": 1e24, "model_flop": 1e23}
    assert parse_declaration(json.dumps(declared)).job_flop == 10**24


@pytest.mark.parametrize("text", ["{", "[]", "", "null"])
def test_a_file_that_is_no_json_object_is_refused_as_the_declaration(text: str) -> None:
    with pytest.raises(DeclarationError) as raised:
        parse_declaration(text)
    assert raised.value.field == "declaration"


def test_an_unreadable_file_is_refused_as_the_declaration(tmp_path: Any) -> None:
    with pytest.raises(DeclarationError) as raised:
        read_declaration(tmp_path / "absent.json")
    assert raised.value.field == "declaration" and "cannot read" in raised.value.reason


@pytest.mark.parametrize(("written", "exact"), [
    ("1e25", 10**25), ("1.5e24", 15 * 10**23), ("84063e18", 84_063 * 10**18),
    ("10000000000000000000000001", 10**25 + 1)])
def test_flop_counts_are_read_as_written_not_as_the_nearest_float(
        declared: dict[str, Any], written: str, exact: int) -> None:
    text = json.dumps(declared | {"model_flop": "X"}).replace('"X"', written)
    assert parse_declaration(text).model_flop == exact


def test_the_hash_binds_the_declaration_not_how_it_is_written(declared: dict[str, Any]) -> None:
    declared |= {"data_categories": ["health", "genomic"],
                 "capabilities": ["surveillance", "autonomous_agents"]}
    rewritten = dict(reversed(declared.items())) | {
        "data_categories": ["genomic", "health", "genomic"],
        "capabilities": ["autonomous_agents", "surveillance"],
        "model_flop": 84_063 * 10**18}  # the example writes 8.4063e22
    first = parse_declaration(json.dumps(declared))
    second = parse_declaration(json.dumps(rewritten, indent=4))
    assert declaration_hash(first) == declaration_hash(second)
    assert declaration_hash(first) != declaration_hash(
        parse_declaration(json.dumps(declared | {"release": "weights"})))


def test_the_canonical_encoding_is_sorted_compact_json_and_the_hash_its_keccak(
        declared: dict[str, Any]) -> None:
    declared["data_categories"] = ["public", "health", "financial"]
    declaration = parse_declaration(json.dumps(declared))
    encoded = canonical_json(declaration)
    document = json.loads(encoded)
    assert encoded == json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert document["data_categories"] == ["financial", "health", "public"]
    assert document["model_flop"] == 84_063 * 10**18
    assert declaration_hash(declaration) == keccak(encoded)


def test_a_declaration_covers_a_dataset_only_with_every_category_it_is_registered_with() -> None:
    declaration = read_declaration(EXAMPLE)  # health data
    assert declaration.undeclared_data([]) is None
    assert declaration.undeclared_data(["health"]) is None
    assert declaration.undeclared_data(["genomic", "health", "financial"]) == (
        "the dataset is registered as holding financial and genomic data: the declaration must "
        "list them")


def test_the_ledgers_category_bits_name_the_rubrics_categories() -> None:
    assert set(CATEGORY_BITS) == set(get_args(DataCategory)) - {"public"}
    assert category_names(category_bits(["health", "financial"])) == {"health", "financial"}
