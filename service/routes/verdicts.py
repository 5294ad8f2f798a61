"""GET /verdicts: the oracle quorum's verdict on each redeemed future and what it moved, as
HTML or as its `.json` twin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.dashboard_models import VerdictsPublic
from service.deps import DashboardDep
from service.pages import page

router = APIRouter(tags=["dashboard"])


@router.get("/verdicts.json")
async def read_verdicts(dashboard: DashboardDep) -> VerdictsPublic:
    """The latest 500 verdicts and time-outs, newest first."""
    return dashboard.verdicts()


@router.get("/verdicts", response_class=HTMLResponse)
async def verdicts_page(request: Request, dashboard: DashboardDep) -> HTMLResponse:
    return page(request, "verdicts.html", view=dashboard.verdicts())
