"""Attestations: what an execution environment signs after a job, and how a node checks it.

Modelled on an Intel TDX quote plus NVIDIA H100 confidential-computing evidence: platform
measurements, a debug flag, a TCB status, and report data binding the verifier's nonce and the
job. The file is `{"evidence": {...}, "signature": ..., "cert_chain": [...]}`:

- `signature`: base64 of an Ed25519 signature over `canonical_json(evidence)`;
- `cert_chain`: PEM X.509 certificates, the enclave's (leaf) first and the provider's
  self-signed root last; the leaf's key is the one that signed.

`canonical_json` is RFC 8785 (JCS): keys sorted, no whitespace, UTF-8, numbers in ECMAScript
form (`1e-05` is written `0.00001`, `8.0` is `8`), so an enclave in any language with a JCS
library signs bytes a node reproduces. Every key in evidence is ASCII by its schema, so sorting
keys by code point and by UTF-16 unit agree. A FLOP count (up to 10^30) has no exact double, so
the declaration of what ran writes its FLOP counts as decimal strings, as RFC 8785 advises for
integers beyond 2^53.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Annotated, Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from oracle.errors import (
    BadSignature,
    BrokenChain,
    DebugEnabled,
    ExpiredCertificate,
    ReportDataMismatch,
    StaleEvidence,
    TcbNotAccepted,
    UnknownMeasurement,
    UntrustedRoot,
)
from risk.declaration import Declaration

Bytes32Hex = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]
JobId = Bytes32Hex
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Sha384Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{96}$")]
ReportData = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
Ed25519Signature = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{86}==$")]
UnixSeconds = Annotated[int, Field(ge=0, le=2**40)]
NonNegative = Annotated[float, Field(ge=0)]
# Intel's TCB statuses for a TDX platform, as its quote verification library reports them.
TcbStatus = Literal["UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "OutOfDate", "Revoked"]

MAX_CHAIN_LENGTH = 4
FLOP_FIELDS = ("job_flop", "model_flop")
FLOP_TEXT = re.compile(r"0|[1-9][0-9]{0,30}")  # decimal digits, no sign, spaces or `_`


class _Strict(BaseModel):
    # Strict, closed and finite: what is signed is exactly what is judged, with no coercion
    # ("false" is not False) and no field a node ignores.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class Measurements(_Strict):
    mrtd: Sha384Hex = Field(description="TDX MRTD: the measured initial image of the TD.")
    rtmr: Annotated[list[Sha384Hex], Field(min_length=4, max_length=4)] = Field(
        description="TDX RTMR0-3: firmware, kernel and command line, application."
    )
    gpu_firmware: Sha384Hex = Field(description="H100 CC: measured VBIOS and driver.")

    def launch_digest(self) -> str:
        """SHA-384 over the canonical measurements: the one value a regulator allow-lists."""
        return hashlib.sha384(canonical_json(self.model_dump(mode="json"))).hexdigest()


class Platform(_Strict):
    tee: Literal["tdx", "sev-snp", "software"]
    debug: bool
    tcb_status: TcbStatus
    measurements: Measurements


class DpMechanism(_Strict):
    """DP-SGD as run: Poisson-sampled Gaussian steps, and the ε the environment claims."""

    noise_multiplier: Annotated[float, Field(ge=0.01, le=1e3)]
    sampling_rate: Annotated[float, Field(gt=0, le=1)]
    steps: Annotated[int, Field(ge=1, le=10**8)]
    delta: Annotated[float, Field(gt=0, lt=1)]
    claimed_epsilon: NonNegative


class ResourceUse(_Strict):
    gpu_hours: NonNegative
    energy_kwh: NonNegative
    storage_gb: NonNegative


class Timestamps(_Strict):
    started_at: UnixSeconds
    finished_at: UnixSeconds
    issued_at: UnixSeconds


def _flop_from_text(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for field in FLOP_FIELDS:
        text = value.get(field)
        if text is not None and not (isinstance(text, str) and FLOP_TEXT.fullmatch(text)):
            raise ValueError(f"{field} is a string of decimal digits in evidence: a FLOP "
                             "count has no exact JSON number")
    return value | {field: int(value[field]) for field in FLOP_FIELDS if field in value}


def _flop_as_text(declaration: Declaration) -> dict[str, Any]:
    document = declaration.model_dump(mode="json")
    return document | {field: str(document[field]) for field in FLOP_FIELDS}


def _ran_schema() -> dict[str, Any]:
    schema = Declaration.model_json_schema()
    flop = {"type": "string", "pattern": f"^({FLOP_TEXT.pattern})$"}
    return schema | {"properties": schema["properties"] | dict.fromkeys(FLOP_FIELDS, flop)}


Ran = Annotated[
    Declaration,
    BeforeValidator(_flop_from_text),
    PlainSerializer(_flop_as_text, when_used="json"),
    WithJsonSchema(_ran_schema()),
]


class Evidence(_Strict):
    version: Literal[1]
    job: JobId
    nonce: Bytes32Hex
    report_data: ReportData = Field(description="SHA-512(nonce ‖ job), as TDX REPORTDATA.")
    platform: Platform
    datasets: Annotated[list[Bytes32Hex], Field(min_length=1, max_length=64)]
    purpose: Name
    ran: Ran = Field(description="What ran, as a workload declaration: the oracle scores it "
                                 "with the round's rubric.")
    declaration_hash: Bytes32Hex = Field(
        description="The declaration the job's bid committed to (keccak-256, 0x-hex).")
    dp: DpMechanism
    evaluations: Annotated[dict[Name, float], Field(max_length=64)]
    resources: ResourceUse
    timestamps: Timestamps

    def canonical(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @model_validator(mode="after")
    def _one_purpose(self) -> Evidence:
        if self.ran.purpose != self.purpose:
            raise ValueError(f"ran.purpose {self.ran.purpose!r} is not the job's purpose "
                             f"{self.purpose!r}")
        return self


class Attestation(_Strict):
    evidence: Evidence
    signature: Ed25519Signature
    cert_chain: Annotated[list[str], Field(min_length=1, max_length=MAX_CHAIN_LENGTH)]


class TrustPolicy(_Strict):
    """What makes evidence trustworthy at all; set by the regulator."""

    trusted_roots: list[Sha256Hex] = Field(description="SHA-256 of each trusted root's DER.")
    allowed_measurements: list[Sha384Hex] = Field(description="Allowed launch digests.")
    accepted_tcb: list[TcbStatus]
    max_evidence_age_s: Annotated[int, Field(ge=1)]
    max_clock_skew_s: Annotated[int, Field(ge=0)]


def canonical_json(value: Any) -> bytes:
    return _jcs(value).encode()


def _jcs(value: Any) -> str:
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{encode_basestring(k)}:{_jcs(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_jcs(item) for item in value) + "]"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise ValueError(f"{value} has no exact IEEE-754 double, so no JCS form")
        return str(value)
    if isinstance(value, float):
        return _es_number(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _es_number(number: float) -> str:
    """ECMAScript Number::toString: shortest round-trip digits, fixed within 1e-7 .. 1e21."""
    if not math.isfinite(number):
        raise ValueError("NaN and infinities have no JSON form")
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    parts = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, parts.digits))
    k = len(digits)
    n = int(parts.exponent) + k  # the value is 0.digits × 10^n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if n > 0 else '-'}{abs(n - 1)}"


def report_data_for(nonce: str, job: str) -> str:
    return hashlib.sha512(bytes.fromhex(nonce[2:]) + bytes.fromhex(job[2:])).hexdigest()


def sign_evidence(evidence: Evidence, signing_key: bytes, cert_chain: list[str]) -> Attestation:
    """What a TEE's quoting service does; `signing_key` is a 32-byte Ed25519 seed."""
    signature = Ed25519PrivateKey.from_private_bytes(signing_key).sign(evidence.canonical())
    return Attestation(
        evidence=evidence,
        signature=base64.b64encode(signature).decode(),
        cert_chain=cert_chain,
    )


