"""POST /orders: take a signed order; GET /orders/{hash}: one order by hash or prefix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from service.deps import FreshRelayDep, RelayDep, caught_up
from service.errors import ServiceError
from service.models import ErrorPublic, OrderPublic, PostedPublic
from tokens.trade import OrderFile

router = APIRouter(prefix="/orders", tags=["orders"])

HashPath = Annotated[str, Path(pattern=r"^(0x)?[0-9a-fA-F]{4,64}$",
                               description="The order's hash, or at least 4 of its first "
                                           "hex digits.")]


@router.post(
    "",
    status_code=201,
    responses={
        400: {"model": ErrorPublic, "description": "Not an order file."},
        409: {"model": ErrorPublic, "description": "The relay holds this order already."},
        413: {"model": ErrorPublic, "description": "A body beyond any order file's size."},
        422: {"model": ErrorPublic, "description": "A check failed: `field` names it."},
        429: {"model": ErrorPublic, "description": "The maker has the most open orders kept."},
    },
)
async def post_order(file: OrderFile, relay: RelayDep, request: Request) -> PostedPublic:
    """Checks the maker's EIP-712 signature under the exchange's domain, the order's terms
    (price, expiry, counter, status, a tradable future or an existing round and item) and the
    maker's future and approval (a sell) or USD balance and allowance (a buy), against the
    indexed chain; keeps the order and answers its hash."""
    # The checks are ~0.2 ms of CPU and SQLite on one connection: run on the event loop. Only
    # a refusal waits for the index to catch up (the maker's approval may be in the last block).
    try:
        return relay.post(file)
    except ServiceError as refused:
        if type(refused) is not ServiceError or request.app.state.caught_up is None:
            raise
    await caught_up(request)
    return relay.post(file)


@router.get(
    "/{order}",
    responses={
        404: {"model": ErrorPublic, "description": "No such order here."},
        422: {"model": ErrorPublic, "description": "The prefix names several orders."},
    },
)
async def read_order(order: HashPath, relay: FreshRelayDep) -> OrderPublic:
    return relay.order(order)
