"""The indexer's tables of privacy budgets on the dashboard's market (its dataset's ε granted
to the bidders, reserved by their commits, released for the losers, consumed by the judged
job) with an offer of the data owner's that Carol partly bought: they agree with the ledger's
own views, and a crash mid-block followed by a restart stores every row once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import purpose_id
from chain.connection import Chain
from chain.contract import Event
from chain.ledger import Dataset, Offer, is_consented, reserved_micro_epsilon
from service import handlers
from service.background import opened
from service.dashboard import Dashboard
from service.dashboard_models import BudgetOfferPublic
from service.handlers import BlockContext
from service.store import connect
from tests.contracts.settlement_fixtures import USD
from tests.service.market_fixtures import ClearedRound, JudgedJob, indexed, table_rows

BUDGET_TABLES = ("datasets", "consents", "budget_offers", "budget_moves")
OFFERED_MICRO_EPSILON = 5_000_000
BOUGHT_MICRO_EPSILON = 1_500_000
PRICE_PER_EPSILON = 2 * USD


@pytest.fixture
def offered(chain: Chain, cleared: ClearedRound, judged: JudgedJob,
            outsider: LocalAccount) -> Iterator[ClearedRound]:
    """The data owner offers ε, and Carol (`outsider`) buys part of it, in a snapshot."""
    taken = chain.snapshot()
    market = cleared.market
    ledger = market.system.ledger
    chain.send(ledger.functions.offer(market.dataset, OFFERED_MICRO_EPSILON,
                                      PRICE_PER_EPSILON), market.owner)
    chain.send(market.system.usd.functions.approve(ledger.address, 2**256 - 1), outsider)
    chain.send(ledger.functions.buy(market.dataset, market.owner.address, BOUGHT_MICRO_EPSILON,
                                    PRICE_PER_EPSILON), outsider)
    yield cleared
    chain.revert_to(taken)




def test_the_budget_tables_agree_with_the_ledgers_views(offered: ClearedRound,
                                                        tmp_path: Path) -> None:
    path = indexed(offered, tmp_path / "market.sqlite")
    market = offered.market
    ledger = market.system.ledger
    state = Dataset.read(ledger, market.dataset)
    (dataset,) = table_rows(path, "datasets")
    assert (int.from_bytes(dataset[0], "big"), dataset[1], dataset[3]) == (
        market.dataset, state.owner, state.total_micro_epsilon)
    consents = {row[1]: bool(row[2]) for row in table_rows(path, "consents")}
    assert consents == {purpose: is_consented(ledger, market.dataset, purpose)
                        for purpose in consents}
    assert consents[purpose_id("research")]
    reserved = consumed = 0
    for _, _, _, _, _, kind, amount in table_rows(path, "budget_moves"):
        reserved += amount if kind == "reserved" else -amount
        consumed += amount if kind == "consumed" else 0
    assert (reserved, consumed) == (reserved_micro_epsilon(ledger, market.dataset),
                                    state.consumed_micro_epsilon)
    (offer,) = table_rows(path, "budget_offers")
    left = Offer.read(ledger, market.dataset, market.owner.address)
    assert offer[1:] == (market.owner.address, str(left.amount_micro_epsilon),
                         str(left.price_micro_usd_per_epsilon))
    assert left.amount_micro_epsilon == OFFERED_MICRO_EPSILON - BOUGHT_MICRO_EPSILON
    with closing(connect(path)) as db:
        (shown,) = Dashboard(db).budgets().datasets
    assert shown.offers == [BudgetOfferPublic(
        seller=market.owner.address, amount_micro_epsilon=left.amount_micro_epsilon,
        price_micro_usd_per_epsilon=PRICE_PER_EPSILON)]


def test_a_crash_mid_block_then_a_restart_stores_every_budget_row_once(
        offered: ClearedRound, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = indexed(offered, tmp_path / "whole.sqlite")
    path = tmp_path / "market.sqlite"

    def crash(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
        raise RuntimeError("killed")

    # The first commit's block: its reservation's row is written, then the crash undoes the
    # transaction, which holds the dataset's registration too (a span from the deploy block).
    monkeypatch.setitem(handlers.HANDLERS, ("clearing_house", "Committed"), crash)
    with opened(offered.market.system, path) as service, pytest.raises(RuntimeError):
        service.indexer.sync()
    assert table_rows(path, "budget_moves") == table_rows(path, "datasets") == []
    monkeypatch.undo()
    with opened(offered.market.system, path) as service:
        service.indexer.sync()
        service.indexer.sync()
    for table in BUDGET_TABLES:
        assert table_rows(path, table) == table_rows(whole, table), table
