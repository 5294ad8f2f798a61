"""`rcm demo` on the embedded chain: every step's heading, and the arithmetic of the slash."""

from __future__ import annotations

import io

from rich.console import Console

from rcm import demo


def test_demo_runs_the_safety_spine_and_burns_the_discounted_stake() -> None:
    out = io.StringIO()
    summary = demo.run(None, Console(file=out, width=120))
    text = out.getvalue()
    for step in ("deploy", "stake", "audit", "lock", "slash"):
        assert f"{step} —" in text
    safety = summary["safety"]
    # 60 % of 40 USD at 1 CST per USD = 24 CST; three audits (score 300) give 30 % off.
    assert safety["required_stake"] == 24 * 10**18
    assert safety["discounted_stake"] == 24 * 10**18 * 7 // 10
    assert safety["burned"] == safety["discounted_stake"]
