"""What the read commands print for people fits 80 columns, on a terminal of any width or none,
with the longest values the chain holds: 0x ids and addresses in full, amounts near their
types' bounds. Rendered from constructed data; the commands' chain reads are tested elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from chain.clearing_house import Round
from chain.settlement import Deadlines, Phase
from chain.times import utc_text
from market.prices import IndexPoint, PricePoint, Source
from rcm.commands import auction, budget, common, futures, market, round, wallet
from rcm.commands.common import with_tx
from rcm.commands.tables import short
from rcm.sdk import RoundView
from service.models import ItemPricesPublic, PriceRecordPublic
from tokens.budgets import DatasetView
from tokens.futures import BundleItem, FutureView
from tokens.history import CST_WEI, MICRO_EPS, MICRO_USD, Entry
from tokens.operations import Balances

NAME = "provider-frankfurt-confidential"
ADDRESS = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"
OTHER = "0x8626f6940E2eb28930eFb4CeF49B2d1F2C9C1199"
DIGEST = "0x" + "ab" * 32
TX = "0x" + "cd" * 32
OTHER_TX = "0x" + "ef" * 32
WEI = 10**27 + 123_456_789_012_345_678  # a billion CST, to the last wei
MICRO_USD_AMOUNT = 10**15 + 1  # a billion USD and a cent's ten-thousandth
EPSILON = 1_000_500_000  # ε 1000.5
ROUND = 12_345
WHEN = 1_795_000_000


@pytest.fixture
def printed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
            ) -> Callable[[], str]:
    """What was printed, once checked to fit 80 columns although the terminal is wider."""
    monkeypatch.setenv("COLUMNS", "200")

    def lines() -> str:
        out = capsys.readouterr().out
        assert out and max(map(len, out.splitlines())) <= 80, out
        return out
    return lines


@pytest.fixture
def keystores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wallets here: NAME holds ADDRESS, bob holds OTHER (keystores holding only an address,
    all the tables read of them)."""
    monkeypatch.setenv("RCM_HOME", str(tmp_path))
    (tmp_path / "keystores").mkdir()
    for name, address in ((NAME, ADDRESS), ("bob", OTHER)):
        (tmp_path / "keystores" / f"{name}.json").write_text(
            f'{{"address": "{address.removeprefix("0x").lower()}"}}')


def test_wallet_list(printed: Callable[[], str]) -> None:
    wallet._print_wallets([{"name": NAME, "address": ADDRESS}, {"name": "bob", "address": OTHER}])
    assert ADDRESS in printed()


def test_wallet_balance(printed: Callable[[], str]) -> None:
    amounts = dict.fromkeys(("eth_wei", "cst_wei", "staked_wei", "locked_wei", "bonded_wei",
                             "bond_locked_wei", "unbonding_wei"), WEI)
    wallet._print_balance(NAME, ADDRESS, Balances(
        address=ADDRESS, usd_micro_usd=MICRO_USD_AMOUNT, credit_micro_usd=MICRO_USD_AMOUNT,
        unbonding_ready_at=WHEN, **amounts))
    shown = printed()
    assert "1,000,000,000.123456789012345678" in shown
    assert f"withdrawable from {utc_text(WHEN)}" in shown


def test_wallet_history(printed: Callable[[], str]) -> None:
    entries = [Entry(block=30_000_000, timestamp=WHEN, what=what, amount=amount, unit=unit,
                     counterparty=OTHER, ref=DIGEST, tx=tx)
               for what, amount, unit, tx in (("CST received", WEI, CST_WEI, OTHER_TX),
                                              ("bid committed", MICRO_USD_AMOUNT, MICRO_USD, TX),
                                              ("ε granted", EPSILON, MICRO_EPS, TX))]
    wallet._print_history(NAME, ADDRESS, entries)
    shown = printed()
    # Each transaction whole, as people copy it, once under the last entry it made.
    assert shown.count(f"\n  tx {OTHER_TX}\n") == shown.count(f"\n  tx {TX}\n") == 1
    assert shown.index("received") < shown.index(OTHER_TX) < shown.index("committed")
    assert shown.index("granted") < shown.index(TX)


