"""tokens/budgets.py on the embedded chain: register, grant, offer, buy and list privacy
budgets, and every check that refuses before anything is sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import purpose_id
from chain.connection import Chain
from chain.contract import ZERO_ADDRESS
from chain.ledger import dataset_id
from chain.system import System
from tokens import budgets
from tokens.errors import TokensError

pytestmark = pytest.mark.usefixtures("snapshot")
USD = 10**6
EPS = 10**6  # micro-ε per ε
CONTENT = b"\x11" * 32
TOTAL = 50 * EPS
MAX_DELTA = 10**13
TOTAL_DELTA = 100 * MAX_DELTA


@pytest.fixture(scope="module")
def dataset(
    system: System, data_owner: LocalAccount, buyer: LocalAccount, governance: LocalAccount
) -> int:
    """50 ε and δ for 100 jobs registered by the data owner with consent to research and
    training; the buyer holds 100 USD."""
    registered, _ = budgets.register(
        system, data_owner, CONTENT, TOTAL, MAX_DELTA, TOTAL_DELTA, ["research", "training"]
    )
    system.chain.send(system.usd.functions.mint(buyer.address, 100 * USD), governance)
    return registered


def _held(system: System, address: str, dataset: int) -> int:
    return int(system.ledger.functions.balanceOf(address, dataset).call())


def _refused(chain: Chain, sender: LocalAccount, match: str, action: Callable[[], Any]) -> None:
    """`action` raises TokensError matching `match`, and the sender sent nothing."""
    nonce = chain.w3.eth.get_transaction_count(sender.address)
    with pytest.raises(TokensError, match=match):
        action()
    assert chain.w3.eth.get_transaction_count(sender.address) == nonce


# ---- what users type ----


@pytest.mark.parametrize("text, micros", [("2.5", 2_500_000), ("0.000001", 1), ("10", 10_000_000)])
def test_epsilon_is_counted_in_micro_epsilon(text: str, micros: int) -> None:
    assert budgets.epsilon_micros(text) == micros


@pytest.mark.parametrize(
    "text, match",
    [("0", "greater than 0"), ("-1", "greater than 0"), ("0.0000001", "6 decimal"), ("x", "not a")],
)
def test_epsilon_rejects_zero_negative_and_sub_micro_amounts(text: str, match: str) -> None:
    with pytest.raises(TokensError, match=match) as raised:
        budgets.epsilon_micros(text)
    assert raised.value.field == "epsilon"


def test_zero_epsilon_is_allowed_only_where_it_withdraws() -> None:
    assert budgets.epsilon_micros("0", allow_zero=True) == 0


def test_delta_price_and_ids_parse_to_the_ledgers_units() -> None:
    assert budgets.delta_atto("1e-5") == 10**13
    assert budgets.delta_text(10**13) == "0.00001"
    assert budgets.price_micro_usd("3.25") == 3_250_000
    assert budgets.parse_dataset_id("0x10") == budgets.parse_dataset_id("16") == 16
    assert budgets.parse_content_hash("0x" + "ab" * 32) == b"\xab" * 32
    for call, match in (
        (lambda: budgets.delta_atto("1"), "delta: δ must be at least 0 and below 1"),
        (lambda: budgets.parse_dataset_id(str(2**96)), "dataset: .* 96 bits"),
        (lambda: budgets.parse_content_hash("ab" * 32), "content_hash: expected 0x"),
    ):
        with pytest.raises(TokensError, match=match):
            call()


def test_a_files_content_hash_is_its_sha256(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert budgets.file_content_hash(path) == hashlib.sha256(b"a,b\n1,2\n").digest()


# ---- register ----


def test_register_mints_the_whole_budget_and_lists_the_dataset(
    system: System, data_owner: LocalAccount, dataset: int
) -> None:
    assert dataset == dataset_id(data_owner.address, CONTENT)
    (view,) = budgets.datasets(system, data_owner.address)
    assert (view.id, view.owner, view.total_micro_eps, view.held_micro_eps) == (
        budgets.hex_dataset_id(dataset),
        data_owner.address,
        TOTAL,
        TOTAL,
    )
    assert (view.reserved_micro_eps, view.consumed_micro_eps, view.max_delta_atto) == (
        0, 0, MAX_DELTA)
    assert (view.total_delta_atto, view.reserved_delta_atto, view.consumed_delta_atto) == (
        TOTAL_DELTA,
        0,
        0,
    )
    assert sorted(view.purposes) == ["research", "training"]
    assert view.content_hash == "0x" + CONTENT.hex()


def test_unknown_purposes_are_listed_by_id(system: System, outsider: LocalAccount) -> None:
    registered, _ = budgets.register(
        system, outsider, b"\x22" * 32, EPS, MAX_DELTA, MAX_DELTA, ["genomics"]
    )
    (view,) = budgets.datasets(system, outsider.address)
    assert view.id == budgets.hex_dataset_id(registered)
    assert view.purposes == ["0x" + purpose_id("genomics").hex()]


@pytest.mark.parametrize(
    "content, max_delta, total_delta, purposes, match",
    [
        (CONTENT, MAX_DELTA, TOTAL_DELTA, ["research"], "content_hash: .*already registered"),
        (b"\x33" * 32, MAX_DELTA, TOTAL_DELTA, [], "purposes: name at least one"),
        (b"\x33" * 32, 0, TOTAL_DELTA, ["research"], "delta: the per-job δ cap must be"),
        (
            b"\x33" * 32,
            MAX_DELTA,
            MAX_DELTA - 1,
            ["research"],
            "total_delta: 0.000009999999999999 is below the per-job cap 0.00001",
        ),
        (b"\x33" * 32, MAX_DELTA, 10**18, ["research"], "total_delta: δ must be below 1"),
        (b"\x33" * 32, 1, 2**24, ["research"], "total_delta: the ledger counts at most "
                                               "16,777,215 jobs"),
    ],
)
def test_register_refuses_before_sending(
    chain: Chain,
    system: System,
    data_owner: LocalAccount,
    dataset: int,
    content: bytes,
    max_delta: int,
    total_delta: int,
    purposes: list[str],
    match: str,
) -> None:
    def register() -> Any:
        return budgets.register(system, data_owner, content, EPS, max_delta, total_delta, purposes)

    _refused(chain, data_owner, match, register)


def test_register_refuses_a_budget_above_what_the_ledger_counts(
    chain: Chain, system: System, data_owner: LocalAccount
) -> None:
    def register() -> Any:
        return budgets.register(system, data_owner, b"\x34" * 32, 2**40, MAX_DELTA, TOTAL_DELTA,
                                ["research"])

    _refused(chain, data_owner, "epsilon: a dataset's budget is at most 1,099,511.627775 ε",
             register)


# ---- grant ----


def test_grant_moves_budget_and_the_recipient_lists_the_dataset(
    system: System, data_owner: LocalAccount, buyer: LocalAccount, dataset: int
) -> None:
    budgets.grant(system, data_owner, dataset, buyer.address, 2 * EPS)
    assert _held(system, buyer.address, dataset) == 2 * EPS
    (view,) = budgets.datasets(system, buyer.address)
    assert (view.id, view.owner, view.held_micro_eps, view.total_micro_eps) == (
        budgets.hex_dataset_id(dataset),
        data_owner.address,
        2 * EPS,
        TOTAL,
    )


@pytest.mark.parametrize(
    "case, match",
    [
        ("unknown dataset", "dataset: unknown dataset"),
        ("above the balance", "epsilon: 51 ε exceeds the wallet's budget of 50"),
        ("to itself", "to: is this wallet itself"),
        ("to the zero address", "to: the zero address cannot hold budget"),
    ],
)
def test_grant_refuses_before_sending(
    chain: Chain,
    system: System,
    data_owner: LocalAccount,
    buyer: LocalAccount,
    dataset: int,
    case: str,
    match: str,
) -> None:
    target, to, amount = dataset, buyer.address, EPS
    if case == "unknown dataset":
        target = dataset + 1
    elif case == "above the balance":
        amount = TOTAL + EPS
    elif case == "to itself":
        to = data_owner.address
    else:
        to = ZERO_ADDRESS
    _refused(
        chain, data_owner, match, lambda: budgets.grant(system, data_owner, target, to, amount)
    )


# ---- offer and buy ----


def test_buy_from_an_offer_pays_the_seller_and_withdrawing_ends_it(
    system: System, data_owner: LocalAccount, buyer: LocalAccount, dataset: int
) -> None:
    budgets.offer(system, data_owner, dataset, 5 * EPS, 3 * USD)
    seller_usd = system.usd.functions.balanceOf(data_owner.address).call()
    budgets.buy(system, buyer, dataset, data_owner.address, 2_500_000, 3 * USD)
    assert _held(system, buyer.address, dataset) == 2_500_000
    assert system.usd.functions.balanceOf(data_owner.address).call() == seller_usd + 7_500_000
    seller = budgets.datasets(system, data_owner.address)[0]
    assert (seller.offer_micro_eps, seller.offer_price_micro_usd) == (2_500_000, 3 * USD)
    budgets.offer(system, data_owner, dataset, 0, 0)
    assert budgets.datasets(system, data_owner.address)[0].offer_micro_eps == 0


def test_a_refusal_names_the_seller_by_the_wallet_here_that_holds_it(
    chain: Chain, system: System, data_owner: LocalAccount, buyer: LocalAccount, dataset: int,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCM_HOME", str(tmp_path))
    (tmp_path / "keystores").mkdir()
    (tmp_path / "keystores" / "owner.json").write_text(
        json.dumps({"address": data_owner.address.removeprefix("0x").lower()}))
    _refused(chain, buyer, rf"seller: owner \({data_owner.address}\) offers no budget",
             lambda: budgets.buy(system, buyer, dataset, data_owner.address, EPS, USD))


def test_a_buy_rounds_the_cost_up_to_the_micro_usd() -> None:
    assert budgets.cost_micro_usd(1, 1) == 1
    assert budgets.cost_micro_usd(2_500_000, 3 * USD) == 7_500_000


@pytest.mark.parametrize(
    "case, match",
    [
        ("unknown dataset", "dataset: unknown dataset"),
        ("no offer", "seller: .* offers no budget"),
        ("price changed", "price_usd: the seller asks 3.00 USD per ε, not 2.00"),
        ("above the offer", "epsilon: 6 ε exceeds the offer of 5"),
        ("above the seller's budget", "epsilon: 5 ε exceeds the seller's budget of 1"),
        ("too little USD", "epsilon: 5 ε costs 150.00 USD, the wallet holds 100.00"),
    ],
)
def test_buy_refuses_before_sending(
    chain: Chain,
    system: System,
    data_owner: LocalAccount,
    buyer: LocalAccount,
    outsider: LocalAccount,
    dataset: int,
    case: str,
    match: str,
) -> None:
    target, seller, amount, price = dataset, data_owner.address, 5 * EPS, 3 * USD
    if case != "no offer":
        budgets.offer(system, data_owner, dataset, 5 * EPS, 3 * USD)
    if case == "unknown dataset":
        target = dataset + 1
    elif case == "price changed":
        price = 2 * USD
    elif case == "above the offer":
        amount = 6 * EPS
    elif case == "above the seller's budget":
        budgets.grant(system, data_owner, dataset, outsider.address, TOTAL - EPS)
    elif case == "too little USD":
        budgets.offer(system, data_owner, dataset, 5 * EPS, 30 * USD)
        price = 30 * USD

    def buy() -> Any:
        return budgets.buy(system, buyer, target, seller, amount, price)

    _refused(chain, buyer, match, buy)


@pytest.mark.parametrize(
    "amount, match",
    [(TOTAL + 1, "epsilon: .* exceeds the wallet's budget"), (0, "epsilon: 0 withdraws an offer")],
)
def test_offer_refuses_more_than_held_and_withdrawing_no_offer(
    chain: Chain, system: System, data_owner: LocalAccount, dataset: int, amount: int, match: str
) -> None:
    _refused(
        chain, data_owner, match, lambda: budgets.offer(system, data_owner, dataset, amount, USD)
    )
