"""The verdicts page's failed clauses (`service.clauses`) on the dashboard's market, whose
violation the quorum signed with `clausesHash` of `regulator.epsilon_claim`: a real oracle node
that judged the job (understated ε) gives them and the page shows them; a node whose ids do
not hash to the chain's is ignored, however it words its answer; a node's reason is shown as
text; nodes that do not answer leave the hash on a page that still works, and are asked again
only after `retry_seconds`."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from chain.verdict import clauses_hash
from oracle.attester import attest, new_enclave
from oracle.config import init_oracle_dir, read_node_config
from oracle.node.background import serving as serving_node
from oracle.node.models import ClausePublic, VerdictPublic
from oracle.node.spawn import free_port
from service.app import create_app
from service.background import opened, polling
from service.clauses import ClauseLearner, proven_clauses
from service.store import connect
from tests.oracle.factories import PASSWORD, evidence
from tests.service.market_fixtures import FAILED_CLAUSES, ClearedRound, JudgedJob, indexed

HOSTILE = "<script>alert(1)</script>"
RETRY_SECONDS = 30.0


@pytest.fixture(scope="module")
def honest(judged: JudgedJob, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, VerdictPublic]]:
    """A real oracle node (in this process, over loopback HTTP) that judged the job from its
    enclave's attestation of an understated ε: its URL and the verdict it signed."""
    directory = tmp_path_factory.mktemp("oracle")
    enclave = new_enclave()
    root = directory / "root.pem"
    root.write_text(enclave.cert_chain[-1])
    init_oracle_dir(directory / "set", nodes=1, threshold=1, trust_roots=[root],
                    password=lambda: PASSWORD)
    config = read_node_config(directory / "set" / "node-1.toml")
    attestation = attest(enclave, evidence(job=judged.job, claimed_epsilon=0.5))
    with serving_node(config, PASSWORD) as url:
        answer = httpx.post(f"{url}/attestations", json=attestation.model_dump(mode="json"))
        assert answer.status_code == 201, answer.text
        yield url, VerdictPublic.model_validate_json(answer.content)


@dataclass
class Adversary:
    """A node that answers `GET /verdicts/{job}` with whatever the test sets, and counts the
    questions."""

    url: str = ""
    answer: VerdictPublic | None = None
    asked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture(scope="module")
def adversary() -> Iterator[Adversary]:
    import uvicorn

    held = Adversary()
    app = FastAPI()

    @app.get("/verdicts/{job}")
    def verdict(job: str) -> Response:
        with held.lock:
            held.asked += 1
        if held.answer is None:
            return JSONResponse({"detail": "down for maintenance"}, 503)
        return JSONResponse(held.answer.model_dump(mode="json"))

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.02)
    held.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    yield held
    server.should_exit = True
    thread.join()


@pytest.fixture
def lying(adversary: Adversary) -> Iterator[Adversary]:
    """The adversary, starting each test down and unasked."""
    adversary.answer, adversary.asked = None, 0
    yield adversary
    adversary.answer = None


