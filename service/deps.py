"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from service.relay import Relay


async def get_relay(request: Request) -> Relay:
    # async, so FastAPI resolves it on the event loop instead of a thread-pool round trip.
    return cast(Relay, request.app.state.relay)


RelayDep = Annotated[Relay, Depends(get_relay)]
