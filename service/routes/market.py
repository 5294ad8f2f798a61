"""GET /market: the market's health (price volatility, spread, solver optimality, idle
capacity), as HTML or as its `.json` twin. Not /health: that is the service's own."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.dashboard_models import MarketHealthPublic
from service.deps import DashboardDep
from service.pages import page

router = APIRouter(tags=["dashboard"])


@router.get("/market.json")
async def read_market(dashboard: DashboardDep) -> MarketHealthPublic:
    return dashboard.market()


@router.get("/market", response_class=HTMLResponse)
async def market_page(request: Request, dashboard: DashboardDep) -> HTMLResponse:
    return page(request, "market.html", view=dashboard.market())
