"""ReputationRegistry: audits move scores by their worth within bounds and per-counterparty
caps; the discount is bounded and monotone."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from chain.connection import Chain
from chain.deploy import Parameters
from chain.system import System
from tests.support import event_args, reverts, role

DEFAULTS = Parameters()
USD = 10**6
CAP = DEFAULTS.counterparty_cap_micro_usd


def _audit(chain: Chain, system: System, oracle: LocalAccount, who: str, counterparty: str,
           passed: bool, worth: int) -> int:
    call = system.reputation.functions.recordAudit(who, counterparty, passed, worth)
    (event,) = event_args(system.reputation, chain.send(call, oracle), "AuditRecorded")
    assert (event["account"], event["counterparty"], event["passed"], event["worthMicroUsd"]) == (
        who, counterparty, passed, worth)
    return int(event["score"])


def _score(system: System, who: str) -> int:
    return int(system.reputation.functions.scoreOf(who).call())


def test_a_passed_audit_adds_its_worth_and_a_trivial_job_earns_next_to_nothing(
    chain: Chain, system: System, oracle: LocalAccount, buyer: LocalAccount,
    provider: LocalAccount
) -> None:
    assert _audit(chain, system, oracle, buyer.address, provider.address, True, 1) == 1
    assert _audit(chain, system, oracle, buyer.address, provider.address, True, 400 * USD) == (
        400 * USD + 1)
    assert system.reputation.functions.discountBpsOf(buyer.address).call() == (
        DEFAULTS.max_discount_bps * (400 * USD + 1) // (400 * USD + 1
                                                         + DEFAULTS.half_discount_micro_usd))


def test_one_counterparty_adds_at_most_its_cap_so_one_owner_cannot_farm_the_discount(
    chain: Chain, system: System, oracle: LocalAccount, buyer: LocalAccount,
    provider: LocalAccount, outsider: LocalAccount
) -> None:
    """A buyer and a provider run by one owner: however many jobs they judge compliant between
    themselves, the buyer's score stops at the cap; a second counterparty adds its own."""
    for _ in range(3):
        _audit(chain, system, oracle, buyer.address, provider.address, True, CAP // 2 + 1)
    assert _score(system, buyer.address) == CAP
    assert system.reputation.functions.earnedFrom(buyer.address, provider.address).call() == CAP
    assert _audit(chain, system, oracle, buyer.address, outsider.address, True, USD) == CAP + USD
    discount = system.reputation.functions.discountBpsOf(buyer.address).call()
    assert discount < DEFAULTS.max_discount_bps // 2  # the cap is below the half-discount score


def test_scores_stop_at_the_maximum(
    chain: Chain, system: System, oracle: LocalAccount, buyer: LocalAccount
) -> None:
    counterparties = [chain.dev_account(20 + i).address for i in range(11)]
    for counterparty in counterparties:
        _audit(chain, system, oracle, buyer.address, counterparty, True, CAP)
    assert _score(system, buyer.address) == DEFAULTS.max_score_micro_usd


def test_a_failed_audit_removes_a_multiple_of_its_worth_and_floors_at_zero(
    chain: Chain, system: System, oracle: LocalAccount, buyer: LocalAccount,
    provider: LocalAccount
) -> None:
    _audit(chain, system, oracle, buyer.address, provider.address, True, 1_000 * USD)
    assert _audit(chain, system, oracle, buyer.address, provider.address, False, 100 * USD) == (
        1_000 * USD - DEFAULTS.fail_multiple * 100 * USD)
    assert _audit(chain, system, oracle, buyer.address, provider.address, False, 1_000 * USD) == 0


def test_discount_is_zero_then_monotone_and_below_the_maximum(
    chain: Chain, system: System, oracle: LocalAccount, buyer: LocalAccount
) -> None:
    discounts = [system.reputation.functions.discountBpsOf(buyer.address).call()]
    step = DEFAULTS.half_discount_micro_usd // 2
    for i in range(10):
        _audit(chain, system, oracle, buyer.address, chain.dev_account(20 + i).address, True, step)
        discounts.append(system.reputation.functions.discountBpsOf(buyer.address).call())
    assert discounts[0] == 0
    assert discounts == sorted(discounts)
    assert max(discounts) < DEFAULTS.max_discount_bps
    # At the half-discount score the discount is exactly half of the maximum.
    assert discounts[2] == DEFAULTS.max_discount_bps // 2


def test_only_the_auditor_records_audits(
    chain: Chain, system: System, governance: LocalAccount, outsider: LocalAccount
) -> None:
    for caller in (governance, outsider):
        with reverts(
            "AccessControlUnauthorizedAccount",
            caller.address,
            role(system.reputation, "AUDITOR_ROLE"),
        ):
            chain.send(system.reputation.functions.recordAudit(
                caller.address, outsider.address, True, USD), caller)
    assert _score(system, outsider.address) == 0


def test_regulator_sets_parameters_and_a_lowered_cap_stops_further_earning(
    chain: Chain,
    system: System,
    regulator: LocalAccount,
    oracle: LocalAccount,
    buyer: LocalAccount,
    provider: LocalAccount,
) -> None:
    _audit(chain, system, oracle, buyer.address, provider.address, True, 50 * USD)
    new = (2, 500 * USD, 40 * USD, 9_000, 100 * USD)
    receipt = chain.send(system.reputation.functions.setParameters(new), regulator)
    assert (
        tuple(event_args(system.reputation, receipt, "ParametersSet")[0]["parameters"].values())
        == new
    )
    assert tuple(system.reputation.functions.parameters().call()) == new
    # 50 USD already earned from this provider, above the new 40 USD cap: nothing more.
    assert _audit(chain, system, oracle, buyer.address, provider.address, True, USD) == 50 * USD
    assert _audit(chain, system, oracle, buyer.address, provider.address, False, USD) == 48 * USD


def test_set_parameters_rejects_outsiders_and_invalid_values(
    chain: Chain, system: System, regulator: LocalAccount, outsider: LocalAccount
) -> None:
    before = tuple(system.reputation.functions.parameters().call())
    with reverts(
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role(system.reputation, "REGULATOR_ROLE"),
    ):
        chain.send(system.reputation.functions.setParameters((1, 10, 10, 1, 1)), outsider)
    for invalid in (
        (1, 10, 10, 10_000, 1),  # a full discount would let stake vanish
        (1, 10, 10, 5_000, 0),  # no half-discount score: the curve is undefined at 0
        (1, 10, 0, 5_000, 1),  # no counterparty could ever add anything
    ):
        with reverts("InvalidParameters"):
            chain.send(system.reputation.functions.setParameters(invalid), regulator)
    assert tuple(system.reputation.functions.parameters().call()) == before
