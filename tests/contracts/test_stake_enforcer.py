"""StakeEnforcer: a verdict releases or burns the job's stake and moves reputation by fault."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from chain.connection import Chain
from chain.deploy import Parameters
from chain.policy_oracle import register, submit
from chain.system import System
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from tests.support import event_args, reverts, role

CST = 10**18
JOB = b"\x0c" * 32
STAKE = 8 * CST


@pytest.fixture
def opened(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    buyer: LocalAccount,
    provider: LocalAccount,
    oracle: LocalAccount,
    oracle_nodes: list[LocalAccount],
) -> bytes:
    """A configured 3-of-4 oracle, a bonded provider, buyer and provider with a score of 200,
    and a job whose stake is locked; returns the config digest."""
    digest = register(system, governance, [n.address for n in oracle_nodes[:4]], 3)
    chain.send(system.vault.functions.stake(20 * CST), buyer)
    chain.send(system.vault.functions.bond(80 * CST), provider)
    for who in (buyer, provider):
        for _ in range(2):
            chain.send(system.reputation.functions.recordAudit(who.address, True), oracle)
    receipt = chain.send(
        system.enforcer.functions.openJob(JOB, buyer.address, provider.address, STAKE), governance
    )
    assert event_args(system.enforcer, receipt, "JobOpened")[0]["stake"] == STAKE
    assert system.oracle.functions.consumerOf(JOB).call() == system.enforcer.address
    return digest


def _deliver(
    system: System, nodes: list[LocalAccount], digest: bytes, fault: Fault, sender: LocalAccount
) -> dict[str, object]:
    compliant = fault is Fault.NONE
    failed = [] if compliant else ["regulator.epsilon_claim"]
    verdict = Verdict(JOB, compliant, fault, clauses_hash(failed), digest)
    domain = verdict_domain(system.chain.chain_id, system.oracle.address)
    signatures = [(n.address, sign_verdict(n, domain, verdict)) for n in nodes[:3]]
    receipt = submit(system, sender, verdict, signatures)
    return event_args(system.enforcer, receipt, "VerdictEnforced")[0]


def _state(system: System, buyer: LocalAccount, provider: LocalAccount) -> dict[str, int]:
    vault, reputation = system.vault.functions, system.reputation.functions
    b, p = vault.balanceOf(buyer.address).call(), vault.balanceOf(provider.address).call()
    return {
        "buyer_free": b[0],
        "buyer_locked": b[1],
        "provider_bond": p[2],
        "buyer_score": reputation.scoreOf(buyer.address).call(),
        "provider_score": reputation.scoreOf(provider.address).call(),
        "supply": system.cst.functions.totalSupply().call(),
    }


def test_compliant_verdict_releases_the_stake_and_raises_both_reputations(
    system: System,
    buyer: LocalAccount,
    provider: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    opened: bytes,
) -> None:
    before = _state(system, buyer, provider)
    assert before["buyer_locked"] == STAKE
    event = _deliver(system, oracle_nodes, opened, Fault.NONE, outsider)
    after = _state(system, buyer, provider)
    assert event["burned"] == 0
    assert (after["buyer_free"], after["buyer_locked"]) == (20 * CST, 0)
    assert (after["buyer_score"], after["provider_score"]) == (300, 300)
    assert after["supply"] == before["supply"]


def test_buyer_fault_burns_the_stake_and_lowers_the_buyers_reputation(
    system: System,
    buyer: LocalAccount,
    provider: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    opened: bytes,
) -> None:
    before = _state(system, buyer, provider)
    event = _deliver(system, oracle_nodes, opened, Fault.BUYER, outsider)
    after = _state(system, buyer, provider)
    assert event["burned"] == STAKE
    assert after["supply"] == before["supply"] - STAKE
    assert (after["buyer_free"], after["buyer_locked"]) == (12 * CST, 0)
    assert after["provider_bond"] == before["provider_bond"]
    assert (after["buyer_score"], after["provider_score"]) == (0, 300)


def test_provider_fault_slashes_the_providers_bond_not_the_buyer(
    system: System,
    buyer: LocalAccount,
    provider: LocalAccount,
    outsider: LocalAccount,
    oracle_nodes: list[LocalAccount],
    opened: bytes,
) -> None:
    penalty = Parameters().provider_bond_slash_wei
    before = _state(system, buyer, provider)
    event = _deliver(system, oracle_nodes, opened, Fault.PROVIDER, outsider)
    after = _state(system, buyer, provider)
    assert event["burned"] == penalty
    assert after["provider_bond"] == before["provider_bond"] - penalty
    assert (after["buyer_free"], after["buyer_locked"]) == (20 * CST, 0)
    assert (after["buyer_score"], after["provider_score"]) == (300, 0)


def test_a_provider_with_a_small_bond_loses_all_of_it(
    chain: Chain,
    system: System,
    buyer: LocalAccount,
    provider: LocalAccount,
    outsider: LocalAccount,
    oracle: LocalAccount,
    oracle_nodes: list[LocalAccount],
    opened: bytes,
) -> None:
    chain.send(system.vault.functions.unbond(70 * CST), provider)  # still slashable
    chain.send(system.vault.functions.slashBond(provider.address, 65 * CST), oracle)
    event = _deliver(system, oracle_nodes, opened, Fault.PROVIDER, outsider)
    assert event["burned"] == 15 * CST
    assert tuple(system.vault.functions.balanceOf(provider.address).call()[2:4]) == (0, 0)


def test_only_the_policy_oracle_delivers_verdicts(
    chain: Chain, system: System, outsider: LocalAccount, opened: bytes
) -> None:
    with reverts("NotPolicyOracle", outsider.address):
        chain.send(system.enforcer.functions.onVerdict(JOB, False, 1, bytes(32)), outsider)
    assert system.vault.functions.lockOf(JOB).call()[1] == STAKE


def test_open_job_needs_the_clearing_role_a_provider_and_free_stake(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    buyer: LocalAccount,
    provider: LocalAccount,
    outsider: LocalAccount,
    opened: bytes,
) -> None:
    other = b"\x0d" * 32
    with reverts(
        "AccessControlUnauthorizedAccount", outsider.address, role(system.enforcer, "CLEARING_ROLE")
    ):
        chain.send(
            system.enforcer.functions.openJob(other, buyer.address, provider.address, 1), outsider
        )
    zero = "0x" + "00" * 20
    with reverts("InvalidProvider"):
        chain.send(system.enforcer.functions.openJob(other, buyer.address, zero, 1), governance)
    with reverts("InsufficientStake", buyer.address, 12 * CST + 1, 12 * CST):
        chain.send(
            system.enforcer.functions.openJob(other, buyer.address, provider.address, 12 * CST + 1),
            governance,
        )
    with reverts("LockExists", "0x" + JOB.hex()):
        chain.send(
            system.enforcer.functions.openJob(JOB, buyer.address, provider.address, 1), governance
        )
    assert system.oracle.functions.consumerOf(other).call() == zero


def test_regulator_sets_the_provider_penalty(
    chain: Chain, system: System, governance: LocalAccount, outsider: LocalAccount
) -> None:
    receipt = chain.send(system.enforcer.functions.setProviderBondSlash(3), governance)
    assert event_args(system.enforcer, receipt, "ProviderBondSlashSet")[0]["amount"] == 3
    with reverts(
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role(system.enforcer, "REGULATOR_ROLE"),
    ):
        chain.send(system.enforcer.functions.setProviderBondSlash(0), outsider)
