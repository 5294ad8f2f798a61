"""Attestations: canonical encoding, and every reason evidence is refused as untrustworthy."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from oracle.attestation import (
    Attestation,
    TrustPolicy,
    canonical_json,
    report_data_for,
    verify_attestation,
    verify_chain,
)
from oracle.attester import Enclave, attest, issue_certificate, new_enclave, pem
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
from tests.oracle.factories import evidence, signed, with_platform, with_timestamps

NOW = int(time.time())


@pytest.mark.parametrize(
    ("number", "text"),
    [
        # RFC 8785, appendix B, and the ECMAScript boundaries of fixed notation.
        (0.0, "0"),
        (-0.0, "0"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740992.0, "9007199254740992"),
        (295147905179352830000.0, "295147905179352830000"),
        (1e21, "1e+21"),
        (1e23, "1e+23"),
        (333333333.3333333, "333333333.3333333"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1e-5, "0.00001"),
        (-1.5, "-1.5"),
        (8.0, "8"),
    ],
)
def test_canonical_json_writes_numbers_as_ecmascript(number: float, text: str) -> None:
    assert canonical_json(number) == text.encode()


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    value = {"b": [1, True, None], "a": {"d": 'x\n"', "c": 2.5}}
    assert canonical_json(value) == b'{"a":{"c":2.5,"d":"x\\n\\""},"b":[1,true,null]}'


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 2**60, object()])
def test_canonical_json_refuses_values_without_an_exact_json_form(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        canonical_json(value)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_canonical_json_numbers_parse_back_to_the_same_double(number: float) -> None:
    # As a JSON parser that reads every number as a double (JavaScript) does.
    assert json.loads(canonical_json(number), parse_int=float) == number


def test_valid_attestation_verifies(enclave: Enclave, trust: TrustPolicy) -> None:
    attestation = signed(enclave)
    assert verify_attestation(attestation, trust, NOW) == attestation.evidence


def test_attestation_survives_a_round_trip_through_its_json_file(
    enclave: Enclave, trust: TrustPolicy
) -> None:
    attestation = signed(enclave)
    parsed = Attestation.model_validate_json(attestation.model_dump_json(indent=2))
    assert verify_attestation(parsed, trust, NOW) == attestation.evidence


def test_verify_chain_is_memoised_per_chain(enclave: Enclave) -> None:
    verify_chain(tuple(enclave.cert_chain))
    hits = verify_chain.cache_info().hits
    verify_chain(tuple(enclave.cert_chain))
    assert verify_chain.cache_info().hits == hits + 1


def test_tampered_evidence_fails_the_signature_check(enclave: Enclave, trust: TrustPolicy) -> None:
    attestation = signed(enclave)
    tampered = attestation.model_copy(
        update={"evidence": attestation.evidence.model_copy(update={"purpose": "commercial"})}
    )
    with pytest.raises(BadSignature, match=r"^signature: "):
        verify_attestation(tampered, trust, NOW)


def test_evidence_signed_by_another_key_fails_the_signature_check(
    enclave: Enclave, trust: TrustPolicy
) -> None:
    impostor = Enclave(signing_key=new_enclave().signing_key, cert_chain=enclave.cert_chain)
    with pytest.raises(BadSignature):
        verify_attestation(attest(impostor, evidence()), trust, NOW)


def test_a_garbled_signature_fails_the_signature_check(
    enclave: Enclave, trust: TrustPolicy
) -> None:
    attestation = signed(enclave)
    garbled = base64.b64encode(bytes(64)).decode()
    with pytest.raises(BadSignature):
        verify_attestation(attestation.model_copy(update={"signature": garbled}), trust, NOW)


def test_a_leaf_not_issued_by_the_root_breaks_the_chain(
    enclave: Enclave, trust: TrustPolicy
) -> None:
    other = new_enclave()
    spliced = Enclave(other.signing_key, [other.cert_chain[0], enclave.cert_chain[1]])
    with pytest.raises(BrokenChain, match=r"^cert_chain: certificate 0 .* is not signed by"):
        verify_attestation(attest(spliced, evidence()), trust, NOW)


def test_a_certificate_that_is_not_pem_breaks_the_chain(
    enclave: Enclave, trust: TrustPolicy
) -> None:
    garbage = Enclave(enclave.signing_key, [enclave.cert_chain[0], "not a certificate"])
    with pytest.raises(BrokenChain, match="not PEM"):
        verify_attestation(attest(garbage, evidence()), trust, NOW)


def _chain(root_is_ca: bool, leaf_is_ca: bool) -> Enclave:
    start = datetime.now(UTC) - timedelta(minutes=1)
    root_key, leaf_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    root = issue_certificate(
        "root", root_key.public_key(), None, root_key, start, timedelta(days=1), ca=root_is_ca
    )
    leaf = issue_certificate(
        "leaf",
        leaf_key.public_key(),
        root.subject,
        root_key,
        start,
        timedelta(days=1),
        ca=leaf_is_ca,
    )
    return Enclave(leaf_key.private_bytes_raw(), [pem(leaf), pem(root)])


def test_an_issuer_that_is_not_a_ca_breaks_the_chain(trust: TrustPolicy) -> None:
    with pytest.raises(BrokenChain, match="is not a CA"):
        verify_attestation(
            attest(_chain(root_is_ca=False, leaf_is_ca=False), evidence()), trust, NOW
        )


def test_an_enclave_certificate_that_is_a_ca_breaks_the_chain(trust: TrustPolicy) -> None:
    with pytest.raises(BrokenChain, match="is a CA certificate"):
        verify_attestation(attest(_chain(root_is_ca=True, leaf_is_ca=True), evidence()), trust, NOW)


def test_an_expired_enclave_certificate_is_refused(trust: TrustPolicy) -> None:
    stale = new_enclave(datetime.now(UTC) - timedelta(days=400))
    trusting = trust.model_copy(update={"trusted_roots": [_root(stale)]})
    with pytest.raises(ExpiredCertificate, match=r"^cert_validity: certificate 0 .* has expired"):
        verify_attestation(attest(stale, evidence()), trusting, NOW)


def test_a_certificate_not_yet_valid_is_refused(trust: TrustPolicy) -> None:
    early = new_enclave(datetime.now(UTC) + timedelta(days=1))
    trusting = trust.model_copy(update={"trusted_roots": [_root(early)]})
    with pytest.raises(ExpiredCertificate, match="not yet valid"):
        verify_attestation(attest(early, evidence()), trusting, NOW)


def _root(enclave: Enclave) -> str:
    return verify_chain(tuple(enclave.cert_chain)).root_fingerprint


def test_a_chain_to_an_untrusted_root_is_refused(trust: TrustPolicy) -> None:
    with pytest.raises(UntrustedRoot, match=r"^trust_root: "):
        verify_attestation(attest(new_enclave(), evidence()), trust, NOW)


def test_report_data_must_bind_nonce_and_job(enclave: Enclave, trust: TrustPolicy) -> None:
    original = evidence()
    unbound = original.model_copy(
        update={"report_data": report_data_for(original.nonce, "0x" + "00" * 32)}
    )
    with pytest.raises(ReportDataMismatch, match=r"^report_data: "):
        verify_attestation(attest(enclave, unbound), trust, NOW)


def test_debug_mode_is_refused(enclave: Enclave, trust: TrustPolicy) -> None:
    with pytest.raises(DebugEnabled, match=r"^debug: "):
        verify_attestation(signed(enclave, with_platform(evidence(), debug=True)), trust, NOW)


@pytest.mark.parametrize("status", ["OutOfDate", "Revoked", "ConfigurationNeeded"])
def test_a_tcb_status_not_accepted_is_refused(
    enclave: Enclave, trust: TrustPolicy, status: str
) -> None:
    with pytest.raises(TcbNotAccepted, match=rf"^tcb: TCB status {status}"):
        verify_attestation(
            signed(enclave, with_platform(evidence(), tcb_status=status)), trust, NOW
        )


def test_an_unknown_measurement_is_refused(enclave: Enclave, trust: TrustPolicy) -> None:
    original = evidence()
    measurements = original.platform.measurements.model_copy(update={"mrtd": "ab" * 48})
    with pytest.raises(UnknownMeasurement, match=r"^measurement: launch digest"):
        verify_attestation(
            signed(enclave, with_platform(original, measurements=measurements)), trust, NOW
        )


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"issued_at": NOW + 3600, "finished_at": NOW + 3600}, "issued in the future"),
        (
            {
                "started_at": NOW - 9 * 86400,
                "finished_at": NOW - 8 * 86400,
                "issued_at": NOW - 8 * 86400,
            },
            "older than",
        ),
        ({"started_at": NOW, "finished_at": NOW - 10}, "does not hold"),
    ],
)
def test_timestamps_out_of_order_or_window_are_refused(
    enclave: Enclave, trust: TrustPolicy, changes: dict[str, int], why: str
) -> None:
    original = with_timestamps(evidence(issued_at=NOW), **changes)
    with pytest.raises(StaleEvidence, match=rf"^timestamps: .*{why}"):
        verify_attestation(signed(enclave, original), trust, NOW)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("evidence", "job"), "0x1234", "evidence.job"),
        (("evidence", "job"), "0x" + "AB" * 32, "evidence.job"),
        (("evidence", "platform", "debug"), "false", "evidence.platform.debug"),
        (("evidence", "dp", "steps"), 0, "evidence.dp.steps"),
        (("evidence", "unsigned_extra"), 1, "evidence.unsigned_extra"),
        (("signature",), "not base64", "signature"),
    ],
)
def test_malformed_attestations_fail_validation_naming_the_field(
    enclave: Enclave, path: tuple[str, ...], value: object, field: str
) -> None:
    document = signed(enclave).model_dump(mode="json")
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError) as caught:
        Attestation.model_validate_json(json.dumps(document))
    assert field in {".".join(map(str, error["loc"])) for error in caught.value.errors()}
