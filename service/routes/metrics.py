"""GET /metrics: Prometheus text exposition."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from service.deps import RelayDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(relay: RelayDep) -> PlainTextResponse:
    return PlainTextResponse(relay.metrics.render(), media_type=CONTENT_TYPE_LATEST)
