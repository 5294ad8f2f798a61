"""The indexer's tables of rounds, commitments, results, prices and losses on a round cleared,
priced and closed on the embedded chain: they agree with the chain's own reads, and a crash
mid-block followed by a restart stores every row once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from chain.clearing_house import Result, Round
from chain.connection import Chain
from chain.contract import Event
from chain.events import events
from service import handlers
from service.background import opened
from service.handlers import BlockContext
from service.store import connect
from tests.service.market_fixtures import WINNING_UNITS, ClearedRound, indexed, table_rows

DASHBOARD_TABLES = ("rounds", "asks", "commitments", "revealed", "awards", "item_prices",
                    "losses", "futures")


@pytest.fixture
def isolated(chain: Chain, cleared: ClearedRound) -> Iterator[None]:
    taken = chain.snapshot()
    yield
    chain.revert_to(taken)


pytestmark = pytest.mark.usefixtures("isolated")




def test_the_round_row_agrees_with_the_chains_view_of_the_round(
        cleared: ClearedRound, tmp_path: Path) -> None:
    path = indexed(cleared, tmp_path / "market.sqlite")
    state = Round.read(cleared.market.house, cleared.round_id)
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT commit_deadline, reveal_deadline, post_deadline, challenge_end,"
            " standing_version, welfare_micro_usd, solver_status, priced_version, closed"
            " FROM rounds WHERE round_id = ?", (cleared.round_id,)).fetchone()
    deadlines = state.deadlines
    welfare = Result.read(cleared.market.house, cleared.round_id,
                          state.standing_version).welfare_micro_usd
    assert row == (deadlines.commit_timestamp, deadlines.reveal_timestamp,
                   deadlines.post_timestamp, state.challenge_end_timestamp,
                   state.standing_version, welfare, 1, state.standing_version, 1)


def test_commitments_awards_and_prices_are_the_chains(cleared: ClearedRound,
                                                      tmp_path: Path) -> None:
    path = indexed(cleared, tmp_path / "market.sqlite")
    market = cleared.market
    committed = {row[0]: row[2:4] for row in table_rows(path, "commitments")}
    assert committed == {market.digest(bid): (bid.bidder, bid.max_value_micro_usd)
                         for bid in (cleared.winner, cleared.outbid, cleared.below_reserve)}
    (award,) = table_rows(path, "awards")
    assert award[4:6] == (market.digest(cleared.winner), 0)
    (priced,) = events(market.system, market.house, "Priced", roundId=cleared.round_id)
    prices = [row[2] for row in table_rows(path, "item_prices")]
    assert prices == list(priced.args["itemPricesMicroUsd"])
    (future,) = table_rows(path, "futures")
    (issued,) = events(market.system, market.house, "Issued", roundId=cleared.round_id)
    assert future[7] == issued.args["paymentMicroUsd"]


def test_each_loser_has_the_reason_the_auctioneers_code_gives(cleared: ClearedRound,
                                                              tmp_path: Path) -> None:
    path = indexed(cleared, tmp_path / "market.sqlite")
    losses = {"0x" + row[0].hex(): row[2] for row in table_rows(path, "losses")}
    assert losses == cleared.reasons
    with sqlite3.connect(path) as db:
        (detail,) = db.execute("SELECT detail FROM losses WHERE reason = 'outbid'").fetchone()
    # Item 0 has 10 units: the winner's 6 leave 4, fewer than the 6 the loser asked for.
    assert detail == f"needs {WINNING_UNITS} units of 0, 4 left after higher-value bids"


def test_a_crash_mid_block_then_a_restart_stores_every_row_once(
        cleared: ClearedRound, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = indexed(cleared, tmp_path / "whole.sqlite")
    path = tmp_path / "market.sqlite"

    def crash(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
        raise RuntimeError("killed")

    # The closing block: the round's rows up to it are written, then the crash undoes the
    # transaction, which holds the whole round's blocks (a span from the deploy block).
    monkeypatch.setitem(handlers.HANDLERS, ("clearing_house", "Closed"), crash)
    with opened(cleared.market.system, path) as service, pytest.raises(RuntimeError):
        service.indexer.sync()
    assert table_rows(path, "losses") == table_rows(path, "commitments") == []
    monkeypatch.undo()
    with opened(cleared.market.system, path) as service:
        progress = service.indexer.sync()
        assert not progress.started_over
        service.indexer.sync()
    for table in DASHBOARD_TABLES:
        assert table_rows(path, table) == table_rows(whole, table), table


def test_a_store_of_the_schema_before_the_dashboards_starts_over(cleared: ClearedRound,
                                                                 tmp_path: Path) -> None:
    path = indexed(cleared, tmp_path / "market.sqlite")
    db = connect(path)
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.close()
    with opened(cleared.market.system, path) as service:
        assert service.indexer.started_over
        service.indexer.sync()
    assert len(table_rows(path, "losses")) == len(cleared.reasons)
