"""Why the oracle refused: each class names one failed check, and every message starts with it.

Rejections mean the evidence can't be trusted (or the request is wrong), so nothing is stored
or signed. A breach shown by authentic evidence is not an error: it is a signed violation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from chain.errors import RcmError


class OracleError(RcmError):
    check: ClassVar[str] = "oracle"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.check}: {detail}")
        self.detail = detail


class MalformedEvidence(OracleError):
    check = "schema"

    @classmethod
    def from_errors(cls, errors: Sequence[Mapping[str, Any]]) -> MalformedEvidence:
        """From pydantic's (or FastAPI's) validation errors: each field's path and complaint."""
        parts = []
        for error in errors[:3]:
            path = [str(part) for part in error["loc"] if part not in ("body", "path", "query")]
            parts.append(f"{'.'.join(path) or 'body'}: {error['msg']}")
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return cls("; ".join(parts) + more)


class BrokenChain(OracleError):
    check = "cert_chain"


class ExpiredCertificate(OracleError):
    check = "cert_validity"


class UntrustedRoot(OracleError):
    check = "trust_root"


class BadSignature(OracleError):
    check = "signature"


class ReportDataMismatch(OracleError):
    check = "report_data"


class DebugEnabled(OracleError):
    check = "debug"


class TcbNotAccepted(OracleError):
    check = "tcb"


class UnknownMeasurement(OracleError):
    check = "measurement"


class StaleEvidence(OracleError):
    check = "timestamps"


class AlreadyJudged(OracleError):
    """A second attestation for a nonce or job: the node never signs twice, it shows the first."""

    def __init__(self, detail: str, verdict: Mapping[str, Any]) -> None:
        super().__init__(detail)
        self.verdict = verdict


class ReplayedNonce(AlreadyJudged):
    check = "nonce"


class JobAlreadyJudged(AlreadyJudged):
    check = "job"


class VerdictNotFound(OracleError):
    check = "job"


class ConfigError(OracleError):
    check = "config"


class EnclaveError(OracleError):
    check = "enclave"


class PricingRefused(OracleError):
    """The node cannot price the round: it has no chain to read, or the round is not in its
    price phase, or the chain holds no such round."""

    check = "pricing"


class FutureUnreadable(OracleError):
    """The node cannot read what the job's future bought: its chain did not answer, or an
    item's unit has no conversion to the evidence's. It never judges a future's job by its own
    files instead."""

    check = "future"


class UnknownRubric(OracleError):
    """The node does not hold the rubric the job's round pinned (by its hash), or that file is
    no rubric: it cannot score what ran, so it signs nothing rather than judge by another."""

    check = "rubric"
