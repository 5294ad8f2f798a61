"""Property tests of the node against its own OpenAPI document (schemathesis, bounded)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.schemas import BaseSchema

from oracle.config import read_node_config
from oracle.node.app import create_app
from oracle.node.service import load_node
from tests.oracle.factories import PASSWORD

OPERATIONS = [
    ("POST", "/attestations"),
    ("GET", "/verdicts/{job}"),
    ("POST", "/rounds/{round_id}/prices"),
    ("GET", "/health"),
    ("GET", "/metrics"),
]


@pytest.fixture(scope="module")
def api(oracle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> BaseSchema:
    config = read_node_config(oracle_dir / "node-1.toml")
    database = tmp_path_factory.mktemp("schemathesis") / "node.sqlite"
    node = load_node(config.model_copy(update={"database": database}), PASSWORD)
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(node))


def test_every_operation_is_exercised(api: BaseSchema) -> None:
    paths = api.raw_schema["paths"]
    assert {(method.upper(), path) for path in paths for method in paths[path]} == set(OPERATIONS)


# Schemathesis' own pytest loader (`from_fixture`) does not run on pytest 9, so each operation's
# strategy is drawn here. Every generated attestation is refused (no generator can forge the
# enclave's signature), so the checks are those that hold for refusals too: no 5xx, documented
# status codes, content types and bodies.
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_node_honours_its_openapi_document(api: BaseSchema, method: str, path: str) -> None:
    @given(case=api[path][method].as_strategy())
    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
    def honours(case: schemathesis.Case) -> None:
        case.call_and_validate(
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ]
        )

    honours()
