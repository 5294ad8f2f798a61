"""The dashboard's HTML: Jinja2 templates (autoescaped: an ask's region or unit is whatever
bytes its provider chose) and the filters they format numbers with."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from chain.amounts import amount_text, epsilon_text
from chain.times import utc_text
from service.errors import ServiceError

TEMPLATES = Path(__file__).parent / "templates"
REFRESH_SECONDS = 3


def _usd(micros: int | None) -> str:
    return "—" if micros is None else amount_text(micros, "usd")


def _cst(wei: int) -> str:
    return amount_text(wei, "cst")


def _utc(timestamp: int) -> str:
    """To the minute; the column or the sentence says UTC."""
    return utc_text(timestamp)[:16]


def _percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction:.2%}"


def _short(hex_id: str) -> str:
    return hex_id[:10] + "…"


templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters.update(usd=_usd, cst=_cst, eps=epsilon_text, utc=_utc, percent=_percent,
                            short=_short)
templates.env.globals["refresh_seconds"] = REFRESH_SECONDS


def page(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context)


def fragment_wanted(request: Request) -> bool:
    """An htmx request, which swaps in a part of the page rather than the page."""
    return request.headers.get("hx-request") == "true"


def chosen(text: str, choices: Collection[str], field: str) -> str | None:
    """A filter form's choice; its empty option ("any") sends an empty value, as the JSON twin
    takes it."""
    if not text:
        return None
    if text not in choices:
        raise ServiceError(f"expected one of {', '.join(choices)}, got {text!r}", field=field)
    return text
