"""PrivacyBudgetLedger: datasets, consents, grants and resale, and the clearing role's
reserve / release / consume of ε and δ — never below zero, never above what was registered."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from chain.connection import Chain
from chain.contract import Contract, Receipt
from chain.ledger import (
    CATEGORY_BITS,
    Dataset,
    Offer,
    dataset_id,
    held_micro_epsilon,
    reserved_delta_atto,
    reserved_micro_epsilon,
)
from chain.system import System
from tests.contracts.settlement_fixtures import (
    BUDGET_MICRO_EPSILON,
    CONTENT_HASH,
    MAX_DELTA_ATTO,
    REENTER,
    REENTRANT_CALL,
    RESEARCH,
    TOTAL_DELTA_ATTO,
    USD,
)
from tests.support import event_args, reverts, role

TRAINING = b"\x7a" * 32
ZERO_ADDRESS = "0x" + "00" * 20
PRICE = 3 * USD  # per ε


@pytest.fixture(scope="module")
def ledger(
    chain: Chain,
    system: System,
    governance: LocalAccount,
    clearing: LocalAccount,
    data_owner: LocalAccount,
    buyer: LocalAccount,
) -> Contract:
    """A registered dataset, `clearing` in the clearing role, and a buyer with USD."""
    ledger = system.ledger
    chain.send(
        ledger.functions.grantRole(role(ledger, "CLEARING_ROLE"), clearing.address), governance
    )
    chain.send(
        ledger.functions.register(
            CONTENT_HASH, BUDGET_MICRO_EPSILON, MAX_DELTA_ATTO, TOTAL_DELTA_ATTO, [RESEARCH], 0
        ),
        data_owner,
    )
    chain.send(system.usd.functions.mint(buyer.address, 100 * USD), governance)
    chain.send(system.usd.functions.approve(ledger.address, 2**256 - 1), buyer)
    return ledger


@pytest.fixture(scope="module")
def dataset(data_owner: LocalAccount) -> int:
    return dataset_id(data_owner.address, CONTENT_HASH)


def _grant(
    chain: Chain, ledger: Contract, owner: LocalAccount, to: str, dataset: int, amount: int
) -> Receipt:
    call = ledger.functions.safeTransferFrom(owner.address, to, dataset, amount, b"")
    return chain.send(call, owner)


def _conserved(ledger: Contract, dataset: int, holders: list[str]) -> None:
    state = Dataset.read(ledger, dataset)
    held = sum(held_micro_epsilon(ledger, h, dataset) for h in holders)
    assert (held + reserved_micro_epsilon(ledger, dataset) + state.consumed_micro_epsilon
            == state.total_micro_epsilon)


def test_register_mints_the_whole_budget_to_the_owner_under_an_id_from_the_hash(
    chain: Chain, system: System, data_owner: LocalAccount
) -> None:
    ledger = system.ledger
    receipt = chain.send(
        ledger.functions.register(
            CONTENT_HASH, 5_000_000, MAX_DELTA_ATTO, 3 * MAX_DELTA_ATTO, [RESEARCH, TRAINING],
            CATEGORY_BITS["health"] | CATEGORY_BITS["genomic"]
        ),
        data_owner,
    )
    expected = dataset_id(data_owner.address, CONTENT_HASH)
    assert ledger.functions.datasetIdOf(data_owner.address, CONTENT_HASH).call() == expected
    (registered,) = event_args(ledger, receipt, "DatasetRegistered")
    assert registered == {
        "id": expected,
        "owner": data_owner.address,
        "contentHash": CONTENT_HASH,
        "totalMicroEpsilon": 5_000_000,
        "maxDeltaAtto": MAX_DELTA_ATTO,
        "totalDeltaAtto": 3 * MAX_DELTA_ATTO,
        "categories": 3,
    }
    assert [e["purpose"] for e in event_args(ledger, receipt, "ConsentSet")] == [RESEARCH, TRAINING]
    assert ledger.functions.balanceOf(data_owner.address, expected).call() == 5_000_000
    assert Dataset.read(ledger, expected) == Dataset(
        owner=data_owner.address,
        max_delta_atto=MAX_DELTA_ATTO,
        total_micro_epsilon=5_000_000,
        consumed_micro_epsilon=0,
        total_delta_atto=3 * MAX_DELTA_ATTO,
        consumed_delta_atto=0,
    )
    assert ledger.functions.reservedDeltaOf(expected).call() == 0
    assert ledger.functions.uri(expected).call() == "rcm://budgets/{id}.json"


def test_a_dataset_registers_once_and_with_an_epsilon_budget_a_delta_cap_and_a_delta_budget(
    chain: Chain, ledger: Contract, dataset: int, data_owner: LocalAccount
) -> None:
    register = ledger.functions.register
    with reverts("DatasetExists", dataset):
        chain.send(register(CONTENT_HASH, 1, 1, 1, [], 0), data_owner)
    fresh = b"\x01" * 32
    with reverts("ZeroBudget"):
        chain.send(register(fresh, 0, 1, 1, [], 0), data_owner)
    with reverts("ZeroDeltaCap"):
        chain.send(register(fresh, 1, 0, 1, [], 0), data_owner)
    with reverts("DeltaBudgetBelowCap", MAX_DELTA_ATTO - 1, MAX_DELTA_ATTO):
        chain.send(register(fresh, 1, MAX_DELTA_ATTO, MAX_DELTA_ATTO - 1, [], 0), data_owner)
    # The counters share the slot every commit writes: ε up to 2^40 − 1 micro-ε, 2^24 − 1 jobs.
    with reverts("BudgetTooLarge", 2**40, 2**40 - 1):
        chain.send(register(fresh, 2**40, 1, 1, [], 0), data_owner)
    with reverts("TooManyJobs", 2**24, 2**24 - 1):
        chain.send(register(fresh, 1, 1, 2**24, [], 0), data_owner)
    with reverts("UnknownCategories", 16):  # four categories, one bit each
        chain.send(register(fresh, 1, 1, 1, [], 16), data_owner)
    refused = dataset_id(data_owner.address, fresh)
    assert not Dataset.read(ledger, refused).registered
    # A δ budget of one and a half caps is a dataset for one job: the rest is never spent.
    receipt = chain.send(register(fresh, 1, MAX_DELTA_ATTO, 3 * MAX_DELTA_ATTO // 2, [], 0),
                         data_owner)
    assert event_args(ledger, receipt, "DatasetRegistered")[0]["totalDeltaAtto"] == (
        MAX_DELTA_ATTO)
    assert Dataset.read(ledger, refused).total_delta_atto == MAX_DELTA_ATTO


def test_only_the_owner_sets_consent(
    chain: Chain, ledger: Contract, dataset: int, data_owner: LocalAccount, outsider: LocalAccount
) -> None:
    with reverts("NotDatasetOwner", dataset, outsider.address):
        chain.send(ledger.functions.setConsent(dataset, TRAINING, True), outsider)
    assert ledger.functions.isConsented(dataset, TRAINING).call() is False
    receipt = chain.send(ledger.functions.setConsent(dataset, RESEARCH, False), data_owner)
    assert event_args(ledger, receipt, "ConsentSet")[0]["consented"] is False
    assert ledger.functions.isConsented(dataset, RESEARCH).call() is False


def test_budget_is_granted_and_resold_at_the_offered_price(
    chain: Chain,
    system: System,
    ledger: Contract,
    dataset: int,
    data_owner: LocalAccount,
    buyer: LocalAccount,
    rival: LocalAccount,
) -> None:
    _grant(chain, ledger, data_owner, rival.address, dataset, 4_000_000)
    chain.send(ledger.functions.offer(dataset, 3_000_000, PRICE), rival)
    receipt = chain.send(ledger.functions.buy(dataset, rival.address, 2_500_001, PRICE), buyer)
    paid = 7_500_003  # 2.500001 ε at 3 USD, rounded up to the micro-USD
    assert event_args(ledger, receipt, "Bought")[0]["paidMicroUsd"] == paid
    assert system.usd.functions.balanceOf(rival.address).call() == paid
    assert ledger.functions.balanceOf(buyer.address, dataset).call() == 2_500_001
    assert ledger.functions.balanceOf(rival.address, dataset).call() == 1_499_999
    assert Offer.read(ledger, dataset, rival.address) == Offer(499_999, PRICE)
    _conserved(ledger, dataset, [data_owner.address, rival.address, buyer.address])


def test_a_purchase_beyond_the_offer_or_at_a_changed_price_is_refused(
    chain: Chain,
    system: System,
    ledger: Contract,
    dataset: int,
    data_owner: LocalAccount,
    buyer: LocalAccount,
) -> None:
    chain.send(ledger.functions.offer(dataset, 1_000_000, PRICE), data_owner)
    with reverts("ExceedsOffer", dataset, data_owner.address, 1_000_001, 1_000_000):
        chain.send(ledger.functions.buy(dataset, data_owner.address, 1_000_001, PRICE), buyer)
    with reverts("PriceChanged", dataset, data_owner.address, PRICE - 1, PRICE):
        chain.send(ledger.functions.buy(dataset, data_owner.address, 1, PRICE - 1), buyer)
    assert ledger.functions.balanceOf(buyer.address, dataset).call() == 0
    assert system.usd.functions.balanceOf(buyer.address).call() == 100 * USD


def test_reserve_release_and_consume_conserve_the_budget(
    chain: Chain,
    ledger: Contract,
    dataset: int,
    data_owner: LocalAccount,
    clearing: LocalAccount,
    buyer: LocalAccount,
) -> None:
    _grant(chain, ledger, data_owner, buyer.address, dataset, 3_000_000)
    reserve = ledger.functions.reserve
    receipt = chain.send(
        reserve(dataset, buyer.address, 1_500_000, RESEARCH, MAX_DELTA_ATTO), clearing
    )
    # The units leave the holder's balance (a burn) for the dataset's reserve.
    (moved,) = event_args(ledger, receipt, "TransferSingle")
    assert (moved["operator"], moved["from"], moved["to"], moved["value"]) == (
        clearing.address,
        buyer.address,
        ZERO_ADDRESS,
        1_500_000,
    )
    chain.send(reserve(dataset, buyer.address, 500_000, RESEARCH, 0), clearing)
    assert ledger.functions.reservedOf(dataset).call() == 2_000_000
    assert ledger.functions.balanceOf(buyer.address, dataset).call() == 1_000_000
    receipt = chain.send(ledger.functions.release(dataset, buyer.address, 500_000), clearing)
    (moved,) = event_args(ledger, receipt, "TransferSingle")
    assert (moved["from"], moved["to"], moved["value"]) == (ZERO_ADDRESS, buyer.address, 500_000)
    receipt = chain.send(ledger.functions.consume(dataset, 1_500_000), clearing)
    assert event_args(ledger, receipt, "Consumed") == [
        {"id": dataset, "amountMicroEpsilon": 1_500_000, "deltaAtto": MAX_DELTA_ATTO}
    ]
    assert ledger.functions.balanceOf(buyer.address, dataset).call() == 1_500_000
    assert ledger.functions.reservedOf(dataset).call() == 0
    assert Dataset.read(ledger, dataset).consumed_micro_epsilon == 1_500_000
    _conserved(ledger, dataset, [data_owner.address, buyer.address])


def test_reserve_returns_what_of_the_datasets_budget_is_not_yet_consumed(
    chain: Chain,
    ledger: Contract,
    dataset: int,
    data_owner: LocalAccount,
    clearing: LocalAccount,
    buyer: LocalAccount,
) -> None:
    _grant(chain, ledger, data_owner, buyer.address, dataset, 3_000_000)
    reserve = ledger.functions.reserve(dataset, buyer.address, 1_000_000, RESEARCH, 0)
    assert reserve.call(clearing.address) == BUDGET_MICRO_EPSILON
    chain.send(reserve, clearing)
    # Reserved ε is not consumed: the next reservation still sees the whole budget.
    assert reserve.call(clearing.address) == BUDGET_MICRO_EPSILON
    chain.send(ledger.functions.consume(dataset, 400_000), clearing)
    assert reserve.call(clearing.address) == BUDGET_MICRO_EPSILON - 400_000
    state = Dataset.read(ledger, dataset)
    assert reserve.call(clearing.address) == (
        state.total_micro_epsilon - state.consumed_micro_epsilon)
    # A bid on no private data reserves nothing from no dataset.
    assert (
        ledger.functions.reserve(0, buyer.address, 0, RESEARCH, 0).call(clearing.address)
        == 0
    )


def test_reserve_needs_consent_a_delta_within_the_cap_and_the_whole_amount(
    chain: Chain,
    ledger: Contract,
    dataset: int,
    data_owner: LocalAccount,
    clearing: LocalAccount,
    buyer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    _grant(chain, ledger, data_owner, buyer.address, dataset, 1_000_000)
    reserve = ledger.functions.reserve
    with reverts("PurposeNotConsented", dataset, "0x" + TRAINING.hex()):
        chain.send(reserve(dataset, buyer.address, 1, TRAINING, 0), clearing)
    with reverts("DeltaAboveCap", dataset, MAX_DELTA_ATTO + 1, MAX_DELTA_ATTO):
        chain.send(reserve(dataset, buyer.address, 1, RESEARCH, MAX_DELTA_ATTO + 1), clearing)
    with reverts("ERC1155InsufficientBalance", buyer.address, 1_000_000, 1_000_001, dataset):
        chain.send(reserve(dataset, buyer.address, 1_000_001, RESEARCH, 0), clearing)
    with reverts("UnknownDataset", dataset + 1):
        chain.send(reserve(dataset + 1, buyer.address, 1, RESEARCH, 0), clearing)
    with reverts("UnknownDataset", 0):  # no dataset: no ε to reserve either
        chain.send(reserve(0, buyer.address, 1, RESEARCH, 0), clearing)
    receipt = chain.send(reserve(0, buyer.address, 0, RESEARCH, 0), clearing)
    assert receipt.logs == ()  # a bid on no private data reserves nothing
    with reverts(
        "AccessControlUnauthorizedAccount", outsider.address, role(ledger, "CLEARING_ROLE")
    ):
        chain.send(reserve(dataset, buyer.address, 1, RESEARCH, 0), outsider)
    assert ledger.functions.balanceOf(buyer.address, dataset).call() == 1_000_000
    assert ledger.functions.reservedOf(dataset).call() == 0


def test_nothing_releases_or_consumes_more_than_is_reserved(
    chain: Chain,
    ledger: Contract,
    dataset: int,
    data_owner: LocalAccount,
    clearing: LocalAccount,
    buyer: LocalAccount,
) -> None:
    _grant(chain, ledger, data_owner, buyer.address, dataset, 1_000)
    chain.send(ledger.functions.reserve(dataset, buyer.address, 1_000, RESEARCH, 0), clearing)
    with reverts("ExceedsReserved", dataset, 1_001, 1_000):
        chain.send(ledger.functions.release(dataset, buyer.address, 1_001), clearing)
    with reverts("ExceedsReserved", dataset, 1_001, 1_000):
        chain.send(ledger.functions.consume(dataset, 1_001), clearing)
    _conserved(ledger, dataset, [data_owner.address, buyer.address])


# ---- δ: every job charged the cap, against the total ----

SMALL_CONTENT_HASH = b"\xd5" * 32


@pytest.fixture
def small(chain: Chain, ledger: Contract, data_owner: LocalAccount, buyer: LocalAccount) -> int:
    """A dataset with δ for three jobs at the cap; the buyer holds all of its 5 ε."""
    chain.send(
        ledger.functions.register(
            SMALL_CONTENT_HASH, 5_000_000, MAX_DELTA_ATTO, 3 * MAX_DELTA_ATTO, [RESEARCH], 0
        ),
        data_owner,
    )
    small = dataset_id(data_owner.address, SMALL_CONTENT_HASH)
    _grant(chain, ledger, data_owner, buyer.address, small, 5_000_000)
    return small


def _delta(ledger: Contract, dataset: int) -> tuple[int, int]:
    """(reserved, consumed) δ of the dataset."""
    return reserved_delta_atto(ledger, dataset), Dataset.read(ledger, dataset).consumed_delta_atto


def _state(ledger: Contract, dataset: int, holder: str) -> tuple[object, ...]:
    return (
        Dataset.read(ledger, dataset),
        ledger.functions.reservedOf(dataset).call(),
        ledger.functions.reservedDeltaOf(dataset).call(),
        ledger.functions.balanceOf(holder, dataset).call(),
    )


def test_every_reservation_on_a_dataset_is_charged_its_delta_cap_even_with_no_epsilon(
    chain: Chain, ledger: Contract, small: int, clearing: LocalAccount, buyer: LocalAccount
) -> None:
    reserve = ledger.functions.reserve
    chain.send(reserve(small, buyer.address, 0, RESEARCH, 0), clearing)
    assert _delta(ledger, small) == (MAX_DELTA_ATTO, 0)
    chain.send(reserve(small, buyer.address, 1_000, RESEARCH, MAX_DELTA_ATTO // 2), clearing)
    assert _delta(ledger, small) == (2 * MAX_DELTA_ATTO, 0)
    # No dataset, no δ: reserving, releasing and consuming nothing of id 0 do nothing at all.
    for call in (
        reserve(0, buyer.address, 0, RESEARCH, 0),
        ledger.functions.release(0, buyer.address, 0),
        ledger.functions.consume(0, 0),
    ):
        assert chain.send(call, clearing).logs == ()
    assert _delta(ledger, 0) == (0, 0)


def test_a_reservation_is_refused_exactly_at_the_delta_total(
    chain: Chain, ledger: Contract, small: int, clearing: LocalAccount, buyer: LocalAccount
) -> None:
    reserve = ledger.functions.reserve(small, buyer.address, 1_000, RESEARCH, 0)
    chain.send(reserve, clearing)
    chain.send(reserve, clearing)
    chain.send(ledger.functions.consume(small, 1_000), clearing)
    # Consumed 1 cap + reserved 1 cap leave the last of 3 caps: taken exactly, then no more.
    chain.send(reserve, clearing)
    assert _delta(ledger, small) == (2 * MAX_DELTA_ATTO, MAX_DELTA_ATTO)
    before = _state(ledger, small, buyer.address)
    with reverts("DeltaBudgetExhausted", small, MAX_DELTA_ATTO, 0):
        chain.send(reserve, clearing)
    # With no ε either: the δ is what runs out.
    with reverts("DeltaBudgetExhausted", small, MAX_DELTA_ATTO, 0):
        chain.send(ledger.functions.reserve(small, buyer.address, 0, RESEARCH, 0), clearing)
    assert _state(ledger, small, buyer.address) == before


def test_release_returns_and_consume_spends_the_delta_cap_even_with_no_epsilon(
    chain: Chain, ledger: Contract, small: int, clearing: LocalAccount, buyer: LocalAccount
) -> None:
    reserve = ledger.functions.reserve
    for amount in (0, 0, 2_000_000):
        chain.send(reserve(small, buyer.address, amount, RESEARCH, MAX_DELTA_ATTO), clearing)
    receipt = chain.send(ledger.functions.release(small, buyer.address, 0), clearing)
    # A zero mint: with the reservation's zero burn, how an indexer counts reservations.
    (moved,) = event_args(ledger, receipt, "TransferSingle")
    assert (moved["from"], moved["to"], moved["value"]) == (ZERO_ADDRESS, buyer.address, 0)
    assert _delta(ledger, small) == (2 * MAX_DELTA_ATTO, 0)
    receipt = chain.send(ledger.functions.consume(small, 0), clearing)
    assert event_args(ledger, receipt, "Consumed") == [
        {"id": small, "amountMicroEpsilon": 0, "deltaAtto": MAX_DELTA_ATTO}
    ]
    assert _delta(ledger, small) == (MAX_DELTA_ATTO, MAX_DELTA_ATTO)
    chain.send(ledger.functions.consume(small, 2_000_000), clearing)
    assert _delta(ledger, small) == (0, 2 * MAX_DELTA_ATTO)
    state = Dataset.read(ledger, small)
    assert (state.total_micro_epsilon, state.consumed_micro_epsilon, state.total_delta_atto,
            state.consumed_delta_atto) == (5_000_000, 2_000_000, 3 * MAX_DELTA_ATTO,
                                           2 * MAX_DELTA_ATTO)
    assert ledger.functions.balanceOf(buyer.address, small).call() == 3_000_000
    # What one job's cap is left takes one more job.
    chain.send(reserve(small, buyer.address, 0, RESEARCH, 0), clearing)
    with reverts("DeltaBudgetExhausted", small, MAX_DELTA_ATTO, 0):
        chain.send(reserve(small, buyer.address, 0, RESEARCH, 0), clearing)


def test_each_reservation_ends_once_whatever_epsilon_it_leaves_reserved(
    chain: Chain,
    ledger: Contract,
    small: int,
    dataset: int,
    clearing: LocalAccount,
    buyer: LocalAccount,
) -> None:
    chain.send(ledger.functions.reserve(small, buyer.address, 1_000, RESEARCH, 0), clearing)
    chain.send(ledger.functions.release(small, buyer.address, 500), clearing)
    before = _state(ledger, small, buyer.address)
    with reverts("ExceedsReservedDelta", small, MAX_DELTA_ATTO, 0):
        chain.send(ledger.functions.release(small, buyer.address, 500), clearing)
    with reverts("ExceedsReservedDelta", small, MAX_DELTA_ATTO, 0):
        chain.send(ledger.functions.consume(small, 0), clearing)
    assert _state(ledger, small, buyer.address) == before
    with reverts("UnknownDataset", dataset + 1):
        chain.send(ledger.functions.consume(dataset + 1, 0), clearing)


def test_budget_cannot_be_pushed_into_the_reserve(
    chain: Chain, ledger: Contract, dataset: int, data_owner: LocalAccount
) -> None:
    with reverts("ERC1155InvalidReceiver", ledger.address):
        _grant(chain, ledger, data_owner, ledger.address, dataset, 1)
    assert ledger.functions.reservedOf(dataset).call() == 0


def test_a_buyer_reentering_through_its_receiver_hook_buys_once(
    chain: Chain,
    system: System,
    ledger: Contract,
    dataset: int,
    data_owner: LocalAccount,
    governance: LocalAccount,
    outsider: LocalAccount,
) -> None:
    hostile = chain.deploy("HostileReceiver", outsider, outsider.address)
    chain.send(system.usd.functions.mint(hostile.address, 10 * USD), governance)
    approve = system.usd.functions.approve(ledger.address, 2**256 - 1).data
    chain.send(hostile.functions.execute(system.usd.address, approve), outsider)
    chain.send(ledger.functions.offer(dataset, 2_000_000, PRICE), data_owner)
    buy = ledger.functions.buy(dataset, data_owner.address, 1_000_000, PRICE).data
    chain.send(hostile.functions.arm(REENTER, ledger.address, buy), outsider)
    chain.send(hostile.functions.execute(ledger.address, buy), outsider)
    assert hostile.functions.reentered().call() is True
    assert hostile.functions.reentryResult().call() == REENTRANT_CALL
    assert ledger.functions.balanceOf(hostile.address, dataset).call() == 1_000_000
    assert system.usd.functions.balanceOf(hostile.address).call() == 7 * USD
    assert Offer.read(ledger, dataset, data_owner.address) == Offer(1_000_000, PRICE)
