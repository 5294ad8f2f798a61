"""POST /rounds/{round}/prices: the node's signed price report on a round's final allocation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from oracle.node.deps import NodeDep
from oracle.node.models import ErrorPublic, PricePublic

router = APIRouter(prefix="/rounds", tags=["prices"])

RoundPath = Annotated[int, Path(ge=1, lt=2**32, description="The round's id.")]


@router.post(
    "/{round_id}/prices",
    responses={422: {"model": ErrorPublic, "description": "The node cannot price the round."}},
)
def price_round(round_id: RoundPath, node: NodeDep) -> PricePublic:
    """Recomputes the Ethical Pricing Function for the round's final allocation from the chain
    and signs the report. The round must be in its price phase."""
    return node.price(round_id)
