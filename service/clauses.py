"""The failed clauses of each violation verdict, learned from the oracle nodes and kept only
when the chain proves them.

The chain holds only `clausesHash` (`chain.verdict.clauses_hash` of the failed ids); the nodes
that judged the job hold the ids and a reason for each (`GET /verdicts/{job}`). A node's ids
are stored only if they hash to the verdict's `clausesHash` as indexed, so a lying or stale
node cannot put a clause on the page: forging ids for a given hash is a keccak preimage. The
reasons are not covered by the hash; they are kept as the one node's word, with its URL, and
the page says so.

It runs on the indexer's thread after each sync, never on a page's request: a node that hangs
costs the dashboard nothing but a later answer."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Sequence

import httpx
from pydantic import ValidationError

from chain.verdict import clauses_hash
from oracle.node.models import VerdictPublic

ASK_TIMEOUT_SECONDS = 2.0
# A job whose clauses no node proved is asked about again only after this long: a dead or
# lying node set would otherwise cost every poll a round of requests per verdict.
RETRY_SECONDS = 30.0
# Jobs asked about per pass, newest first: a backlog of thousands behind dead nodes must not
# hold the indexer's thread for thousands of timeouts.
JOBS_PER_PASS = 20
# An honest answer is a few KB; a node is free to send gigabytes.
MAX_ANSWER_BYTES = 64_000
MAX_REASON_CHARS = 500

# Violations whose proven clauses are not stored, newest first.
_UNKNOWN = """
SELECT v.job_id, v.clauses_hash FROM verdicts v
WHERE v.outcome = 'violation' AND v.clauses_hash IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM verdict_clauses c WHERE c.job_id = v.job_id AND c.clauses_hash = v.clauses_hash)
ORDER BY v.decided_at DESC, v.job_id
"""
# Stored only while the verdict indexed still has that hash: a reorg may have replaced it
# since the question was asked.
_STORE = """
INSERT OR REPLACE INTO verdict_clauses (job_id, clauses_hash, clauses, node)
SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM verdicts WHERE job_id = ? AND clauses_hash = ?)
"""


class _Unreachable(Exception):
    pass


def proven_clauses(answer: VerdictPublic, job_id: bytes, expected_hash: bytes
                   ) -> list[tuple[str, str]] | None:
    """The (id, reason) pairs of `answer`, sorted by id and one per id, if it is about `job_id`
    and its ids hash to `expected_hash`; else None."""
    if answer.job.lower() != "0x" + job_id.hex():
        return None
    try:
        if clauses_hash(clause.id for clause in answer.clauses) != expected_hash:
            return None
    except UnicodeEncodeError:  # an id no honest node signs: clause ids are ASCII
        return None
    reasons: dict[str, str] = {}
    for clause in answer.clauses:
        reasons.setdefault(clause.id, clause.reason[:MAX_REASON_CHARS])
    return sorted(reasons.items())


class ClauseLearner:
    """Asks `nodes` (base URLs) through its own connection `db` to the store; with no node it
    learns nothing."""

    def __init__(self, db: sqlite3.Connection, nodes: Sequence[str],
                 timeout_seconds: float = ASK_TIMEOUT_SECONDS,
                 retry_seconds: float = RETRY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db, self.nodes = db, [node.rstrip("/") for node in nodes]
        self.timeout_seconds, self.retry_seconds, self.clock = (
            timeout_seconds, retry_seconds, clock)
        self.asked: dict[bytes, float] = {}  # job → when it was last asked about

    def learn(self) -> int:
        """Asks the nodes, in order, about each violation whose clauses are unknown and that
        was not asked about within `retry_seconds` (at most `JOBS_PER_PASS`), until one node's
        answer is proven; stores it. A node that does not answer is not asked again in this
        pass. Returns how many verdicts' clauses were stored."""
        if not self.nodes:
            return 0
        now = self.clock()
        due = [(job, expected) for job, expected in self.db.execute(_UNKNOWN).fetchall()
               if now - self.asked.get(job, -math.inf) >= self.retry_seconds][:JOBS_PER_PASS]
        learned, down = 0, set()
        with httpx.Client(timeout=self.timeout_seconds) as client:
            for job, expected in due:
                self.asked[job] = now
                for node in self.nodes:
                    if node in down:
                        continue
                    try:
                        answer = _ask(client, node, job, self.timeout_seconds)
                    except _Unreachable:
                        down.add(node)
                        continue
                    clauses = None if answer is None else proven_clauses(answer, job, expected)
                    if clauses is not None:
                        self._store(job, expected, clauses, node)
                        self.asked.pop(job)
                        learned += 1
                        break
        return learned

    def _store(self, job: bytes, expected: bytes, clauses: list[tuple[str, str]],
               node: str) -> None:
        shown = json.dumps([{"id": clause, "reason": reason} for clause, reason in clauses])
        self.db.execute(_STORE, (job, expected, shown, node, job, expected))


def _ask(client: httpx.Client, node: str, job: bytes, timeout_seconds: float
         ) -> VerdictPublic | None:
    """The verdict `node` says it signed for `job`, or None for a refusal or an answer that is
    no verdict. Raises _Unreachable when the node does not answer whole within
    `timeout_seconds`: a node that drips a byte a second is as good as down."""
    body, deadline = b"", time.monotonic() + timeout_seconds
    try:
        with client.stream("GET", f"{node}/verdicts/0x{job.hex()}") as response:
            if response.status_code != 200:
                return None
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    return None
                if time.monotonic() > deadline:
                    raise _Unreachable(node)
    except httpx.HTTPError as exc:
        raise _Unreachable(node) from exc
    try:
        return VerdictPublic.model_validate_json(body)
    except ValidationError:
        return None
