"""PolicyRegistry: the regulator's round policies, each checked whole and immutable once set,
the latest current — and every malformed field refused with nothing registered."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import purpose_id
from chain.connection import Chain
from chain.contract import Contract
from chain.policy import ChainPolicy, PricingWeights, Rates, Rules, rubric_hash_of
from chain.system import System
from tests.contracts.settlement_fixtures import POLICY, RESEARCH, RESEARCH_MAX_EPSILON
from tests.support import event_args, reverts, role

BPS = 10_000
MAX_WEIGHT_BPS = 100 * BPS  # pricing weights may reach 100 times a payment


@pytest.fixture(scope="module")
def registry(system: System) -> Contract:
    """The deployment's registry, no policy set yet (the market fixture is not used here)."""
    return system.policies


def _name(field: str) -> str:
    """A bytes32 error argument holding a short ASCII name, as the decoder renders it."""
    return "0x" + field.encode().ljust(32, b"\0").hex()


def _with_rules(**fields: Any) -> ChainPolicy:
    return replace(POLICY, rules=replace(POLICY.rules, **fields))


def _with_rates(**fields: Any) -> ChainPolicy:
    return _with_rules(rates=replace(POLICY.rules.rates, **fields))


def _with_pricing(**fields: Any) -> ChainPolicy:
    return replace(POLICY, pricing=replace(POLICY.pricing, **fields))


def _assert_none_registered(chain: Chain, registry: Contract) -> None:
    with reverts("NoPolicy"):
        registry.functions.currentPolicyId().call()
    # Id 0 is never assigned: the first id reads as empty as it does.
    assert registry.functions.rulesOf(1).call() == registry.functions.rulesOf(0).call()


# ---- registering ----


def test_current_policy_reverts_no_policy_before_the_first_is_set(
    chain: Chain, registry: Contract
) -> None:
    _assert_none_registered(chain, registry)


def test_the_regulator_sets_a_policy_that_becomes_current_under_the_next_id(
    chain: Chain, registry: Contract, governance: LocalAccount
) -> None:
    receipt = chain.send(registry.functions.setPolicy(POLICY.as_args()), governance)
    (first,) = event_args(registry, receipt, "PolicySet")
    assert first["policyId"] == 1
    assert ChainPolicy.from_event(first["policy"]) == POLICY
    assert registry.functions.currentPolicyId().call() == 1
    stricter = _with_rates(forfeit_bps=BPS)
    receipt = chain.send(registry.functions.setPolicy(stricter.as_args()), governance)
    (second,) = event_args(registry, receipt, "PolicySet")
    assert (second["policyId"], ChainPolicy.from_event(second["policy"])) == (2, stricter)
    assert registry.functions.currentPolicyId().call() == 2


def test_each_policy_keeps_the_rubric_it_was_registered_with(
    chain: Chain, registry: Contract, governance: LocalAccount
) -> None:
    revised = replace(POLICY, rubric_hash=b"\x01" * 32)
    for policy in (POLICY, revised):
        chain.send(registry.functions.setPolicy(policy.as_args()), governance)
    assert [rubric_hash_of(registry, policy_id) for policy_id in (1, 2, 3)] == [
        POLICY.rubric_hash, revised.rubric_hash, bytes(32)]


def test_set_policy_returns_the_new_id(
    chain: Chain, registry: Contract, governance: LocalAccount
) -> None:
    set_policy = registry.functions.setPolicy(POLICY.as_args())
    assert set_policy.call(governance.address) == 1
    chain.send(set_policy, governance)
    assert set_policy.call(governance.address) == 2


def test_only_the_regulator_sets_policies(
    chain: Chain,
    registry: Contract,
    outsider: LocalAccount,
    regulator: LocalAccount,
) -> None:
    # The vault's regulator is not the registry's: each contract grants its own roles.
    for caller in (outsider, regulator):
        with reverts(
            "AccessControlUnauthorizedAccount", caller.address, role(registry, "REGULATOR_ROLE")
        ):
            chain.send(registry.functions.setPolicy(POLICY.as_args()), caller)
    _assert_none_registered(chain, registry)


def test_a_policy_once_set_never_changes(
    chain: Chain, registry: Contract, governance: LocalAccount
) -> None:
    chain.send(registry.functions.setPolicy(POLICY.as_args()), governance)
    other = replace(
        _with_rules(equity_class_count=8, equity_class_mask=0xFF), epsilon_limits=(("research", 1),)
    )
    chain.send(registry.functions.setPolicy(other.as_args()), governance)
    assert Rules.read(registry, 1) == POLICY.rules
    assert registry.functions.epsilonLimitOf(1, RESEARCH).call() == RESEARCH_MAX_EPSILON
    assert Rules.read(registry, 2) == other.rules
    assert registry.functions.epsilonLimitOf(2, RESEARCH).call() == 1


# ---- reading ----


def test_rules_and_epsilon_limits_read_back_as_registered(
    chain: Chain, registry: Contract, governance: LocalAccount
) -> None:
    limits = (("research", RESEARCH_MAX_EPSILON), ("training", 250_000), ("audit", 0))
    policy = replace(POLICY, epsilon_limits=limits)
    chain.send(registry.functions.setPolicy(policy.as_args()), governance)
    assert Rules.read(registry, 1) == policy.rules
    for purpose, limit in limits:
        assert registry.functions.epsilonLimitOf(1, purpose_id(purpose)).call() == limit
    # A purpose the policy does not list may use no private data.
    assert registry.functions.epsilonLimitOf(1, purpose_id("marketing")).call() == 0


