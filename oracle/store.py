"""A node's memory of what it signed: one verdict per job and per nonce, in SQLite (WAL).

Durability: WAL with synchronous=NORMAL survives the process being killed at any point (a
committed transaction is in the OS's page cache before the response is sent); only a power
loss can drop the last commits. That is acceptable here because a verdict is a deterministic
function of the attestation and the policies, and RFC 6979 signatures are deterministic too:
a node that lost a record and is shown the attestation again signs the very same bytes.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    job         TEXT PRIMARY KEY,
    nonce       TEXT NOT NULL UNIQUE,
    verdict     TEXT NOT NULL,     -- the signed verdict, as served (JSON)
    attestation TEXT NOT NULL,     -- what it was judged on, for audit (JSON)
    judged_at   INTEGER NOT NULL
) STRICT;
"""


@dataclass(frozen=True)
class StoredVerdict:
    job: str
    nonce: str
    verdict: str


class VerdictStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the server's worker threads, serialised by a lock: writes
        # are single-row and short, so a pool would only add lock contention inside SQLite.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(SCHEMA)

    def find(self, job: str, nonce: str) -> StoredVerdict | None:
        """The verdict already held for this job or this nonce, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT job, nonce, verdict FROM verdicts WHERE job = ? OR nonce = ? LIMIT 1",
                (job, nonce),
            ).fetchone()
        return None if row is None else StoredVerdict(*row)

    def insert(
        self, job: str, nonce: str, verdict: str, attestation: str, judged_at: int
    ) -> StoredVerdict | None:
        """Stores the verdict, or, if the job or nonce already has one, returns that one."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO verdicts (job, nonce, verdict, attestation, judged_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (job, nonce, verdict, attestation, judged_at),
            )
            inserted = cursor.rowcount == 1
        return None if inserted else self.find(job, nonce)

    def verdict(self, job: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT verdict FROM verdicts WHERE job = ?", (job,)).fetchone()
        return None if row is None else str(row[0])

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM verdicts").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