def test_wallet_history_says_mint_and_burn_rather_than_the_zero_address(
        printed: Callable[[], str]) -> None:
    from chain.contract import ZERO_ADDRESS

    entries = [Entry(block=1, timestamp=WHEN, what=what, amount=1, unit=unit,
                     counterparty=ZERO_ADDRESS, ref=None, tx=TX)
               for what, unit in (("CST minted", CST_WEI), ("future claimed", "futures"),
                                  ("ε burned", MICRO_EPS), ("bond seized", CST_WEI))]
    wallet._print_history(NAME, ADDRESS, entries)
    rows = [line.split() for line in printed().splitlines() if line.startswith("1 ")]
    assert [row[-1] for row in rows] == ["mint", "mint", "burn", "burn"]


def test_wallet_futures(printed: Callable[[], str]) -> None:
    item = BundleItem(item=ROUND, kind="gpu", region="europe-west-frankfurt", unit="gpu-hour",
                      slot_starts_at=WHEN, slot_seconds=2 * 86_400 + 90, tier="confidential",
                      quantity_units=ROUND)
    futures._print_futures(NAME, ADDRESS, [FutureView(
        id=DIGEST, round=ROUND, bidder=ADDRESS, status="unclaimed", items=[item, item],
        dataset=f"0x{2**96 - 1:064x}", epsilon_micro_eps=EPSILON, risk_bps=10_000,
        payment_micro_usd=MICRO_USD_AMOUNT)])
    shown = printed().replace("\n    ", " ")  # wrapped lines joined
    assert f"\n{DIGEST}\n" in shown  # whole: `claim` and `redeem` take it
    assert f"{NAME} {ADDRESS}: 1 future\n" in shown
    # So many of its unit, then the item as `round status` names it.
    assert (f"12,345 gpu-hour (gpu, europe-west-frankfurt, confidential tier, slot "
            f"{utc_text(WHEN)[:16]} UTC + 2 d 1 min 30 s, item 12345)") in shown
    # The dataset as `budget register` prints it; risk in bps, as everywhere else.
    assert f"of dataset {hex(2**96 - 1)}, risk 10,000 bps, payment" in shown


def test_wallet_budget_list(printed: Callable[[], str]) -> None:
    budget._print_datasets(NAME, ADDRESS, [DatasetView(
        id=f"0x{2**96 - 1:064x}", owner=OTHER, content_hash=DIGEST,
        total_micro_eps=EPSILON, held_micro_eps=EPSILON, reserved_micro_eps=EPSILON,
        consumed_micro_eps=EPSILON,
        max_delta_atto=10**13, total_delta_atto=10**15, reserved_delta_atto=10**14,
        consumed_delta_atto=10**14, purposes=["clinical-research", DIGEST],
        categories=["biometric", "financial", "genomic", "health"],
        offer_micro_eps=EPSILON, offer_price_micro_usd=MICRO_USD_AMOUNT)])
    shown = printed()
    assert hex(2**96 - 1) in shown  # whole, as `grant`, `sell` and `buy` take it
    assert "data: biometric, financial, genomic, health" in shown
    assert f"owner: {short(OTHER)}" in shown  # no wallet here holds it


@pytest.mark.usefixtures("keystores")
def test_wallet_budget_list_names_an_owner_a_wallet_here_holds(
        printed: Callable[[], str]) -> None:
    view = DatasetView(
        id=f"0x{1:064x}", owner=OTHER, content_hash=DIGEST, total_micro_eps=1,
        held_micro_eps=1, reserved_micro_eps=0, consumed_micro_eps=0, max_delta_atto=1,
        total_delta_atto=1, reserved_delta_atto=0, consumed_delta_atto=0, purposes=["research"],
        categories=[], offer_micro_eps=0, offer_price_micro_usd=0)
    budget._print_datasets(NAME, ADDRESS, [view, view.model_copy(update={"owner": ADDRESS})])
    shown = printed()
    assert "owner: bob\n" in shown and "owner: this wallet\n" in shown


def test_round_list(printed: Callable[[], str]) -> None:
    state = Round(deadlines=Deadlines(WHEN, WHEN + 1, WHEN + 2, WHEN + 3), policy_id=ROUND,
                  item_count=ROUND, min_risk_bps=1_000, equity_class_count=3,
                  standing_version=1, version_count=1, challenge_end_timestamp=WHEN + 4,
                  issued_count=0, priced=False, closed=False)
    round._print_rounds([RoundView(ROUND, Phase.CHALLENGE, state, ROUND)])
    assert "challenge" in printed()


