"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from oracle.node.service import OracleNode


async def get_node(request: Request) -> OracleNode:
    # async, so FastAPI resolves it on the event loop instead of a thread-pool round trip.
    return cast(OracleNode, request.app.state.node)


NodeDep = Annotated[OracleNode, Depends(get_node)]
