"""Choosing k matching, registered, correctly signed verdicts out of the nodes' answers."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.policy_oracle import OracleSet
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from oracle.node.models import VerdictPublic
from oracle.quorum import NodeAnswer, NoQuorum, as_verdict, choose

DOMAIN = verdict_domain(31337, "0x" + "ab" * 20)
DIGEST = b"\x07" * 32
JOB = "0x" + "01" * 32
NODES = [Account.from_key(bytes([0x60 + i]) * 32) for i in range(4)]
SIGNERS = OracleSet(DOMAIN, frozenset(n.address.lower() for n in NODES), 3)


def _answer(node: LocalAccount, compliant: bool, signer: str | None = None) -> NodeAnswer:
    failed = [] if compliant else ["regulator.epsilon_claim"]
    verdict = Verdict(
        bytes.fromhex(JOB[2:]),
        compliant,
        Fault.NONE if compliant else Fault.BUYER,
        clauses_hash(failed),
        DIGEST,
    )
    public = VerdictPublic(
        job=JOB,
        verdict="compliant" if compliant else "violation",
        clauses=[],
        fault="none" if compliant else "buyer",
        nonce="n",
        epsilon=1.0,
        clauses_hash="0x" + verdict.clauses_hash.hex(),
        config_digest="0x" + DIGEST.hex(),
        chain_id=DOMAIN.chain_id,
        policy_oracle=DOMAIN.verifying_contract,
        signer=signer or node.address,
        signature="0x" + sign_verdict(node, DOMAIN, verdict).hex(),
    )
    assert as_verdict(public) == verdict
    return NodeAnswer(f"http://node-{node.address[:6]}", public)


def test_k_matching_signatures_make_a_quorum() -> None:
    answers = [_answer(n, compliant=True) for n in NODES[:3]] + [_answer(NODES[3], False)]
    quorum = choose(answers, SIGNERS)
    assert quorum.verdict.compliant
    assert {s for s, _ in quorum.signatures} == {n.address for n in NODES[:3]}


def test_a_split_below_k_is_no_quorum_and_says_the_tally() -> None:
    answers = [_answer(n, compliant=True) for n in NODES[:2]] + [_answer(NODES[2], False)]
    answers.append(NodeAnswer("http://down", None, "unreachable (ConnectError)"))
    tally = r"k=3 .*compliant \(none\): 2, violation \(buyer\): 1.*down"
    with pytest.raises(NoQuorum, match=tally):
        choose(answers, SIGNERS)


def test_one_refusal_from_every_node_is_said_once() -> None:
    refusal = "409: round 2 is not final until 1767225600"
    answers = [NodeAnswer(f"http://node-{i}", None, refusal) for i in range(3)]
    answers_of_two = [*answers[:2], NodeAnswer("http://down", None, "unreachable (ConnectError)")]
    with pytest.raises(NoQuorum) as every:
        choose(answers, SIGNERS)
    with pytest.raises(NoQuorum) as some:
        choose(answers_of_two, SIGNERS)
    assert str(every.value).endswith(f"k=3 matching signatures [none]; all 3 nodes: {refusal}")
    assert str(some.value).endswith(
        f"http://node-0, http://node-1: {refusal}; http://down: unreachable (ConnectError)")


def test_outsiders_and_lying_signer_fields_do_not_count() -> None:
    stranger = Account.create()
    answers = [_answer(n, True) for n in NODES[:2]]
    answers.append(_answer(stranger, True))  # validly signed, but not a registered signer
    answers.append(_answer(stranger, True, signer=NODES[2].address))  # claims to be a member
    with pytest.raises(NoQuorum, match="not from a registered signer"):
        choose(answers, SIGNERS)


def test_a_node_answering_twice_counts_once() -> None:
    answers = [_answer(NODES[0], True), _answer(NODES[0], True), _answer(NODES[1], True)]
    with pytest.raises(NoQuorum, match=r"compliant \(none\): 2"):
        choose(answers, SIGNERS)


def test_signatures_under_another_domain_do_not_count() -> None:
    other = verdict_domain(1, DOMAIN.verifying_contract)
    answers = [_answer(n, True) for n in NODES[:3]]
    with pytest.raises(NoQuorum):
        choose(answers, replace(SIGNERS, domain=other))
