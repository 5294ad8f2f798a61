"""The software attester: signs job evidence the way a TEE's quoting service would.

SOFTWARE ONLY. In production the enclave key lives in the TEE and the provider's root in an
HSM; here both are files on this machine, so the evidence proves nothing about what ran. It
exists for tests and demos, and says so: its platform is `tee: "software"` and its
certificates' organisation is `SOFTWARE_LABEL`.

`rcm enclave init DIR` writes `root.pem` (the provider root a regulator would trust),
`enclave.pem` (the enclave's certificate, issued by the root) and `enclave.key` (the enclave's
Ed25519 key, mode 0600). The root's private key is dropped once the enclave certificate is
issued, as an offline root would be kept elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import NameOID

from oracle import accountant
from oracle.attestation import (
    Attestation,
    Evidence,
    Measurements,
    Platform,
    ResourceUse,
    report_data_for,
    sign_evidence,
)
from oracle.errors import EnclaveError
from risk.declaration import Declaration, declaration_hash

SOFTWARE_LABEL = "rcm software attester (not a TEE)"
ROOT_FILE, CERT_FILE, KEY_FILE = "root.pem", "enclave.pem", "enclave.key"
ROOT_VALIDITY = timedelta(days=3650)
ENCLAVE_VALIDITY = timedelta(days=365)
JOB_DURATION_S = 3600


def _measure(component: str) -> str:
    return hashlib.sha384(f"rcm software attester v1: {component}".encode()).hexdigest()


DEFAULT_MEASUREMENTS = Measurements(
    mrtd=_measure("td image"),
    rtmr=[_measure(f"rtmr{i}") for i in range(4)],
    gpu_firmware=_measure("gpu firmware"),
)
DEFAULT_PURPOSE = "research"
DEFAULT_EVALUATIONS = {
    "harmful_refusal_rate": 0.98,
    "membership_inference_auc": 0.52,
    "toxicity_rate": 0.01,
}
DEFAULT_RESOURCES = ResourceUse(gpu_hours=8.0, energy_kwh=5.6, storage_gb=100.0)


def default_ran(purpose: str) -> Declaration:
    """What a job ran unless told otherwise: evaluating a 7B model in house on public data, as
    little as any rubric scores (the launch rubric: its base alone), so it is never understated
    and no practice is prohibited."""
    return Declaration(task="evaluation", model_parameters=7 * 10**9, job_flop=10**19,
                       model_flop=8 * 10**22, data_categories=frozenset({"public"}),
                       mainly_biological_sequences=False, capabilities=frozenset(),
                       practices=frozenset(), purpose=purpose, release="internal")


@dataclass(frozen=True)
class Enclave:
    signing_key: bytes  # the Ed25519 seed
    cert_chain: list[str]  # enclave certificate, then root, as PEM


def issue_certificate(
    common_name: str,
    public_key: Ed25519PublicKey,
    issuer: x509.Name | None,
    signer: Ed25519PrivateKey,
    not_before: datetime,
    validity: timedelta,
    ca: bool,
) -> x509.Certificate:
    """An Ed25519 certificate signed by `signer`; `issuer` None makes it self-signed."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, SOFTWARE_LABEL),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    usage = dict.fromkeys(
        ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement"), False
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + validity)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
                **usage,
            ),
            critical=True,
        )
    )
    return builder.sign(signer, algorithm=None)


def new_enclave(now: datetime | None = None) -> Enclave:
    """A fresh provider root and an enclave certificate it issued, valid from `now`."""
    # Backdated, as CAs do, so a verifier whose clock lags a little still accepts it.
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    root_key, enclave_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    root = issue_certificate(
        "rcm software provider root",
        root_key.public_key(),
        None,
        root_key,
        start,
        ROOT_VALIDITY,
        ca=True,
    )
    enclave = issue_certificate(
        "rcm software enclave",
        enclave_key.public_key(),
        root.subject,
        root_key,
        start,
        ENCLAVE_VALIDITY,
        ca=False,
    )
    return Enclave(
        signing_key=enclave_key.private_bytes_raw(),
        cert_chain=[pem(enclave), pem(root)],
    )


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode()


def write_enclave(directory: Path, enclave: Enclave) -> None:
    paths = [directory / name for name in (ROOT_FILE, CERT_FILE, KEY_FILE)]
    if existing := [p for p in paths if p.exists()]:
        raise EnclaveError(f"{existing[0]} already exists")
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.from_private_bytes(enclave.signing_key)
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(directory / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    (directory / CERT_FILE).write_text(enclave.cert_chain[0])
    (directory / ROOT_FILE).write_text(enclave.cert_chain[1])


def read_enclave(directory: Path) -> Enclave:
    try:
        key = load_pem_private_key((directory / KEY_FILE).read_bytes(), password=None)
        chain = [(directory / CERT_FILE).read_text(), (directory / ROOT_FILE).read_text()]
    except (OSError, ValueError) as exc:
        raise EnclaveError(f"{directory} is not an enclave directory ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise EnclaveError(f"{directory / KEY_FILE} is not an Ed25519 key")
    return Enclave(signing_key=key.private_bytes_raw(), cert_chain=chain)


def make_evidence(
    job: str,
    datasets: list[str],
    *,
    noise_multiplier: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    claimed_epsilon: float | None = None,
    purpose: str = DEFAULT_PURPOSE,
    ran: Declaration | None = None,
    declared: str | None = None,
    evaluations: dict[str, float] | None = None,
    resources: ResourceUse = DEFAULT_RESOURCES,
    nonce: str | None = None,
    issued_at: int,
) -> Evidence:
    """Evidence of a job; whatever is not given passes the example policies.

    `ran` is what ran (`default_ran` for the purpose unless given), `declared` the 0x-hash of
    the declaration its bid committed to (`ran`'s unless given: the job ran as declared). The
    claimed ε defaults to the accountant's own value, so a default claim is truthful.
    Raises pydantic's ValidationError for a value outside the evidence schema.
    """
    ran = ran or default_ran(purpose)
    evidence = Evidence.model_validate(
        {
            "version": 1,
            "job": job,
            "nonce": nonce or "0x" + secrets.token_hex(32),
            # Placeholders for what is derived below, once job, nonce and dp are well-formed.
            "report_data": "00" * 64,
            "platform": Platform(
                tee="software",
                debug=False,
                tcb_status="UpToDate",
                measurements=DEFAULT_MEASUREMENTS,
            ),
            "datasets": datasets,
            "purpose": purpose,
            "ran": ran,
            "declaration_hash": declared or "0x" + declaration_hash(ran).hex(),
            "dp": {
                "noise_multiplier": noise_multiplier,
                "sampling_rate": sampling_rate,
                "steps": steps,
                "delta": delta,
                "claimed_epsilon": 0.0 if claimed_epsilon is None else claimed_epsilon,
            },
            "evaluations": DEFAULT_EVALUATIONS if evaluations is None else evaluations,
            "resources": resources,
            "timestamps": {
                "started_at": issued_at - JOB_DURATION_S,
                "finished_at": issued_at,
                "issued_at": issued_at,
            },
        }
    )
    dp = evidence.dp
    if claimed_epsilon is None:
        dp = dp.model_copy(update={"claimed_epsilon": accountant.mechanism_epsilon(dp)})
    return evidence.model_copy(
        update={"report_data": report_data_for(evidence.nonce, evidence.job), "dp": dp}
    )


def attest(enclave: Enclave, evidence: Evidence) -> Attestation:
    return sign_evidence(evidence, enclave.signing_key, enclave.cert_chain)