def test_an_unknown_policy_id_reads_as_empty_rules(
    chain: Chain, registry: Contract, governance: LocalAccount
) -> None:
    chain.send(registry.functions.setPolicy(POLICY.as_args()), governance)
    empty = Rules((0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), 0, 0, 0, 0, Rates(*[0] * 14))
    assert Rules.read(registry, 2) == empty
    assert registry.functions.epsilonLimitOf(2, RESEARCH).call() == 0


# ---- validation ----


INVALID = [
    ("bandMinBps", _with_rules(band_min_bps=(0, 3_000, 6_000))),
    ("bandMinBps", _with_rules(band_min_bps=(3_000, 3_000, 6_000))),
    ("bandMinBps", _with_rules(band_min_bps=(1_000, 6_000, 6_000))),
    ("bandMinBps", _with_rules(band_min_bps=(1_000, 6_000, 3_000))),
    ("bandMinBps", _with_rules(band_min_bps=(1_000, 3_000, BPS + 1))),
    ("bandTierMasks", _with_rules(band_tier_masks=(0b1000, 0b110, 0b100))),
    ("bandTierMasks", _with_rules(band_tier_masks=(0b111, 0b110, 0b1100))),
    ("equityClasses", _with_rules(equity_class_count=0, equity_class_mask=0)),
    ("equityClasses", _with_rules(equity_class_count=9, equity_class_mask=0)),
    ("equityClasses", _with_rules(equity_class_count=3, equity_class_mask=0b1000)),
    ("equityReservationBps", _with_rules(equity_reservation_bps=BPS + 1)),
    (
        "auctioneerSlashWei",
        _with_rates(auctioneer_slash_wei=POLICY.rules.rates.auctioneer_bond_wei + 1),
    ),
    ("forfeitBps", _with_rates(forfeit_bps=BPS + 1)),
    ("minImprovementBps", _with_rates(min_improvement_bps=BPS + 1)),
    ("maxItemsPerProvider", _with_rates(max_items_per_provider=0)),
    ("answerWindowSeconds", _with_rates(answer_window_seconds=0)),
    (
        "answerWindowSeconds",
        _with_rates(max_extension_seconds=POLICY.rules.rates.answer_window_seconds - 1),
    ),
    ("pricingWindowSeconds", _with_rates(pricing_window_seconds=0)),
    ("verdictWindowSeconds", _with_rates(verdict_window_seconds=0)),
    # A unit offered must hold a future's whole slash, or a fault could find too little.
    (
        "providerSlashWei",
        _with_rates(provider_slash_wei=POLICY.rules.rates.provider_bond_per_unit_wei + 1),
    ),
    ("pricing", _with_pricing(safety_bps=(500, 0, 1_500))),
    ("pricing", _with_pricing(safety_bps=(0, 1_500, 500))),
    ("pricing", _with_pricing(safety_bps=(0, 0, MAX_WEIGHT_BPS + 1))),
    ("pricing", _with_pricing(privacy_bps=MAX_WEIGHT_BPS + 1)),
    ("pricing", _with_pricing(equity_discount_bps=MAX_WEIGHT_BPS + 1)),
    # No client could score a bid without the rubric.
    ("rubricHash", replace(POLICY, rubric_hash=bytes(32))),
]


@pytest.mark.parametrize(
    "field, policy",
    INVALID,
    ids=[f"{field}-{n}" for n, (field, _) in enumerate(INVALID)],
)
def test_a_malformed_policy_is_refused_naming_its_field(
    chain: Chain, registry: Contract, governance: LocalAccount, field: str, policy: ChainPolicy
) -> None:
    with reverts("InvalidPolicy", _name(field)):
        chain.send(registry.functions.setPolicy(policy.as_args()), governance)
    _assert_none_registered(chain, registry)


EDGES = [
    _with_rules(band_min_bps=(1, 2, BPS)),
    _with_rules(band_tier_masks=(0b111, 0b111, 0b111)),
    _with_rules(equity_class_count=8, equity_class_mask=0xFF),
    _with_rules(equity_class_count=1, equity_class_mask=0),
    _with_rules(equity_reservation_bps=BPS),
    _with_rates(auctioneer_slash_wei=POLICY.rules.rates.auctioneer_bond_wei),
    _with_rates(forfeit_bps=BPS, min_improvement_bps=BPS, max_items_per_provider=1),
    _with_rates(answer_window_seconds=1, max_extension_seconds=1, pricing_window_seconds=1,
                verdict_window_seconds=1),
    _with_rates(provider_slash_wei=POLICY.rules.rates.provider_bond_per_unit_wei),
    replace(POLICY, pricing=PricingWeights(MAX_WEIGHT_BPS, (MAX_WEIGHT_BPS,) * 3, MAX_WEIGHT_BPS)),
    replace(POLICY, epsilon_limits=()),
]


@pytest.mark.parametrize("policy", EDGES, ids=[f"edge-{n}" for n in range(len(EDGES))])
def test_a_policy_at_the_edge_of_every_rule_is_accepted(
    chain: Chain, registry: Contract, governance: LocalAccount, policy: ChainPolicy
) -> None:
    receipt = chain.send(registry.functions.setPolicy(policy.as_args()), governance)
    (registered,) = event_args(registry, receipt, "PolicySet")
    assert ChainPolicy.from_event(registered["policy"]) == policy
    assert Rules.read(registry, 1) == policy.rules
