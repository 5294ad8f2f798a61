"""GET /book: one (round, item)'s live orders, best first, with depth."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.deps import FreshRelayDep
from service.models import BookPublic

router = APIRouter(tags=["book"])


@router.get("/book")
async def read_book(item: Annotated[int, Query(ge=0, lt=2**16)],
                    round: Annotated[int, Query(ge=0, lt=2**32)],
                    relay: FreshRelayDep) -> BookPublic:
    """Bids (criteria bids and buy orders for the round's futures that deliver the item) and
    asks (sell orders of those futures, with the item's units), only those that could fill
    now."""
    return relay.book(round, item)
