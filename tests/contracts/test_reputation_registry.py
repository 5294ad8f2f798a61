"""ReputationRegistry: audits move scores within bounds; the discount is bounded and monotone."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from chain.connection import Chain
from chain.deploy import Parameters
from chain.system import System
from tests.support import event_args, reverts, role

DEFAULTS = Parameters()


def _audit(chain: Chain, system: System, oracle: LocalAccount, who: str, passed: bool) -> int:
    receipt = chain.send(system.reputation.functions.recordAudit(who, passed), oracle)
    (event,) = event_args(system.reputation, receipt, "AuditRecorded")
    assert event["account"] == who and event["passed"] is passed
    return int(event["score"])


def test_passed_audits_raise_the_score_up_to_the_cap(
    chain: Chain, system: System, oracle: LocalAccount, buyer: LocalAccount
) -> None:
    scores = [_audit(chain, system, oracle, buyer.address, True) for _ in range(12)]
    assert scores[:3] == [100, 200, 300]
    assert scores[-1] == DEFAULTS.max_score
    assert system.reputation.functions.scoreOf(buyer.address).call() == DEFAULTS.max_score


def test_failed_audit_lowers_the_score_and_floors_at_zero(
    chain: Chain, system: System, oracle: LocalAccount, buyer: LocalAccount
) -> None:
    for _ in range(3):
        _audit(chain, system, oracle, buyer.address, True)
    assert _audit(chain, system, oracle, buyer.address, False) == 100
    assert _audit(chain, system, oracle, buyer.address, False) == 0


def test_discount_is_zero_then_monotone_and_below_the_maximum(
    chain: Chain, system: System, oracle: LocalAccount, buyer: LocalAccount
) -> None:
    discounts = [system.reputation.functions.discountBpsOf(buyer.address).call()]
    for _ in range(10):
        _audit(chain, system, oracle, buyer.address, True)
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
            chain.send(system.reputation.functions.recordAudit(caller.address, True), caller)


def test_regulator_sets_parameters(
    chain: Chain,
    system: System,
    regulator: LocalAccount,
    oracle: LocalAccount,
    buyer: LocalAccount,
) -> None:
    new = (50, 10, 500, 9_000, 100)
    receipt = chain.send(system.reputation.functions.setParameters(new), regulator)
    assert (
        tuple(event_args(system.reputation, receipt, "ParametersSet")[0]["parameters"].values())
        == new
    )
    assert tuple(system.reputation.functions.parameters().call()) == new
    assert _audit(chain, system, oracle, buyer.address, True) == 50


def test_set_parameters_rejects_outsiders_and_invalid_values(
    chain: Chain, system: System, regulator: LocalAccount, outsider: LocalAccount
) -> None:
    with reverts(
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role(system.reputation, "REGULATOR_ROLE"),
    ):
        chain.send(system.reputation.functions.setParameters((1, 1, 10, 1, 1)), outsider)
    for invalid in (
        (1, 1, 10, 10_000, 1),  # a full discount would let stake vanish
        (1, 1, 10, 5_000, 0),  # no half-discount score: the curve is undefined at 0
        (11, 1, 10, 5_000, 1),  # one audit would overshoot the cap
    ):
        with reverts("InvalidParameters"):
            chain.send(system.reputation.functions.setParameters(invalid), regulator)
