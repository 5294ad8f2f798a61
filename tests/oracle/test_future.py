"""What a redeemed future bought, in the evidence's units: each unit the chain's items may carry
converted by hand, the units no node may guess at refused, and a bundle's capacity, window and
privacy budget read off its chain record."""

from __future__ import annotations

import pytest

from chain.bid import Bid, Bundle, purpose_id
from chain.clearing_house import BidRecord
from chain.futures_terms import BoughtItem, RedeemedFuture
from chain.settlement import KIND_CODES, Ask, Status
from oracle.attestation import ResourceUse
from oracle.errors import FutureUnreadable
from oracle.future import Window, future_terms, unit_amount

HOUR, DAY, WEEK = 3_600, 86_400, 604_800
START = 1_800_000_000
BIDDER = "0x" + "b1" * 20
DATASET, OTHER = 7, 9
STAKED_BPS, DECLARED, RUBRIC = 3_200, b"\xde" * 32, b"\x7b" * 32
REDEEMED_FOR = b"\xa1" * 32  # the job its redeemer declared: another than the bid's
CONTENT, OTHER_CONTENT = b"\xaa" * 32, b"\xbb" * 32


def ask(kind: str, unit: str, slot_seconds: int = WEEK, start: int = START) -> Ask:
    return Ask(KIND_CODES[kind], "euw1", unit, start, slot_seconds, 1, 100, 1)


def redeemed(*items: tuple[Ask, int], dataset: int = DATASET) -> RedeemedFuture:
    bundle = Bundle(tuple(range(len(items))), tuple(q for _, q in items), 1)
    bid = Bid(round_id=1, bidder=BIDDER, max_value_micro_usd=1, dataset_id=dataset,
              epsilon_micros=1_000_000 if dataset else 0, delta_atto=10**12 if dataset else 0,
              risk_bps=STAKED_BPS, declaration_hash=DECLARED, purpose=purpose_id("diagnostics"),
              equity_class=0, nonce=0,
              expiry_timestamp=2**63, bundles=(bundle,))
    record = BidRecord(round_id=1, status=Status.REDEEMED, flags=0, bundle_index=0,
                       risk_bps=STAKED_BPS, provider_item=0, epsilon_micros=bid.epsilon_micros,
                       stake_milli_cst=0, deposit_micro_usd=1, payment_micro_usd=1,
                       bidder=BIDDER, dataset_id=dataset)
    return RedeemedFuture(record, bid, tuple(BoughtItem(a, q) for a, q in items),
                          {DATASET: CONTENT, OTHER: OTHER_CONTENT},
                          {DATASET: frozenset({"health"}), OTHER: frozenset()}, RUBRIC,
                          REDEEMED_FOR)


UNITS = [
    ("gpu", "gpu-week", WEEK, 168.0),  # one GPU through the week: 7 × 24 GPU-hours
    ("gpu", "gpu-hour", HOUR, 1.0),
    ("gpu", "GPU", 2 * HOUR, 2.0),  # no period: one GPU through whatever its slot is
    ("power", "kW-week", WEEK, 168.0),  # one kW for 168 h
    ("power", "MW-day", DAY, 24_000.0),
    ("storage", "TB-week", WEEK, 1_000.0),  # a level: held all week, not per hour
    ("storage", "GB", HOUR, 1.0),
]


@pytest.mark.parametrize(("kind", "unit", "seconds", "amount"), UNITS,
                         ids=[f"{u[1]} on {u[2]} s" for u in UNITS])
def test_a_unit_converts_to_the_evidences_field(
    kind: str, unit: str, seconds: int, amount: float
) -> None:
    assert unit_amount(ask(kind, unit, seconds)) == amount


REFUSED = [
    ("gpu", "gpu-week", HOUR),  # a week's unit on an hour's slot: which one was sold?
    ("gpu", "gpu-fortnight", 2 * WEEK),
    ("gpu", "H100-hour", HOUR),
    ("power", "kWh", HOUR),
    ("storage", "unit", WEEK),
]


@pytest.mark.parametrize(("kind", "unit", "seconds"), REFUSED,
                         ids=[f"{u[1]} on {u[2]} s" for u in REFUSED])
def test_a_unit_with_no_conversion_is_refused_naming_it(kind: str, unit: str, seconds: int
                                                          ) -> None:
    with pytest.raises(FutureUnreadable, match=f"future: unit '{unit}' of a {kind} item"):
        unit_amount(ask(kind, unit, seconds))


def test_a_bundle_adds_up_hours_and_holds_storage_at_its_peak() -> None:
    later = START + WEEK
    terms = future_terms(redeemed(
        (ask("gpu", "gpu-week"), 8),
        (ask("power", "kW-week"), 10),
        (ask("storage", "TB-week"), 2),
        (ask("storage", "TB-week", start=later), 2),
        (ask("storage", "TB-week", start=later), 3),
    ))
    # 8 × 168 GPU-hours, 10 × 168 kWh; 2 TB the first week, 2 + 3 TB the second
    assert terms.bought == ResourceUse(gpu_hours=1_344.0, energy_kwh=1_680.0, storage_gb=5_000.0)
    assert terms.window == Window(START, later + WEEK)


def test_a_resource_the_bundle_did_not_buy_is_zero() -> None:
    terms = future_terms(redeemed((ask("gpu", "gpu-hour", HOUR), 8)))
    assert terms.bought == ResourceUse(gpu_hours=8.0, energy_kwh=0.0, storage_gb=0.0)
    assert terms.window == Window(START, START + HOUR)


def test_the_privacy_budget_and_purpose_come_from_the_record_and_the_bid() -> None:
    terms = future_terms(redeemed((ask("gpu", "gpu-week"), 1)))
    assert terms.dataset == "0x" + CONTENT.hex()
    assert terms.private_datasets == {"0x" + CONTENT.hex(), "0x" + OTHER_CONTENT.hex()}
    assert terms.dataset_categories == {"0x" + CONTENT.hex(): {"health"},
                                        "0x" + OTHER_CONTENT.hex(): frozenset()}
    assert (terms.epsilon, terms.delta) == (1.0, 1e-6)
    assert terms.purpose_id == purpose_id("diagnostics")


def test_the_risk_ceiling_is_the_records_the_job_the_redeemers_the_rubric_the_rounds() -> None:
    terms = future_terms(redeemed((ask("gpu", "gpu-week"), 1)))
    assert (terms.risk_bps, terms.declaration_hash, terms.rubric_hash) == (
        STAKED_BPS, "0x" + REDEEMED_FOR.hex(), RUBRIC)


def test_a_future_on_dataset_zero_bought_no_private_data() -> None:
    terms = future_terms(redeemed((ask("gpu", "gpu-week"), 1), dataset=0))
    assert (terms.dataset, terms.epsilon_micros) == (None, 0)
    assert terms.private_datasets == {"0x" + CONTENT.hex(), "0x" + OTHER_CONTENT.hex()}
    assert terms.dataset_categories == {"0x" + CONTENT.hex(): {"health"},
                                        "0x" + OTHER_CONTENT.hex(): frozenset()}
