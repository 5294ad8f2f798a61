"""GET /verdicts/{job}: the verdict this node signed for a job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from oracle.node.deps import NodeDep
from oracle.node.models import ErrorPublic, VerdictPublic

router = APIRouter(prefix="/verdicts", tags=["verdicts"])

JobPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="bytes32 job id.")]


@router.get(
    "/{job}",
    responses={
        404: {"model": ErrorPublic, "description": "No verdict for this job."},
        422: {"model": ErrorPublic, "description": "Not a job id."},
    },
)
def read_verdict(job: JobPath, node: NodeDep) -> VerdictPublic:
    return node.verdict(job.lower())
