"""A round's whole life through the CLI against a Hardhat node started here — open, ask, bid,
reveal, close, clear and post, status, finalise, withdraw, futures — with the rejections a
user meets on the way. Here no oracle quorum prices the round, so once its pricing window has
passed every winner pays its reserve cost; pricing by the quorum through the CLI is in
tests/rcm/test_round_attacks_cli.py. Delivery, verdicts and slashing on a node:
tests/rcm/test_demo.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chain.amounts import grouped
from rcm.commands.tables import short
from tests.support import Cli, declaration, running_testnet

pytestmark = pytest.mark.hardhat
USD = 10**6
PHASE = 120
PRICING_WINDOW = 3_600  # the launch policy's
SLOT = {"region": "euw1", "slot": "2027-06-07", "slot_seconds": 604_800, "tier": "certified"}
ASKS = {"asks": [
    {**SLOT, "kind": "gpu", "unit": "gpu-week", "capacity": 8, "reserve_price": 100 * USD},
    {**SLOT, "kind": "power", "unit": "kW-week", "capacity": 10, "reserve_price": 10 * USD}]}


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    with running_testnet(tmp_path_factory.mktemp("market-cli")) as cli:
        for name in ("acme", "lab", "rival", "owner"):
            cli.ok("wallet", "new", name, rpc=False)
        cli.ok("testnet", "fund", "governance", "--cst", "200")
        cli.ok("testnet", "fund", "acme", "--cst", "200")
        cli.ok("testnet", "fund", "owner")
        for buyer in ("lab", "rival"):
            cli.ok("testnet", "fund", buyer, "--cst", "500", "--usd", "3000")
            cli.ok("wallet", "stake", buyer, "480")
        cli.ok("wallet", "bond", "governance", "100")
        cli.ok("wallet", "bond", "acme", "180")
        yield cli


def _bids(dataset: str, gpus: int, power: int, value_usd: int, **terms: Any
          ) -> dict[str, Any]:
    """A bid declaring the job in `declaration.json` beside the bid file."""
    return {"bids": [{"bundles": [{"items": {"0": gpus, "1": power}, "value": value_usd * USD}],
                      "epsilon_micros": 1_000_000, "delta": 1e-6, "dataset": dataset,
                      "declaration": "declaration.json", "purpose": "diagnostics",
                      "equity_class": "research", **terms}]}


def _file(tmp_path: Path, name: str, document: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def test_a_round_from_opening_to_withdrawal(cli: Cli, tmp_path: Path) -> None:
    registered = cli.json("wallet", "budget", "register", "owner", "--content-hash",
                          "0x" + "11" * 32, "--epsilon", "10", "--delta", "1e-5",
                          "--purpose", "diagnostics")
    dataset = registered["dataset"]
    for buyer in ("lab", "rival"):
        cli.ok("wallet", "budget", "grant", "owner", dataset, buyer, "2")

    opened = cli.json("round", "open", *(f"--{p}={PHASE}" for p in ("commit", "reveal", "post",
                                                                   "challenge")))
    round_id = str(opened["round"])
    _file(tmp_path, "declaration.json", declaration("diagnostics", "medium"))
    asked = cli.json("wallet", "ask", "acme", _file(tmp_path, "asks.json", ASKS),
                     "--round", round_id)
    assert asked["items"] == [0, 1]
    won = cli.json("wallet", "bid", "lab", _file(tmp_path, "lab.json", _bids(dataset, 8, 10,
                                                                             1_500)),
                   "--round", round_id)["bids"][0]["digest"]
    rival = _file(tmp_path, "rival.json", _bids(dataset, 6, 8, 1_200))
    nonce = cli.nonce("rival")
    checked = cli.json("wallet", "bid", "rival", rival, "--round", round_id, "--dry-run")
    assert cli.nonce("rival") == nonce
    assert checked["bids"][0]["deposit_micro_usd"] == 1_200 * USD
    assert (checked["bids"][0]["risk_bps"], checked["bids"][0]["score_bps"]) == (3_000, 3_000)
    understated = _file(tmp_path, "understated.json", _bids(dataset, 6, 8, 1_200, risk_bps=2_999))
    cli.rejects("wallet", "bid", "rival", understated, "--round", round_id,
                match="bids[0].risk_bps: below the rubric's score 3000")
    committed = cli.json("wallet", "bid", "rival", rival, "--round", round_id)["bids"][0]
    assert committed["stake_wei"] == checked["bids"][0]["stake_wei"]
    lost = committed["digest"]
    nonce = cli.nonce("lab")
    bad = _file(tmp_path, "bad.json", {"bids": [{"bundles": [{"items": {"7": 1}, "value": 1}],
                                                 "declaration": declaration()}]})
    cli.rejects("wallet", "bid", "lab", bad, "--round", round_id, match="has no item 7")
    # Issue 18: committed, with its deposit and stake locked until the round was final.
    greedy = _file(tmp_path, "greedy.json", _bids(dataset, 1_000, 10, 1_500))
    cannot_win = ("bids[0].bundles[0].items: can never win (malformed): needs 1000 units of "
                  "item 0, which offers 8")
    cli.rejects("wallet", "bid", "lab", greedy, "--round", round_id, match=cannot_win)
    # A dry run refuses what the real command would, as it would, and sends nothing.
    cli.rejects("wallet", "bid", "lab", greedy, "--round", round_id, "--dry-run",
                match=cannot_win)
    assert cli.nonce("lab") == nonce
    status = cli.json("round", "status", round_id)
    assert [b["status"] for b in status["bids"]] == ["committed", "committed"]

    cli.ok("testnet", "advance", str(PHASE + 1))
    late = _file(tmp_path, "late.json", _bids(dataset, 1, 1, 200))
    cli.rejects("wallet", "bid", "lab", late, "--round", round_id,
                match="is in its reveal phase; bid needs the commit phase")
    for buyer in ("lab", "rival"):
        cli.ok("wallet", "reveal", buyer, "--round", round_id)
    cli.rejects("wallet", "reveal", "lab", "--round", round_id, match="waiting to be revealed")

    cli.ok("testnet", "advance", str(PHASE))
    assert cli.json("round", "close", round_id)["forfeited_count"] == 0
    shown = cli.ok("auction", "run", "--round", round_id, "--workers", "1")
    cleared = cli.json("auction", "run", "--round", round_id)  # safe to retry: sends nothing
    assert cleared["status"] == "optimal" and cleared["tx"] == []
    assert [fill["bid"] for fill in cleared["allocation"]] == [won]
    # What the README says it prints: each winner's payment, after the transaction it sent.
    (payment,) = cleared["payments"]
    said = " ".join(shown.split())
    assert re.match(r"round \d+: optimal, 1 winner, welfare [\d,]+\.\d\d USD; posted in 1 "
                    r"transaction tx 0x[0-9a-f]{64} ", said), shown
    assert f"{short(won)} lab won bundle 0 {grouped(payment['total_micro_usd'], 'usd')}" in said
    assert f"{short(lost)} rival lost: outbid" in said
    status = cli.json("round", "status", round_id)
    outcomes = {b["digest"]: b["outcome"] for b in status["bids"]}
    assert outcomes[won] == "won bundle 0" and outcomes[lost].startswith("lost: outbid")
    # Its record says 0 until the future is issued: the winner's payment is pending.
    assert [b["payment_micro_usd"] for b in status["bids"] if b["digest"] == won] == [0]
    assert "pending until priced" in " ".join(cli.ok("round", "status", round_id).split())

    cli.ok("testnet", "advance", str(2 * PHASE))
    cli.rejects("round", "finalise", round_id,
                match="is in its price phase; settling needs the final phase")
    cli.ok("testnet", "advance", str(PRICING_WINDOW))
    cli.ok("round", "finalise", round_id)
    assert cli.json("wallet", "withdraw", "rival")["usd_micro_usd"] == 1_200 * USD
    cli.rejects("wallet", "withdraw", "rival", match="nothing to withdraw")
    futures = cli.json("wallet", "futures", "lab")
    assert [(f["id"], f["status"]) for f in futures] == [(won, "unclaimed")]
    # Unpriced: the winner pays its units at the ask's reserve prices.
    assert futures[0]["payment_micro_usd"] == 8 * 100 * USD + 10 * 10 * USD


def test_a_policy_pins_the_rubric_it_names_and_a_rubric_that_is_not_monotone_sends_nothing(
        cli: Cli, tmp_path: Path) -> None:
    from risk.rubric import DEFAULT_RUBRIC, rubric_hash

    launch = cli.json("round", "policy")
    assert launch["rubric"] is None  # the launch rubric `testnet start` registered
    launch_source = DEFAULT_RUBRIC.read_bytes()
    policy_file = _file(tmp_path, "policy.json", {"rubric": "rubrics/bad.toml"})
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "bad.toml").write_bytes(launch_source.replace(
        b"weights = { bps = 1500", b"weights = { bps = 100"))
    nonce = cli.nonce("governance")
    cli.rejects("round", "policy", policy_file,
                match="release.weights.bps: must be at least release.api.bps (500)")
    assert cli.nonce("governance") == nonce
    stricter = launch_source.replace(b"[base]\nbps = 1000", b"[base]\nbps = 1500")
    (tmp_path / "rubrics" / "stricter.toml").write_bytes(stricter)
    _file(tmp_path, "policy.json", {"rubric": "rubrics/stricter.toml"})
    registered = cli.json("round", "policy", policy_file)
    assert registered["policy_id"] == launch["policy_id"] + 1
    digest = "0x" + rubric_hash(stricter).hex()
    assert (cli.home / "rubrics" / f"{digest}.toml").read_bytes() == stricter
    # Printed with the rubric's hash, the current policy registers as it is.
    current = tmp_path / "current.json"
    current.write_text(cli.ok("round", "policy"))
    assert json.loads(current.read_text())["rubric"] == digest
    assert cli.json("round", "policy", str(current))["policy_id"] == launch["policy_id"] + 2
