"""GET /metrics: Prometheus text exposition."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from oracle.node.deps import NodeDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(node: NodeDep) -> PlainTextResponse:
    return PlainTextResponse(node.metrics.render(), media_type=CONTENT_TYPE_LATEST)