@pytest.fixture(scope="module")
def indexed_store(cleared: ClearedRound, judged: JudgedJob,
                  tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed(cleared, tmp_path_factory.mktemp("index") / "market.sqlite")


@pytest.fixture
def store(indexed_store: Path, tmp_path: Path) -> Path:
    """A copy of the index for one test."""
    return Path(shutil.copy(indexed_store, tmp_path / "market.sqlite"))


@contextmanager
def dashboard(cleared: ClearedRound, store: Path) -> Iterator[TestClient]:
    with opened(cleared.market.system, store) as service, \
            TestClient(create_app(service.relay)) as client:
        yield client


def learner(store: Path, nodes: list[str], clock: Any = time.monotonic) -> ClauseLearner:
    return ClauseLearner(connect(store), nodes, timeout_seconds=1.0,
                         retry_seconds=RETRY_SECONDS, clock=clock)


def test_a_violations_clauses_show_once_a_node_that_judged_it_answers(
        cleared: ClearedRound, judged: JudgedJob, honest: tuple[str, VerdictPublic],
        store: Path) -> None:
    url, signed = honest
    assert [clause.id for clause in signed.clauses] == FAILED_CLAUSES
    with opened(cleared.market.system, store, nodes=[url]) as service, \
            polling(service.indexer, 0.05, service.clauses), \
            TestClient(create_app(service.relay)) as client:
        deadline = time.monotonic() + 5
        while (shown := client.get("/verdicts.json").json()["verdicts"][0])[
                "failed_clauses"] is None:
            assert time.monotonic() < deadline, "the node's clauses never showed"
            time.sleep(0.05)
        html = client.get("/verdicts").text
    (clause,) = signed.clauses
    assert shown == {**shown, "job": judged.job,
                     "clauses_hash": "0x" + judged.failed_clauses_hash.hex(),
                     "failed_clauses": [{"id": clause.id, "reason": clause.reason}],
                     "clauses_from": url}
    assert f'<code class="clause">{clause.id}</code>' in html
    assert f"reasons as {url} gave them" in html


def test_a_node_whose_clauses_do_not_hash_to_the_chains_is_ignored(
        cleared: ClearedRound, judged: JudgedJob, honest: tuple[str, VerdictPublic],
        lying: Adversary, store: Path) -> None:
    url, signed = honest
    # It names another clause, and claims the chain's hash for it.
    lying.answer = signed.model_copy(update={
        "clauses": [ClausePublic(id="provider.capacity_short", reason="short", fault="provider")],
        "clauses_hash": "0x" + judged.failed_clauses_hash.hex()})
    assert learner(store, [lying.url]).learn() == 0
    with dashboard(cleared, store) as client:
        (shown,) = client.get("/verdicts.json").json()["verdicts"]
        html = client.get("/verdicts").text
    assert (shown["failed_clauses"], shown["clauses_from"]) == (None, None)
    assert "provider.capacity_short" not in html
    assert f'title="0x{judged.failed_clauses_hash.hex()}: no oracle node' in html
    # The next node, which tells the truth, is enough.
    assert learner(store, [lying.url, url]).learn() == 1
    with dashboard(cleared, store) as client:
        (shown,) = client.get("/verdicts.json").json()["verdicts"]
    assert [c["id"] for c in shown["failed_clauses"]] == FAILED_CLAUSES
    assert shown["clauses_from"] == url


def test_a_nodes_reason_is_shown_as_text(
        cleared: ClearedRound, honest: tuple[str, VerdictPublic], lying: Adversary,
        store: Path) -> None:
    """The hash proves the ids, not the reasons: a node's reason is its word, and markup."""
    _, signed = honest
    lying.answer = signed.model_copy(update={"clauses": [
        clause.model_copy(update={"reason": HOSTILE}) for clause in signed.clauses]})
    assert learner(store, [lying.url]).learn() == 1
    with dashboard(cleared, store) as client:
        (shown,) = client.get("/verdicts.json").json()["verdicts"]
        html = client.get("/verdicts").text
    assert shown["failed_clauses"] == [{"id": FAILED_CLAUSES[0], "reason": HOSTILE}]
    assert shown["clauses_from"] == lying.url
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unreachable_nodes_leave_the_hash_and_are_asked_again_only_after_a_while(
        cleared: ClearedRound, judged: JudgedJob, honest: tuple[str, VerdictPublic],
        lying: Adversary, store: Path) -> None:
    now = [0.0]
    learning = learner(store, [f"http://127.0.0.1:{free_port()}", lying.url],
                       clock=lambda: now[0])
    assert learning.learn() == 0  # nobody listens on the first; the second answers 503
    assert lying.asked == 1
    with dashboard(cleared, store) as client:
        response = client.get("/verdicts")
        (shown,) = client.get("/verdicts.json").json()["verdicts"]
    assert response.status_code == 200
    assert f'title="0x{judged.failed_clauses_hash.hex()}: no oracle node' in response.text
    assert (shown["clauses_hash"], shown["failed_clauses"], shown["clauses_from"]) == (
        "0x" + judged.failed_clauses_hash.hex(), None, None)
    lying.answer = honest[1]
    now[0] += RETRY_SECONDS - 1
    assert learning.learn() == 0 and lying.asked == 1
    now[0] += 1
    assert learning.learn() == 1 and lying.asked == 2
    assert learning.learn() == 0 and lying.asked == 2  # known now: never asked again


def test_the_verdicts_json_carries_the_failed_clauses_beside_the_hash(
        cleared: ClearedRound, store: Path) -> None:
    with dashboard(cleared, store) as client:
        (shown,) = client.get("/verdicts.json").json()["verdicts"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert list(shown)[4:7] == ["clauses_hash", "failed_clauses", "clauses_from"]
    assert set(schema["FailedClausePublic"]["properties"]) == {"id", "reason"}


def _answer(job: str, *clauses: tuple[str, str]) -> VerdictPublic:
    return VerdictPublic(
        job=job, verdict="violation", fault="buyer", nonce="0x" + "00" * 32, epsilon=1.0,
        clauses=[ClausePublic(id=i, reason=r, fault="buyer") for i, r in clauses],
        clauses_hash="0x" + "00" * 32, config_digest="0x" + "00" * 32, chain_id=1,
        policy_oracle="0x" + "00" * 20, signer="0x" + "00" * 20, signature="0x")


def test_proven_clauses_are_one_per_id_of_the_job_asked_about_and_ascii() -> None:
    job = bytes(range(32))
    expected = clauses_hash(["b.two", "a.one"])
    answer = _answer("0x" + job.hex(), ("b.two", "2"), ("a.one", "1"), ("b.two", "again"))
    assert proven_clauses(answer, job, expected) == [("a.one", "1"), ("b.two", "2")]
    assert proven_clauses(answer, bytes(32), expected) is None  # another job's answer
    assert proven_clauses(_answer("0x" + job.hex(), ("a.oné", "")), job, expected) is None
    assert proven_clauses(_answer("0x" + job.hex(), ("a.one", "1")), job, expected) is None
