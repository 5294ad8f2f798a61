"""GET /health: liveness, the deployment, and how far the index reaches."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import RelayDep
from service.models import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(relay: RelayDep) -> HealthPublic:
    return relay.health()
