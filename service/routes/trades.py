"""GET /trades: the exchange's fills, newest first, from its `Traded` events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.deps import FreshRelayDep
from service.models import TradePublic

router = APIRouter(tags=["trades"])


@router.get("/trades")
async def read_trades(relay: FreshRelayDep,
                      item: Annotated[int | None, Query(ge=0, lt=2**16)] = None,
                      round: Annotated[int | None, Query(ge=0, lt=2**32)] = None,
                      ) -> list[TradePublic]:
    """The last 100 fills, of futures delivering `item` of `round` when given."""
    return relay.trades(round, item)
