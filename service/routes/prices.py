"""GET /prices: clearing and trade prices per item and the index, as HTML with a Vega-Lite
chart, as JSON (`/prices.json`), and the chart's spec (`/prices.vl.json`); and what `rcm market
prices|index --relay` read: one item's price records (`/prices/history`) and the index
(`/prices/index`), each from a fresh index, as the relay's `/book` and `/trades`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.charts import prices_chart
from service.dashboard import MAX_ROWS
from service.dashboard_models import PricesPublic
from service.deps import DashboardDep, FreshDashboardDep
from service.models import ItemPricesPublic, PriceIndexPublic
from service.pages import page

router = APIRouter(tags=["dashboard"])


@router.get("/prices.json")
async def read_prices(dashboard: DashboardDep) -> PricesPublic:
    return dashboard.prices()


@router.get("/prices.vl.json")
async def prices_spec(dashboard: DashboardDep) -> dict[str, Any]:
    """The price chart as a Vega-Lite spec, data inline."""
    return prices_chart(dashboard.prices())


@router.get("/prices/history")
async def read_item_prices(dashboard: FreshDashboardDep, item: str) -> ItemPricesPublic:
    """An item's clearing and trade prices per unit, oldest first; `item` is its label or
    ROUND:INDEX."""
    return dashboard.item_prices(item)


@router.get("/prices/index")
async def read_price_index(dashboard: FreshDashboardDep, resource: str | None = None,
                           region: str | None = None) -> PriceIndexPublic:
    """The price index of each resource and region over time, of `resource` in `region` when
    given."""
    return dashboard.price_index(resource, region)


@router.get("/prices", response_class=HTMLResponse)
async def prices_page(request: Request, dashboard: DashboardDep) -> HTMLResponse:
    return page(request, "prices.html", view=dashboard.prices(), max_rows=MAX_ROWS)