def test_round_status(printed: Callable[[], str]) -> None:
    round._print_status({
        "round": ROUND, "phase": "challenge", "policy_id": ROUND,
        "deadlines": {f"{phase}_ends_at": WHEN for phase in round.PHASE_ENDS},
        "result": {"version": ROUND, "poster": ADDRESS, "fill_count": ROUND,
                   "welfare_micro_usd": MICRO_USD_AMOUNT, "claimed": "optimal",
                   "bound_micro_usd": MICRO_USD_AMOUNT, "priced": False, "issued_count": 1,
                   "closed": False},
        "items": [{"item": ROUND, "provider": ADDRESS, "kind": "storage",
                   "region": "europe-west-frankfurt", "slot_starts_at": WHEN,
                   "tier": "confidential", "unit": "gpu-hour", "capacity_units": ROUND,
                   "allocated_units": ROUND, "reserve_price_micro_usd": MICRO_USD_AMOUNT}],
        "bids": [{"digest": DIGEST, "bidder": bidder, "status": "revealed", "in_result": True,
                  "deposit_micro_usd": MICRO_USD_AMOUNT, "payment_micro_usd": MICRO_USD_AMOUNT,
                  "outcome": "lost: outbid — needs 40 units of gpu-euw1-w49-confidential"}
                 for bidder in (OTHER, None)],
    })
    shown = " ".join(printed().split())
    assert short(DIGEST) in shown and short(OTHER) in shown and "(sealed)" in shown
    assert f"result {ROUND}: 12,345 fills" in shown and "1 future issued" in shown


def test_round_status_names_an_item_as_wallet_futures_does_and_its_slot_in_utc(
        printed: Callable[[], str]) -> None:
    round._print_status({
        "round": 1, "phase": "commit", "policy_id": 1,
        "deadlines": {f"{phase}_ends_at": WHEN for phase in round.PHASE_ENDS}, "result": None,
        "items": [{"item": 0, "provider": ADDRESS, "kind": "gpu", "region": "euw1",
                   "slot_starts_at": WHEN, "tier": "certified", "unit": "gpu",
                   "capacity_units": 2, "allocated_units": 0,
                   "reserve_price_micro_usd": 40 * 10**6}],
        "bids": []})
    lines = printed().splitlines()
    head, _, *rows = lines[lines.index("items") + 1:lines.index("bids") - 1]
    assert head.split()[:4] == ["item", "what", "slot", "(UTC)"]
    what = slice(head.index("what"), head.index("slot"))
    assert " ".join(row[what].strip() for row in rows) == "gpu, euw1, certified tier"
    assert utc_text(WHEN)[:16] in rows[0]


def test_market_prices(printed: Callable[[], str]) -> None:
    label = "storage-europe-west-frankfurt-2027-06-07T00:00Z-confidential"
    market._print_prices(ItemPricesPublic(item=label, prices=[PriceRecordPublic.of(
        PricePoint(label, "storage", "europe-west-frankfurt", ROUND, WHEN, source,
                   MICRO_USD_AMOUNT, 2**32 - 1, bytes(32), bytes(32), ADDRESS, OTHER))
        for source in Source]))
    shown = printed()
    assert label in shown and "1,000,000,000.00" in shown


def test_market_index(printed: Callable[[], str]) -> None:
    market._print_index([IndexPoint("storage", "europe-west-frankfurt", WHEN, MICRO_USD_AMOUNT,
                                    MICRO_USD_AMOUNT, median, ROUND, ROUND)
                         for median in (MICRO_USD_AMOUNT, None)])
    shown = printed()
    assert "storage in europe-west-frankfurt" in shown and "1,000,000,000.00" in shown


@pytest.mark.parametrize("phase, priced, pending", [
    ("challenge", False, "pending until priced"), ("price", False, "pending until priced"),
    ("final", True, "pending until issued"),
    ("final", False, "pending until issued")])  # at its reserve cost, the window passed
def test_round_status_says_a_winners_payment_is_pending_until_it_is_issued(
        printed: Callable[[], str], phase: str, priced: bool, pending: str) -> None:
    bid = {"digest": DIGEST, "bidder": OTHER, "deposit_micro_usd": MICRO_USD_AMOUNT,
           "payment_micro_usd": 0, "outcome": None}
    round._print_status({
        "round": ROUND, "phase": phase, "policy_id": ROUND,
        "deadlines": {f"{phase}_ends_at": WHEN for phase in round.PHASE_ENDS},
        "result": {"version": 1, "poster": ADDRESS, "fill_count": 1, "welfare_micro_usd": 1,
                   "claimed": "optimal", "bound_micro_usd": 1, "priced": priced,
                   "issued_count": 0, "closed": False},
        "items": [],
        "bids": [{**bid, "status": "revealed", "in_result": True},  # the winner, unissued
                 {**bid, "status": "revealed", "in_result": False},  # a loser pays nothing
                 {**bid, "status": "future", "in_result": True, "payment_micro_usd": 10**6}],
    })
    rows = " ".join(printed().split()).split(" bids ", 1)[1]
    assert rows.count(pending) == 1 and "pending" not in rows.replace(pending, "")
    assert " 0.00 " in rows and " 1.00 " in rows  # the loser's and the issued future's


