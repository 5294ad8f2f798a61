"""GET /budgets: each dataset's privacy budget, as HTML with a Vega-Lite chart, as JSON
(`/budgets.json`), and the chart's spec (`/budgets.vl.json`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.charts import budgets_chart
from service.dashboard_models import BudgetsPublic
from service.deps import DashboardDep
from service.pages import page

router = APIRouter(tags=["dashboard"])


@router.get("/budgets.json")
async def read_budgets(dashboard: DashboardDep) -> BudgetsPublic:
    return dashboard.budgets()


@router.get("/budgets.vl.json")
async def budgets_spec(dashboard: DashboardDep) -> dict[str, Any]:
    """ε held, reserved and consumed over time as a Vega-Lite spec, data inline."""
    return budgets_chart(dashboard.budgets())


@router.get("/budgets", response_class=HTMLResponse)
async def budgets_page(request: Request, dashboard: DashboardDep) -> HTMLResponse:
    return page(request, "budgets.html", view=dashboard.budgets())
