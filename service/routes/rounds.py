"""GET /rounds and /rounds/{round}: the dashboard's rounds, as HTML or as their `.json` twins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from market.result import LossReason
from service.dashboard_models import RoundPublic, RoundsPublic
from service.deps import DashboardDep
from service.pages import chosen, fragment_wanted, page

router = APIRouter(tags=["dashboard"])

ReasonQuery = Annotated[str, Query(description="Only bids that lost for this reason (a "
                                             "`LossReason`); empty: every bid.")]
RoundPath = Annotated[int, Path(ge=0, lt=2**32, description="The round's id.")]


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/rounds")


@router.get("/rounds.json")
async def read_rounds(dashboard: DashboardDep) -> RoundsPublic:
    """The latest 100 rounds, newest first."""
    return dashboard.rounds()


@router.get("/rounds", response_class=HTMLResponse)
async def rounds_page(request: Request, dashboard: DashboardDep) -> HTMLResponse:
    """The rounds table; htmx asks for the table alone every few seconds."""
    template = "_rounds_table.html" if fragment_wanted(request) else "rounds.html"
    response = page(request, template, view=dashboard.rounds())
    # One URL, two bodies: a cache must not answer a page's load with the bare table.
    response.headers["vary"] = "HX-Request"
    return response


@router.get("/rounds/{round_id}.json")
async def read_round(round_id: RoundPath, dashboard: DashboardDep,
                     reason: ReasonQuery = "") -> RoundPublic:
    """A round's items and every bid with its outcome; a loser's reason as the auctioneer's
    code finds it from the chain's events."""
    return dashboard.round(round_id, _reason(reason))


@router.get("/rounds/{round_id}", response_class=HTMLResponse)
async def round_page(request: Request, round_id: RoundPath, dashboard: DashboardDep,
                     reason: ReasonQuery = "") -> HTMLResponse:
    return page(request, "round.html", view=dashboard.round(round_id, _reason(reason)))


def _reason(text: str) -> LossReason | None:
    reason = chosen(text, list(LossReason), "reason")
    return None if reason is None else LossReason(reason)
