"""`rcm demo` on the embedded chain: every step's heading, and the arithmetic of the story."""

from __future__ import annotations

import io

from rich.console import Console

from rcm import demo


def test_demo_audits_a_compliant_job_then_slashes_an_understated_epsilon() -> None:
    out = io.StringIO()
    summary = demo.run(None, Console(file=out, width=120))
    text = out.getvalue()
    for step in (
        "deploy",
        "clear",
        "oracle",
        "stake",
        "audit",
        "attest",
        "verdict",
        "lock",
        "slash",
    ):
        assert f"{step} —" in text
    clearing = summary["clearing"]
    assert clearing["status"] == "optimal" and clearing["winners"]
    # Every bid is either filled or told why not.
    assert set(clearing["winners"]).isdisjoint(clearing["losing"])
    safety = summary["safety"]
    # 60 % of 40 USD at 1 CST per USD = 24 CST; one passed audit (score 100 of a
    # half-discount score of 200) gives 5000·100/300 = 1666 bps off.
    assert safety["required_stake"] == 24 * 10**18
    assert safety["discounted_stake"] == 24 * 10**18 * (10_000 - 1_666) // 10_000
    assert safety["violation_clauses"] == ["regulator.epsilon_claim"]
    assert safety["burned"] == safety["discounted_stake"]
    assert safety["buyer_score"] == 0
