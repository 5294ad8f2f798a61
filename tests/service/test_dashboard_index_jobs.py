"""The indexer's tables of futures, verdicts and the safety vault's moves, on the dashboard's
market after a redeemed future was judged a violation at its buyer's fault: they agree with
the chain's own reads, a job left without a verdict times out, and a crash mid-block followed
by a restart stores every row once."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import Bundle
from chain.connection import Chain
from chain.contract import Event
from chain.settlement import Status
from chain.verdict import Fault
from service import handlers
from service.background import opened
from service.handlers import BlockContext
from tests.contracts.settlement_fixtures import ASKS, USD, VERDICT_WINDOW
from tests.service.market_fixtures import ClearedRound, JudgedJob, indexed, table_rows
from tests.support import event_args

JOB_TABLES = ("futures", "verdicts", "vault_moves")


@pytest.fixture
def isolated(chain: Chain, judged: JudgedJob) -> Iterator[None]:
    taken = chain.snapshot()
    yield
    chain.revert_to(taken)


pytestmark = pytest.mark.usefixtures("isolated")




def test_the_judged_future_is_voided_and_its_redeemer_recorded(
        cleared: ClearedRound, judged: JudgedJob, tmp_path: Path) -> None:
    path = indexed(cleared, tmp_path / "market.sqlite")
    digest = cleared.market.digest(cleared.winner)
    assert cleared.market.record(digest).status is Status.VOIDED
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT status, claimed, holder, redeemer FROM futures"
                         " WHERE future_id = ?", (digest,)).fetchone()
    # Carol's token was burned when she redeemed it.
    assert row == ("voided", 1, None, judged.redeemer)


def test_the_verdict_row_is_the_quorums_and_what_it_moved(
        cleared: ClearedRound, judged: JudgedJob, tmp_path: Path) -> None:
    path = indexed(cleared, tmp_path / "market.sqlite")
    (row,) = table_rows(path, "verdicts")
    assert row[:5] == (bytes.fromhex(judged.job[2:]), "violation", Fault.BUYER,
                       judged.failed_clauses_hash, json.dumps(judged.signers))
    # At the buyer's fault the provider is paid, and only the redeemer's stake is burned.
    assert row[5:9] == (cleared.market.provider.address, judged.paid_micro_usd,
                        str(judged.stake_burned_wei), "0")
    assert judged.paid == cleared.market.provider.address
    assert judged.stake_burned_wei == cleared.market.stake_of(bytes.fromhex(judged.job[2:]))
    assert judged.stake_burned_wei > 0


def test_each_accounts_vault_moves_add_up_to_its_stake_in_the_vault(
        cleared: ClearedRound, judged: JudgedJob, tmp_path: Path) -> None:
    path = indexed(cleared, tmp_path / "market.sqlite")
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for *_, account, kind, amount, _ in table_rows(path, "vault_moves"):
        totals[account][kind] += int(amount)
    assert totals[judged.redeemer]["stake_burned"] == judged.stake_burned_wei
    for account, moved in totals.items():
        balance = cleared.market.vault_balance(account)
        assert (balance.free_wei, balance.locked_wei) == (
            moved["staked"] - moved["unstaked"] - moved["stake_locked"]
            + moved["stake_released"],
            moved["stake_locked"] - moved["stake_released"] - moved["stake_burned"]), account


def test_a_job_without_a_verdict_by_its_deadline_times_out(
        cleared: ClearedRound, buyer: LocalAccount, tmp_path: Path) -> None:
    market = cleared.market
    round_id = market.open_round()
    bid = market.bid(buyer, round_id, Bundle((0,), (1,), 20 * USD), nonce=10)
    market.fill(round_id, buyer, [bid])
    market.settle(round_id)
    market.redeem(bid, buyer)
    digest = market.digest(bid)
    deadline = ASKS[0].slot_start_timestamp + ASKS[0].slot_seconds + VERDICT_WINDOW
    market.chain.advance_time(deadline + 1 - market.now())
    receipt = market.chain.send(market.house.functions.timeOut([digest]), market.governance)
    (timed_out,) = event_args(market.house, receipt, "TimedOut")
    path = indexed(cleared, tmp_path / "market.sqlite")
    with sqlite3.connect(path) as db:
        verdict = db.execute("SELECT outcome, signers, paid, paid_micro_usd, stake_burned_wei,"
                             " bond_burned_wei FROM verdicts WHERE job_id = ?",
                             (digest,)).fetchone()
        (status,) = db.execute("SELECT status FROM futures WHERE future_id = ?",
                               (digest,)).fetchone()
    assert verdict == ("timed_out", "[]", None, timed_out["paymentMicroUsd"],
                       str(timed_out["burnedStakeWei"]), str(timed_out["burnedBondWei"]))
    assert status == "timed_out"


def test_a_crash_in_the_verdicts_block_then_a_restart_stores_every_row_once(
        cleared: ClearedRound, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = indexed(cleared, tmp_path / "whole.sqlite")
    path = tmp_path / "market.sqlite"

    def crash(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
        raise RuntimeError("killed")

    # The verdict's block: `VerdictAccepted` and the vault's burn are written, then the crash.
    monkeypatch.setitem(handlers.HANDLERS, ("clearing_house", "VerdictEnforced"), crash)
    with opened(cleared.market.system, path) as service, pytest.raises(RuntimeError):
        service.indexer.sync()
    assert table_rows(path, "verdicts") == []
    assert "stake_burned" not in {row[4] for row in table_rows(path, "vault_moves")}
    monkeypatch.undo()
    with opened(cleared.market.system, path) as service:
        assert not service.indexer.sync().started_over
        service.indexer.sync()
    for table in JOB_TABLES:
        assert table_rows(path, table) == table_rows(whole, table), table
