"""POST /attestations: judge the evidence of one job."""

from __future__ import annotations

from fastapi import APIRouter

from oracle.attestation import Attestation
from oracle.node.deps import NodeDep
from oracle.node.models import ErrorPublic, ReplayPublic, VerdictPublic

router = APIRouter(prefix="/attestations", tags=["attestations"])


@router.post(
    "",
    status_code=201,
    responses={
        409: {"model": ReplayPublic, "description": "Nonce or job already judged."},
        422: {
            "model": ErrorPublic,
            "description": "Untrusted or malformed evidence, or the job's future unreadable.",
        },
    },
)
async def submit_attestation(attestation: Attestation, node: NodeDep) -> VerdictPublic:
    """Verify, recompute ε, evaluate every stakeholder's policy, sign and store the verdict.

    A node that reads a chain holds a job that redeemed a future to what the future bought.
    A breach shown by authentic evidence is a signed `violation`; evidence that can't be
    trusted, or a job whose future the node cannot read, is refused with 422 naming the failed
    check, and nothing is stored or signed.
    """
    # Judging is ~2 ms of CPU under the GIL: run on the event loop, as a hop to the thread
    # pool would only add GIL hand-offs between the loop and the workers.
    return node.judge(attestation)
