"""GET /health: liveness and who this node is."""

from __future__ import annotations

from fastapi import APIRouter

from oracle.node.deps import NodeDep
from oracle.node.models import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health")
def health(node: NodeDep) -> HealthPublic:
    return node.health()
