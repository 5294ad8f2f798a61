"""The FastAPI application of one node; errors become `{"detail": "<check>: …", "check": …}`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from oracle.errors import AlreadyJudged, MalformedEvidence, OracleError, VerdictNotFound
from oracle.node.models import ErrorPublic, ReplayPublic, VerdictPublic
from oracle.node.routes import attestations, health, metrics, prices, verdicts
from oracle.node.service import OracleNode


def create_app(node: OracleNode) -> FastAPI:
    """The app serves `node` and never closes it: whoever loaded the node does that."""
    app = FastAPI(
        title="rcm policy oracle node",
        version="1",
        description="Verifies attestations against four stakeholders' policies and signs "
        "EIP-712 verdicts.",
    )
    app.state.node = node
    for module in (attestations, verdicts, prices, health, metrics):
        app.include_router(module.router)
    app.exception_handler(OracleError)(_refused)
    app.exception_handler(RequestValidationError)(_invalid)
    return app


async def _refused(request: Request, exc: OracleError) -> JSONResponse:
    if isinstance(exc, AlreadyJudged):
        body = ReplayPublic(
            detail=str(exc), check=exc.check, verdict=VerdictPublic.model_validate(exc.verdict)
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=409)
    status = 404 if isinstance(exc, VerdictNotFound) else 422
    return JSONResponse(ErrorPublic(detail=str(exc), check=exc.check).model_dump(), status)


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    return await _refused(request, MalformedEvidence.from_errors(exc.errors()))
