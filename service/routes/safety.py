"""GET /safety: the safety vault's stakes and bonds, as HTML with a Vega-Lite chart, as JSON
(`/safety.json`), and the chart's spec (`/safety.vl.json`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.charts import safety_chart
from service.dashboard_models import SafetyPublic
from service.deps import DashboardDep
from service.handlers import VAULT_MOVES
from service.pages import page

router = APIRouter(tags=["dashboard"])


@router.get("/safety.json")
async def read_safety(dashboard: DashboardDep) -> SafetyPublic:
    return dashboard.safety()


@router.get("/safety.vl.json")
async def safety_spec(dashboard: DashboardDep) -> dict[str, Any]:
    """Stake locked, released and burned over time as a Vega-Lite spec, data inline."""
    return safety_chart(dashboard.safety())


@router.get("/safety", response_class=HTMLResponse)
async def safety_page(request: Request, dashboard: DashboardDep) -> HTMLResponse:
    return page(request, "safety.html", view=dashboard.safety(), kinds=list(VAULT_MOVES.values()))
