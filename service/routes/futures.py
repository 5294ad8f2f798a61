"""GET /futures: every future with its holder, status, items and delivery end, filterable by
holder, status and round, as HTML or as its `.json` twin."""

from __future__ import annotations

from typing import Annotated, cast, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from service.dashboard_models import FuturesPublic, FutureStatus
from service.deps import DashboardDep
from service.errors import ServiceError
from service.pages import chosen, page

router = APIRouter(tags=["dashboard"])

HolderQuery = Annotated[str, Query(max_length=42, description="Only futures this address "
                                                             "holds; empty: everyone's.")]
StatusQuery = Annotated[str, Query(description="Only futures in this status; empty: any.")]
# Text, as the filter form sends an empty field for "any round"; 18 digits fit SQLite's int64.
RoundQuery = Annotated[str, Query(alias="round", max_length=18,
                                  description="Only the futures of this round; empty: every "
                                              "round's.")]


def _futures(dashboard: DashboardDep, holder: str, status: str, round_text: str
             ) -> FuturesPublic:
    if round_text and not (round_text.isascii() and round_text.isdigit()):
        raise ServiceError(f"expected a round number, got {round_text!r}", field="round")
    return dashboard.futures(holder or None, cast(FutureStatus | None, chosen(
        status, get_args(FutureStatus), "status")), int(round_text) if round_text else None)


@router.get("/futures.json")
async def read_futures(dashboard: DashboardDep, holder: HolderQuery = "",
                       status: StatusQuery = "", round_text: RoundQuery = "") -> FuturesPublic:
    """The latest 500 futures that match, newest round first; `matching` says how many
    match."""
    return _futures(dashboard, holder, status, round_text)


@router.get("/futures", response_class=HTMLResponse)
async def futures_page(request: Request, dashboard: DashboardDep, holder: HolderQuery = "",
                       status: StatusQuery = "", round_text: RoundQuery = "") -> HTMLResponse:
    return page(request, "futures.html", view=_futures(dashboard, holder, status, round_text))
