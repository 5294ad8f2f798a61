"""PolicyOracle: k-of-n verdicts, and k-of-n checks of other contracts' reports (a round's
prices), attacked as an adversary would (state unchanged each time)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount

from chain.connection import Chain
from chain.contract import Contract
from chain.eip712 import DOMAIN_TYPE, Domain
from chain.policy_oracle import register, signature_args, submit, verdict_args
from chain.prices import PRICE_TYPES, PriceReport, recover_report_signer, sign_report
from chain.system import System
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from tests.support import event_args, reverts, role

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
JOB = b"\x0a" * 32


@pytest.fixture
def consumer(chain: Chain, system: System, governance: LocalAccount) -> Contract:
    deployed = chain.deploy("RecordingVerdictConsumer", governance, system.oracle.address)
    grant = system.oracle.functions.grantRole(
        role(system.oracle, "CONSUMER_ROLE"), deployed.address
    )
    chain.send(grant, governance)
    chain.send(deployed.functions.open(JOB), governance)
    return deployed


def _configure(
    system: System, governance: LocalAccount, nodes: list[LocalAccount], k: int
) -> bytes:
    return register(system, governance, [n.address for n in nodes], k)


def _verdict(digest: bytes, compliant: bool = True, job: bytes = JOB) -> Verdict:
    fault = Fault.NONE if compliant else Fault.BUYER
    failed = [] if compliant else ["regulator.epsilon_claim"]
    return Verdict(job, compliant, fault, clauses_hash(failed), digest)


def _sign(
    system: System,
    nodes: list[LocalAccount],
    verdict: Verdict,
    chain_id: int | None = None,
    contract: str | None = None,
) -> list[tuple[str, bytes]]:
    domain = verdict_domain(chain_id or system.chain.chain_id, contract or system.oracle.address)
    return [(n.address, sign_verdict(n, domain, verdict)) for n in nodes]


def _raw_submit(
    chain: Chain,
    system: System,
    sender: LocalAccount,
    verdict: Verdict,
    signatures: list[tuple[bytes, bytes, int]],
) -> None:
    """Submits signatures exactly as given (no sorting), as an attacker could."""
    chain.send(system.oracle.functions.submitVerdict(verdict_args(verdict), signatures), sender)


def _undecided(system: System, consumer: Contract) -> None:
    assert system.oracle.functions.isDecided(JOB).call() is False
    assert consumer.functions.deliveries().call() == 0


# ---- configuration ----


def test_config_digest_binds_chain_contract_version_set_and_k(
    chain: Chain, system: System, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    nodes = oracle_nodes[:4]
    receipt = chain.send(
        system.oracle.functions.setConfig([n.address for n in nodes], 3), governance
    )
    (event,) = event_args(system.oracle, receipt, "ConfigSet")
    expected = chain.w3.keccak(
        encode(
            ["uint256", "address", "uint64", "address[]", "uint8"],
            [chain.chain_id, system.oracle.address, 1, [n.address for n in nodes], 3],
        )
    )
    assert event["configDigest"] == expected == system.oracle.functions.configDigest().call()
    assert system.oracle.functions.signers().call() == [n.address for n in nodes]
    assert system.oracle.functions.threshold().call() == 3


@pytest.mark.parametrize("n, k", [(4, 2), (4, 5), (4, 0), (7, 3), (1, 0)])
def test_config_rejects_thresholds_that_allow_two_quorums_or_none(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    oracle_nodes: list[LocalAccount],
    n: int,
    k: int,
) -> None:
    with reverts("InvalidThreshold", k, n):
        _configure(system, governance, oracle_nodes[:n], k)


def test_config_rejects_duplicate_unsorted_zero_and_too_many_signers(
    chain: Chain, system: System, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    a, b = oracle_nodes[0].address, oracle_nodes[1].address
    with reverts("SignersNotSorted", 2):
        chain.send(system.oracle.functions.setConfig([a, b, b], 2), governance)
    with reverts("SignersNotSorted", 1):
        chain.send(
            system.oracle.functions.setConfig([b, a, oracle_nodes[2].address], 2), governance
        )
    zero = "0x" + "00" * 20
    with reverts("InvalidSigner", zero):
        chain.send(system.oracle.functions.setConfig([zero, a, b], 2), governance)
    many = [chain.w3.to_checksum_address(f"0x{i:040x}") for i in range(1, 34)]
    with reverts("TooManySigners", 33, 32):
        chain.send(system.oracle.functions.setConfig(many, 20), governance)


def test_a_non_governance_caller_cannot_change_the_set(
    chain: Chain, system: System, outsider: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    with reverts(
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role(system.oracle, "ORACLE_ADMIN_ROLE"),
    ):
        chain.send(system.oracle.functions.setConfig([outsider.address], 1), outsider)
    assert system.oracle.functions.configVersion().call() == 0


# ---- verdicts ----


def test_k_distinct_signers_deliver_the_verdict_once(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    verdict = _verdict(digest, compliant=False)
    receipt = submit(system, outsider, verdict, _sign(system, oracle_nodes[1:4], verdict))
    (event,) = event_args(system.oracle, receipt, "VerdictAccepted")
    assert event["signerBitmap"] == 0b1110
    assert (event["compliant"], event["fault"]) == (False, int(Fault.BUYER))
    assert consumer.functions.deliveries().call() == 1
    assert consumer.functions.lastFault().call() == int(Fault.BUYER)
    with reverts("VerdictAlreadyRecorded", "0x" + JOB.hex()):
        submit(system, outsider, verdict, _sign(system, oracle_nodes[:4], verdict))
    assert consumer.functions.deliveries().call() == 1


def test_byzantine_minority_can_neither_make_nor_block_a_quorum(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    """n = 3f + 1 = 7 with f = 2 and k = 5: two liars sign the opposite verdict."""
    honest, byzantine = oracle_nodes[:5], oracle_nodes[5:7]
    digest = _configure(system, governance, oracle_nodes, 5)
    truth, lie = _verdict(digest, compliant=True), _verdict(digest, compliant=False)
    lies = _sign(system, byzantine, lie)
    with reverts("BelowThreshold", 2, 5):
        submit(system, outsider, lie, lies)
    # Padding the lie with honest signatures of the truth recovers to strangers.
    padded = lies + _sign(system, honest[:3], truth)
    with reverts("UnknownSigner"):
        submit(system, outsider, lie, padded)
    _undecided(system, consumer)
    # The liars' silence cannot block the honest quorum.
    submit(system, outsider, truth, _sign(system, honest, truth))
    assert consumer.functions.lastCompliant().call() is True


def test_duplicate_signer_is_rejected(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    verdict = _verdict(digest)
    two = signature_args(_sign(system, oracle_nodes[:2], verdict))
    with reverts("SignersNotAscending", 2):
        _raw_submit(chain, system, outsider, verdict, [*two, two[1]])
    with reverts("SignersNotAscending", 1):
        _raw_submit(chain, system, outsider, verdict, [two[1], two[0], two[1]])
    _undecided(system, consumer)


def test_signer_outside_the_set_is_rejected(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    verdict = _verdict(digest)
    signatures = _sign(system, [*oracle_nodes[:2], outsider], verdict)
    ordered = signature_args(signatures)
    stranger_index = sorted(int(a, 16) for a, _ in signatures).index(int(outsider.address, 16))
    with reverts("UnknownSigner", stranger_index, outsider.address):
        _raw_submit(chain, system, outsider, verdict, ordered)
    _undecided(system, consumer)


def test_below_threshold_is_rejected(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    verdict = _verdict(digest)
    with reverts("BelowThreshold", 2, 3):
        submit(system, outsider, verdict, _sign(system, oracle_nodes[:2], verdict))
    _undecided(system, consumer)


def test_signatures_from_an_old_configuration_are_void(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    old = _configure(system, governance, oracle_nodes[:4], 3)
    stale = _verdict(old)
    signatures = _sign(system, oracle_nodes[:4], stale)
    new = _configure(system, governance, oracle_nodes[:4], 3)  # same set, new version
    assert new != old
    with reverts("StaleConfig", "0x" + old.hex(), "0x" + new.hex()):
        submit(system, outsider, stale, signatures)
    # Relabelling the old signatures with the new digest recovers to strangers.
    with reverts("UnknownSigner"):
        submit(system, outsider, replace(stale, config_digest=new), signatures)
    _undecided(system, consumer)


def test_verdict_replayed_from_another_chain_or_contract_is_rejected(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    verdict = _verdict(digest)
    other_chain = _sign(system, oracle_nodes[:3], verdict, chain_id=1)
    other_contract = _sign(system, oracle_nodes[:3], verdict, contract=consumer.address)
    for signatures in (other_chain, other_contract):
        with reverts("UnknownSigner"):
            submit(system, outsider, verdict, signatures)
    _undecided(system, consumer)


def test_high_s_signature_is_rejected(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    verdict = _verdict(digest)
    ordered = signature_args(_sign(system, oracle_nodes[:3], verdict))
    r, s, v = ordered[1]
    flipped_s = (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big")
    ordered[1] = (r, flipped_s, 55 - v)  # the same point, the other s: valid for raw ecrecover
    with reverts("MalleableSignature", 1):
        _raw_submit(chain, system, outsider, verdict, ordered)
    _undecided(system, consumer)


def test_unknown_job_inconsistent_verdict_and_unconfigured_oracle(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    with reverts("NotConfigured"):
        submit(system, outsider, _verdict(bytes(32)), [])
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    unknown = _verdict(digest, job=b"\x0b" * 32)
    with reverts("UnknownJob", "0x" + "0b" * 32):
        submit(system, outsider, unknown, _sign(system, oracle_nodes[:3], unknown))
    # A compliant verdict that blames someone is refused before any signature is checked.
    call = system.oracle.functions.submitVerdict((JOB, True, 1, bytes(32), digest), [])
    with reverts("InconsistentVerdict", True, 1):
        chain.send(call, outsider)
    _undecided(system, consumer)


def test_reentrancy_through_the_consumer_callback_is_rejected(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    consumer: Contract,
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    verdict = _verdict(digest)
    signatures = signature_args(_sign(system, oracle_nodes[:3], verdict))
    chain.send(consumer.functions.primeReentry(verdict_args(verdict), signatures), outsider)
    with reverts("ReentrancyGuardReentrantCall"):
        _raw_submit(chain, system, outsider, verdict, signatures)
    _undecided(system, consumer)


def test_only_consumers_open_jobs_and_only_once(
    chain: Chain, system: System, outsider: LocalAccount, consumer: Contract
) -> None:
    with reverts(
        "AccessControlUnauthorizedAccount", outsider.address, role(system.oracle, "CONSUMER_ROLE")
    ):
        chain.send(system.oracle.functions.openJob(b"\x01" * 32), outsider)
    with reverts("JobAlreadyOpen", "0x" + JOB.hex()):
        chain.send(consumer.functions.open(JOB), outsider)
    assert system.oracle.functions.consumerOf(JOB).call() == consumer.address


# ---- quorums on other contracts' reports ----


def _report(config_digest: bytes, clearing_house: str) -> PriceReport:
    return PriceReport(clearing_house, 7, 1, (10**6, 2 * 10**6), (5, 6, 7), config_digest)


def _oracle_domain(system: System) -> Domain:
    return verdict_domain(system.chain.chain_id, system.oracle.address)


def _struct_hash(report: PriceReport) -> bytes:
    """hashStruct(report): the body of its EIP-712 signable message, whatever the domain."""
    from eth_account.messages import encode_typed_data

    unbound = Domain("", "", 0, "0x" + "00" * 20)
    signable = encode_typed_data(
        full_message={
            "types": {"EIP712Domain": DOMAIN_TYPE, **PRICE_TYPES},
            "primaryType": "PriceReport",
            "domain": unbound.as_dict(),
            "message": report.message(),
        }
    )
    return bytes(signable.body)


def _report_signatures(
    nodes: list[LocalAccount], domain: Domain, report: PriceReport
) -> list[tuple[bytes, bytes, int]]:
    return signature_args([(n.address, sign_report(n, domain, report)) for n in nodes])


def _verify(chain: Chain, system: System, report: PriceReport, signatures: list[Any]) -> int:
    return int(system.oracle.functions.verifyQuorum(_struct_hash(report), signatures).call())


def test_verify_quorum_returns_the_signer_bitmap_of_a_k_of_n_report(
    chain: Chain, system: System, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    report = _report(digest, system.clearing_house.address)
    domain = _oracle_domain(system)
    assert (
        _verify(chain, system, report, _report_signatures(oracle_nodes[1:4], domain, report))
        == 0b1110
    )
    assert (
        _verify(chain, system, report, _report_signatures(oracle_nodes[:4], domain, report))
        == 0b1111
    )


def test_verify_quorum_refuses_fewer_than_k_signatures(
    chain: Chain, system: System, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    report = _report(digest, system.clearing_house.address)
    signatures = _report_signatures(oracle_nodes[:2], _oracle_domain(system), report)
    with reverts("BelowThreshold", 2, 3):
        _verify(chain, system, report, signatures)


def test_verify_quorum_refuses_a_signer_outside_the_set(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    report = _report(digest, system.clearing_house.address)
    signers = [*oracle_nodes[:2], outsider]
    signatures = _report_signatures(signers, _oracle_domain(system), report)
    stranger_index = sorted(int(n.address, 16) for n in signers).index(int(outsider.address, 16))
    with reverts("UnknownSigner", stranger_index, outsider.address):
        _verify(chain, system, report, signatures)


def test_verify_quorum_refuses_unsorted_or_repeated_signers(
    chain: Chain, system: System, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    report = _report(digest, system.clearing_house.address)
    ordered = _report_signatures(oracle_nodes[:3], _oracle_domain(system), report)
    with reverts("SignersNotAscending", 1):
        _verify(chain, system, report, [ordered[1], ordered[0], ordered[2]])
    with reverts("SignersNotAscending", 2):
        _verify(chain, system, report, [ordered[0], ordered[1], ordered[1]])


def test_verify_quorum_refuses_a_high_s_signature(
    chain: Chain, system: System, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    report = _report(digest, system.clearing_house.address)
    ordered = _report_signatures(oracle_nodes[:3], _oracle_domain(system), report)
    r, s, v = ordered[1]
    ordered[1] = (r, (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big"), 55 - v)
    with reverts("MalleableSignature", 1):
        _verify(chain, system, report, ordered)


def test_a_report_signed_under_a_stale_config_digest_does_not_verify_as_a_current_one(
    chain: Chain, system: System, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    old = _configure(system, governance, oracle_nodes[:4], 3)
    stale = _report(old, system.clearing_house.address)
    domain = _oracle_domain(system)
    signatures = _report_signatures(oracle_nodes[:3], domain, stale)
    new = _configure(system, governance, oracle_nodes[:4], 3)  # same set, new version
    current = replace(stale, config_digest=new)
    # The report a consumer rebuilds binds the current digest: the old signatures recover to
    # strangers.
    first = sorted(oracle_nodes[:3], key=lambda n: int(n.address, 16))[0]
    recovered = recover_report_signer(sign_report(first, domain, stale), domain, current)
    with reverts("UnknownSigner", 0, recovered):
        _verify(chain, system, current, signatures)


def test_a_retired_oracle_set_cannot_sign_a_current_report(
    chain: Chain, system: System, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    _configure(system, governance, oracle_nodes[:3], 2)
    new = _configure(system, governance, oracle_nodes[3:6], 2)
    report = _report(new, system.clearing_house.address)
    retired = sorted(oracle_nodes[:2], key=lambda n: int(n.address, 16))
    with reverts("UnknownSigner", 0, retired[0].address):
        _verify(chain, system, report, _report_signatures(retired, _oracle_domain(system), report))


@pytest.mark.parametrize("where", ["chain", "contract"])
def test_a_report_signed_under_another_domain_does_not_verify(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    oracle_nodes: list[LocalAccount],
    where: str,
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    report = _report(digest, system.clearing_house.address)
    other = (
        verdict_domain(1, system.oracle.address)
        if where == "chain"
        else verdict_domain(chain.chain_id, system.clearing_house.address)
    )
    signatures = _report_signatures(oracle_nodes[:3], other, report)
    first = sorted(oracle_nodes[:3], key=lambda n: int(n.address, 16))[0]
    recovered = recover_report_signer(
        sign_report(first, other, report), _oracle_domain(system), report
    )
    with reverts("UnknownSigner", 0, recovered):
        _verify(chain, system, report, signatures)


def test_a_verdict_signature_does_not_verify_as_a_price_report(
    chain: Chain, system: System, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> None:
    digest = _configure(system, governance, oracle_nodes[:4], 3)
    report = _report(digest, system.clearing_house.address)
    verdict = _verdict(digest)
    verdict_signatures = signature_args(_sign(system, oracle_nodes[:3], verdict))
    first = sorted(oracle_nodes[:3], key=lambda n: int(n.address, 16))[0]
    domain = _oracle_domain(system)
    recovered = recover_report_signer(sign_verdict(first, domain, verdict), domain, report)
    with reverts("UnknownSigner", 0, recovered):
        _verify(chain, system, report, verdict_signatures)


def test_verify_quorum_refuses_before_any_set_is_configured(chain: Chain, system: System) -> None:
    with reverts("NotConfigured"):
        _verify(chain, system, _report(bytes(32), system.clearing_house.address), [])
