"""oracle.store: one verdict per job and per nonce, kept across restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from oracle.store import StoredVerdict, VerdictStore


def test_a_stored_verdict_is_found_by_job_and_by_nonce(tmp_path: Path) -> None:
    store = VerdictStore(tmp_path / "node.sqlite")
    assert store.insert("0xjob", "0xnonce", '{"v": 1}', "{}", 0) is None
    held = StoredVerdict("0xjob", "0xnonce", '{"v": 1}')
    assert store.find("0xjob", "0xother") == held
    assert store.find("0xother", "0xnonce") == held
    assert store.verdict("0xjob") == '{"v": 1}'
    assert store.count() == 1


def test_a_second_verdict_for_a_nonce_or_job_is_not_stored(tmp_path: Path) -> None:
    store = VerdictStore(tmp_path / "node.sqlite")
    store.insert("0xjob", "0xnonce", '{"v": 1}', "{}", 0)
    held = StoredVerdict("0xjob", "0xnonce", '{"v": 1}')
    assert store.insert("0xother-job", "0xnonce", '{"v": 2}', "{}", 0) == held
    assert store.insert("0xjob", "0xother-nonce", '{"v": 3}', "{}", 0) == held
    assert store.count() == 1


def test_verdicts_outlive_the_store(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    first = VerdictStore(path)
    first.insert("0xjob", "0xnonce", '{"v": 1}', "{}", 0)
    first.close()
    assert VerdictStore(path).verdict("0xjob") == '{"v": 1}'


def test_the_database_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    VerdictStore(path)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
