"""The market service's FastAPI application: the order relay and the dashboard over one store.
A refusal is `{"detail": "<field>: …", "field": …}` with the status its error names."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chain.errors import ChainError, RcmError
from service.dashboard import Dashboard
from service.errors import BodyTooLarge, MalformedOrder, ServiceError
from service.models import ErrorPublic
from service.relay import Relay
from service.routes import (
    assets,
    book,
    budgets,
    futures,
    health,
    market,
    metrics,
    orders,
    prices,
    rounds,
    safety,
    trades,
    verdicts,
)

# An order file is ~600 bytes; anything much larger is someone testing the relay's memory.
MAX_BODY_BYTES = 4_096


def create_app(relay: Relay, caught_up: Callable[[], None] | None = None) -> FastAPI:
    """The app serves `relay`, and the dashboard through the relay's connection (every route
    runs on the event loop, so the two never share it across threads); it never closes the
    store: whoever opened it does that. `caught_up` (`Poller.caught_up`) returns once the
    index holds every block mined before it was called: the relay's reads wait for it, and a
    refused order is checked once more after it, so a client that just sent a transaction (an
    approval, a fill) reads its effect."""
    app = FastAPI(
        title="rcm market service",
        version="1",
        description="Keeps signed FuturesExchange orders that could fill now, and answers the "
        "book, the trades and the prices from an index of the chain. Every fill is checked on "
        "chain. The "
        "dashboard's pages have JSON twins: /rounds.json, /rounds/{round}.json, /prices.json, "
        "/futures.json, /verdicts.json, /safety.json, /budgets.json, /market.json.",
    )
    app.state.relay = relay
    app.state.caught_up = caught_up
    app.state.dashboard = Dashboard(relay.db)
    for module in (orders, book, trades, health, metrics, rounds, prices, futures, verdicts,
                   safety, budgets, market, assets):
        app.include_router(module.router)
    app.exception_handler(ServiceError)(_refused)
    app.exception_handler(RcmError)(_unreadable)
    app.exception_handler(RequestValidationError)(_invalid)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    return app


async def _refused(request: Request, exc: ServiceError) -> JSONResponse:
    return JSONResponse(ErrorPublic(detail=str(exc), field=exc.field).model_dump(),
                        exc.status_code)


async def _unreadable(request: Request, exc: RcmError) -> JSONResponse:
    """A chain the relay cannot read (503), or a body's field that the order file's own
    validators refuse (an address, 400)."""
    if isinstance(exc, ChainError):
        error = ServiceError(f"the relay cannot read the chain now: {exc}", field="rpc")
        error.status_code = 503
        return await _refused(request, error)
    return await _refused(request, MalformedOrder(exc.reason, field=exc.field))


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid"}
    path = [str(part) for part in first["loc"] if part not in ("body", "path", "query")]
    field = ".".join(path) or "body"
    error: ServiceError = MalformedOrder(str(first["msg"]), field=field)
    if "body" not in first["loc"]:
        error = ServiceError(str(first["msg"]), field=field)
    return await _refused(request, error)


class BodyLimit:
    """Refuses a request body beyond `max_bytes`, by its Content-Length before reading it, or
    as it streams in (chunked) before the app sees any of it: a flood of large bodies costs
    the relay no memory beyond `max_bytes` per request."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        if length is not None:
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLarge(f"is over {self.max_bytes} bytes", field="body")
        response = JSONResponse(ErrorPublic(detail=str(error), field=error.field).model_dump(),
                                error.status_code)
        await response(scope, receive, send)