def certificate_fingerprint(pem: str) -> str:
    """SHA-256 of the certificate's DER, hex; ValueError if `pem` is not a PEM certificate."""
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class _Window:
    subject: str
    not_before: int
    not_after: int


@dataclass(frozen=True)
class VerifiedChain:
    """A chain whose links, CA flags and key types were checked; dates and trust are not."""

    leaf_key: bytes
    root_fingerprint: str
    windows: tuple[_Window, ...]


def verify_attestation(attestation: Attestation, trust: TrustPolicy, now: int) -> Evidence:
    """The evidence, once every check passed; otherwise the OracleError naming the check."""
    chain = verify_chain(tuple(attestation.cert_chain))
    _check_validity(chain, now)
    if chain.root_fingerprint not in trust.trusted_roots:
        raise UntrustedRoot(f"root certificate {chain.root_fingerprint} is not trusted")
    _check_signature(attestation, chain.leaf_key)
    evidence = attestation.evidence
    if evidence.report_data != report_data_for(evidence.nonce, evidence.job):
        raise ReportDataMismatch("report data does not bind this nonce and job")
    if evidence.platform.debug:
        raise DebugEnabled("the environment ran in debug mode, so its memory was observable")
    if evidence.platform.tcb_status not in trust.accepted_tcb:
        raise TcbNotAccepted(f"TCB status {evidence.platform.tcb_status} is not accepted")
    digest = evidence.platform.measurements.launch_digest()
    if digest not in trust.allowed_measurements:
        raise UnknownMeasurement(f"launch digest {digest} is not an allowed measurement")
    _check_timestamps(evidence.timestamps, trust, now)
    return evidence


