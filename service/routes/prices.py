"""GET /prices: clearing and trade prices per item and the index, as HTML with a Vega-Lite
chart, as JSON (`/prices.json`), and the chart's spec (`/prices.vl.json`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.charts import prices_chart
from service.dashboard import MAX_ROWS
from service.dashboard_models import PricesPublic
from service.deps import DashboardDep
from service.pages import page

router = APIRouter(tags=["dashboard"])


@router.get("/prices.json")
async def read_prices(dashboard: DashboardDep) -> PricesPublic:
    return dashboard.prices()


@router.get("/prices.vl.json")
async def prices_spec(dashboard: DashboardDep) -> dict[str, Any]:
    """The price chart as a Vega-Lite spec, data inline."""
    return prices_chart(dashboard.prices())


@router.get("/prices", response_class=HTMLResponse)
async def prices_page(request: Request, dashboard: DashboardDep) -> HTMLResponse:
    return page(request, "prices.html", view=dashboard.prices(), max_rows=MAX_ROWS)