def test_round_policy_as_the_example_registers_it() -> None:
    from market.onchain import PolicyFile
    from market.readers import read_json_file

    text = read_json_file(Path("examples/policy.json"), PolicyFile).model_dump_json(indent=2)
    assert max(map(len, text.splitlines())) <= 80


@pytest.mark.parametrize("bid", ["nhs-sepsis-warning", "streamline-ads"])
def test_auction_explain(bid: str, printed: Callable[[], str]) -> None:
    from market.examples import CLEARING_TIME, consortium_instance
    from market.wdp import SolveParams

    market = consortium_instance()
    params = SolveParams(time_limit=20, workers=1, seed=3)
    auction._print_explanation(market, auction._priced(market, params, CLEARING_TIME), bid)
    assert bid in printed()


def test_a_human_line_wraps_to_80_columns_and_never_inside_an_id_or_a_name(
        printed: Callable[[], str]) -> None:
    common.report(False, {}, with_tx(f"redeemed future {DIGEST}: its job on gpu-euw1-w49-"
                                     f"confidential is open, committed to declaration {DIGEST}",
                                     TX))
    shown = printed()
    assert shown.split() == (f"redeemed future {DIGEST}: its job on gpu-euw1-w49-confidential "
                             f"is open, committed to declaration {DIGEST} tx {TX}").split()
    assert shown.endswith(f"\ntx {TX}\n")


def test_auction_run_shows_each_winners_payment_and_the_transactions(
        printed: Callable[[], str]) -> None:
    from market.result import Component, Fill, Loss, LossReason, Payment, PricedClearing, Status

    lost = "0x" + "ef" * 32
    result = PricedClearing(
        allocation=[Fill(bid=DIGEST, bundle=1, items={"0": 1})],
        losing=[Loss(bid=lost, reason=LossReason.OUTBID, bundle=0, item="0",
                     detail="needs 1 units of gpu-euw1-w49-confidential, 0 left after "
                            "higher-value bids")],
        welfare=MICRO_USD_AMOUNT, bound=MICRO_USD_AMOUNT, gap=0.0, status=Status.OPTIMAL,
        seconds=0.1, item_prices={"0": MICRO_USD_AMOUNT}, competitive_violation=0,
        payments=[Payment(winner=DIGEST, total=13_070_333_333, components={
            Component.SUPPLY_DEMAND: 13_070_333_333, Component.PRIVACY_RISK: 0,
            Component.SAFETY_RISK: 0, Component.EQUITY: 0})])
    auction._print_run(ROUND, result, {DIGEST: ADDRESS, lost: OTHER}, [TX, OTHER_TX])
    shown = printed()
    assert f"\ntx {TX}\ntx {OTHER_TX}\n" in shown  # each whole, on a line of its own
    said = " ".join(shown.split())
    assert said.startswith(f"round {ROUND}: optimal, 1 winner, welfare 1,000,000,000.00 USD; "
                           f"posted in 2 transactions tx {TX} tx {OTHER_TX} ")
    assert f"{short(DIGEST)} {short(ADDRESS)} won bundle 1 13,070.33" in said
    assert f"{short(lost)} {short(OTHER)} lost: outbid — needs 1 units" in said
    assert "payments this machine expects the oracle quorum to sign" in said


@pytest.mark.usefixtures("keystores")
def test_a_table_of_addresses_reads_each_keystore_once(
        printed: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tokens import wallets

    read = []
    keystore_address = wallets.keystore_address
    monkeypatch.setattr(wallets, "keystore_address", lambda path: read.append(path) or
                        keystore_address(path))
    entries = [Entry(block=block, timestamp=WHEN, what="CST received", amount=1, unit=CST_WEI,
                     counterparty=OTHER, ref=None, tx=TX) for block in range(20)]
    wallet._print_history(NAME, ADDRESS, entries)
    assert printed().count(" bob") == 20  # every row names the counterparty's wallet
    assert len(read) == 2  # each keystore once for the table, not once per row