@functools.lru_cache(maxsize=1024)
def verify_chain(cert_chain: tuple[str, ...]) -> VerifiedChain:
    """Memoised per chain: the signature checks cost more than the rest of a request."""
    try:
        certificates = [x509.load_pem_x509_certificate(pem.encode()) for pem in cert_chain]
    except ValueError:
        raise BrokenChain("a certificate is not PEM X.509") from None
    chain = list(zip(certificates, [*certificates[1:], certificates[-1]], strict=True))
    for index, (certificate, issuer) in enumerate(chain):
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            signer = "itself" if issuer is certificate else issuer.subject.rfc4514_string()
            raise BrokenChain(
                f"certificate {index} ({certificate.subject.rfc4514_string()}) is not signed "
                f"by {signer}"
            ) from None
    for index, issuer in enumerate(certificates[1:], start=1):
        _check_issuer(issuer, index)
    leaf = certificates[0]
    _check_leaf(leaf)
    leaf_key = leaf.public_key()
    if not isinstance(leaf_key, Ed25519PublicKey):
        raise BrokenChain("the enclave certificate's key is not Ed25519")
    return VerifiedChain(
        leaf_key=leaf_key.public_bytes(Encoding.Raw, PublicFormat.Raw),
        root_fingerprint=hashlib.sha256(certificates[-1].public_bytes(Encoding.DER)).hexdigest(),
        windows=tuple(
            _Window(
                subject=c.subject.rfc4514_string(),
                not_before=int(c.not_valid_before_utc.timestamp()),
                not_after=int(c.not_valid_after_utc.timestamp()),
            )
            for c in certificates
        ),
    )


def _extension(certificate: x509.Certificate, kind: type[Any]) -> Any:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _check_issuer(issuer: x509.Certificate, index: int) -> None:
    subject = issuer.subject.rfc4514_string()
    constraints = _extension(issuer, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        raise BrokenChain(f"issuer {index} ({subject}) is not a CA (basicConstraints)")
    # Certificates between this issuer and the leaf are CAs it issued; pathLen bounds them.
    if constraints.path_length is not None and index - 1 > constraints.path_length:
        raise BrokenChain(f"issuer {index} ({subject}) exceeds its pathLenConstraint")
    usage = _extension(issuer, x509.KeyUsage)
    if usage is not None and not usage.key_cert_sign:
        raise BrokenChain(f"issuer {index} ({subject}) may not sign certificates (keyUsage)")


def _check_leaf(leaf: x509.Certificate) -> None:
    constraints = _extension(leaf, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise BrokenChain("the enclave certificate is a CA certificate")
    usage = _extension(leaf, x509.KeyUsage)
    if usage is not None and not usage.digital_signature:
        raise BrokenChain("the enclave certificate's key may not sign (keyUsage)")


def _check_validity(chain: VerifiedChain, now: int) -> None:
    for index, window in enumerate(chain.windows):
        if now < window.not_before:
            raise ExpiredCertificate(f"certificate {index} ({window.subject}) is not yet valid")
        if now > window.not_after:
            raise ExpiredCertificate(f"certificate {index} ({window.subject}) has expired")


def _check_signature(attestation: Attestation, leaf_key: bytes) -> None:
    signature = base64.b64decode(attestation.signature)
    key = Ed25519PublicKey.from_public_bytes(leaf_key)
    try:
        key.verify(signature, attestation.evidence.canonical())
    except InvalidSignature:
        raise BadSignature("the enclave's Ed25519 signature does not match the evidence") from None


def _check_timestamps(timestamps: Timestamps, trust: TrustPolicy, now: int) -> None:
    if not timestamps.started_at <= timestamps.finished_at <= timestamps.issued_at:
        raise StaleEvidence("started_at <= finished_at <= issued_at does not hold")
    if timestamps.issued_at > now + trust.max_clock_skew_s:
        raise StaleEvidence("the evidence was issued in the future")
    if now - timestamps.issued_at > trust.max_evidence_age_s:
        raise StaleEvidence(f"the evidence is older than {trust.max_evidence_age_s} s")
