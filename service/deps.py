"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, cast

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from service.dashboard import Dashboard
from service.relay import Relay


async def get_relay(request: Request) -> Relay:
    # async, so FastAPI resolves it on the event loop instead of a thread-pool round trip.
    return cast(Relay, request.app.state.relay)


async def caught_up(request: Request) -> None:
    """Waits, off the event loop, for the index to hold every block mined before the request,
    when the app runs beside a poller (`rcm market serve`)."""
    wait = cast(Callable[[], None] | None, request.app.state.caught_up)
    if wait is not None:
        await run_in_threadpool(wait)


async def get_fresh_relay(request: Request) -> Relay:
    await caught_up(request)
    return await get_relay(request)


RelayDep = Annotated[Relay, Depends(get_relay)]
FreshRelayDep = Annotated[Relay, Depends(get_fresh_relay)]


async def get_dashboard(request: Request) -> Dashboard:
    return cast(Dashboard, request.app.state.dashboard)


async def get_fresh_dashboard(request: Request) -> Dashboard:
    await caught_up(request)
    return await get_dashboard(request)


DashboardDep = Annotated[Dashboard, Depends(get_dashboard)]
FreshDashboardDep = Annotated[Dashboard, Depends(get_fresh_dashboard)]
