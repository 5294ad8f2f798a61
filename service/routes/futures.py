"""GET /futures: every future with its holder, status, items and delivery end, filterable by
holder and status, as HTML or as its `.json` twin."""

from __future__ import annotations

from typing import Annotated, cast, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from service.dashboard_models import FuturesPublic, FutureStatus
from service.deps import DashboardDep
from service.pages import chosen, page

router = APIRouter(tags=["dashboard"])

HolderQuery = Annotated[str, Query(max_length=42, description="Only futures this address "
                                                             "holds; empty: everyone's.")]
StatusQuery = Annotated[str, Query(description="Only futures in this status; empty: any.")]


def _futures(dashboard: DashboardDep, holder: str, status: str) -> FuturesPublic:
    return dashboard.futures(holder or None, cast(FutureStatus | None, chosen(
        status, get_args(FutureStatus), "status")))


@router.get("/futures.json")
async def read_futures(dashboard: DashboardDep, holder: HolderQuery = "",
                       status: StatusQuery = "") -> FuturesPublic:
    """The latest 500 futures, newest round first."""
    return _futures(dashboard, holder, status)


@router.get("/futures", response_class=HTMLResponse)
async def futures_page(request: Request, dashboard: DashboardDep, holder: HolderQuery = "",
                       status: StatusQuery = "") -> HTMLResponse:
    return page(request, "futures.html", view=_futures(dashboard, holder, status))
