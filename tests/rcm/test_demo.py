"""`rcm demo --rpc` on a Hardhat node started here (the embedded chain runs the same code; a
node is faster): every step's heading, and the closing balances checked against the
arithmetic of the story (payments, change, resale, fees, burns, budgets)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chain.policy import LAUNCH_RATES
from market.examples import consortium_instance
from rcm.demo import RISK_VIOLATOR_BID, VIOLATOR_BID
from tests.rcm.test_json_convention import check_document
from tests.support import running_testnet

pytestmark = pytest.mark.hardhat

CST = 10**18
STEPS = ("deploy", "oracle", "budget", "stake", "bid", "clear", "price", "settle",
         "future", "resale", "attest", "verdict", "slash", "reputation", "summary")
# The consortium's providers by (tier, region): who runs each winner's bundle. The resold
# future's provider runs the risk violator's job too; the last has two futures undelivered.
RESOLD_PROVIDER, VIOLATION_PROVIDER = "helix-enclaves", "commodity-cloud-eu"
UNDELIVERED_PROVIDER = "commodity-cloud-us"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """The demo's headings and tables (stderr with --json) and its closing summary. The demo
    leaves the user's RCM_HOME as it found it: its manifests, bids and rounds are its own."""
    home = tmp_path_factory.mktemp("demo")
    with running_testnet(home) as cli:
        before = _files(home)
        done = cli("demo", "--json")
        after = _files(home)
    assert done.returncode == 0, done.stderr
    assert after == before, "the demo wrote into the user's RCM_HOME"
    return done.stderr, json.loads(done.stdout)


def _files(home: Path) -> dict[str, bytes]:
    """Every file under `home` but the node's own (its log and pid, under testnet/)."""
    return {str(path.relative_to(home)): path.read_bytes() for path in home.rglob("*")
            if path.is_file() and path.relative_to(home).parts[0] != "testnet"}


def test_the_summary_follows_the_json_convention(run: tuple[str, dict[str, Any]]) -> None:
    check_document(run[1])  # the convention's other commands: tests/rcm/test_json_convention.py


def test_every_step_of_a_future_s_life_has_its_heading(run: tuple[str, dict[str, Any]]) -> None:
    text, _ = run
    for step in STEPS:
        assert f"{step} —" in text


def test_the_story_fits_80_columns(run: tuple[str, dict[str, Any]]) -> None:
    wide = [line for line in run[0].splitlines() if len(line) > 80]
    assert not wide, "\n".join(wide)


def test_every_gas_figure_is_grouped_by_thousands(run: tuple[str, dict[str, Any]]) -> None:
    text, _ = run
    committed = text.split("commit gas\n", 1)[1].split("\nrefused before", 1)[0]
    figures = [row.split()[-1] for row in committed.splitlines()[1:]]
    figures += re.findall(r"^gas +(\S+)$", text, re.MULTILINE)
    assert len(figures) > 7 and all(re.fullmatch(r"\d{1,3}(,\d{3})+", f) for f in figures), figures


def test_the_round_fills_five_bids_and_tells_every_other_bid_why(
        run: tuple[str, dict[str, Any]]) -> None:
    _, summary = run
    clearing = summary["clearing"]
    assert clearing["status"] == "optimal"
    assert set(clearing["winners"]) == {"nhs-sepsis-warning", "msf-outbreak-forecast",
                                        "pasteur-amr-discovery", "helixgen-llm-finetune",
                                        "quantedge-backtest"}
    assert sorted(clearing["losing"].values()) == ["outbid", "risk_cap"]
    # What the chain refuses, or what could never win, never enters the round: the wallet
    # refuses it before committing, with the auctioneer's reason (issue 18).
    refused = summary["refused"]
    assert sorted(refused) == ["charite-xray-triage", "helixgen-protein-design",
                               "novamind-inference", "pixelfarm-render", "stale-trial-matching"]
    assert [refused[bid].split(")")[0] for bid in sorted(refused)] == [
        "can never win (epsilon_over_policy", "can never win (ineligible_tier",
        "can never win (equity_reservation", "can never win (below_reserve",
        "can never win (expired"]


def test_closing_balances_follow_from_payments_change_resale_and_burns(
        run: tuple[str, dict[str, Any]]) -> None:
    _, summary = run
    market = consortium_instance()
    paid, balances = summary["payments_micro_usd"], summary["balances"]
    by_criteria, resale = summary["resale"]["trades"]
    # The future changed hands twice, each time in one fill on the futures exchange: the
    # winner sold it to the speculator's buy order by criteria, the speculator to charite.
    assert [(t["seller_name"], t["buyer_name"]) for t in (by_criteria, resale)] == [
        ("institut-pasteur", "speculator"), ("speculator", "charite")]
    for done in (by_criteria, resale):
        assert 100_000 < done["gas"] < 200_000
        assert done["fee_micro_usd"] == done["price_micro_usd"] // 100  # governance's 1 %
        assert done["proceeds_micro_usd"] == done["price_micro_usd"] - done["fee_micro_usd"]
    assert balances["speculator"]["usd_micro_usd"] == resale["proceeds_micro_usd"]
    # The traded item's history: its clearing price, then its share of each trade's price.
    history = summary["resale"]["price_history"]
    assert [point["source"] for point in history["points"]] == ["clearing", "trade", "trade"]
    assert history["item"].startswith("gpu-")
    placed = [bid for bid in market.bids if bid.id not in summary["refused"]]
    for bid in placed:
        assert bid.id in paid or bid.id in summary["clearing"]["losing"]
    for buyer in {bid.buyer for bid in market.bids}:
        # funded for every bid's deposit; a refused bid's never left the wallet
        deposits = sum(max(b.value for b in bid.bundles) for bid in market.bids
                       if bid.buyer == buyer)
        spent = sum(paid.get(bid.id, 0) for bid in placed if bid.buyer == buyer)
        # every deposit came back but what the winning bids pay; the resale moved USD
        resold = {"institut-pasteur": by_criteria["proceeds_micro_usd"]}.get(buyer, 0)
        assert balances[buyer]["usd_micro_usd"] == deposits - spent + resold, buyer
        assert balances[buyer]["credit_micro_usd"] == 0
    # Every delivered job paid its provider, the violations too (the buyer was at fault).
    assert balances[RESOLD_PROVIDER]["credit_micro_usd"] == (
        paid["pasteur-amr-discovery"] + paid[RISK_VIOLATOR_BID])
    assert balances[VIOLATION_PROVIDER]["credit_micro_usd"] == paid["helixgen-llm-finetune"]
    # The clearing house holds exactly what it still owes: undelivered payments and credits.
    undelivered = sum(paid[b] for b in ("msf-outbreak-forecast", "quantedge-backtest"))
    delivered = sum(paid[b] for b in ("pasteur-amr-discovery", "helixgen-llm-finetune",
                                      RISK_VIOLATOR_BID))
    assert summary["escrow_micro_usd"] == undelivered + delivered


def _risk_bps(bid_id: str) -> int:
    """The bid's staked score: the launch rubric's of its declaration."""
    return next(bid.risk_bps for bid in consortium_instance().bids if bid.id == bid_id)


def test_each_violation_burns_the_discounted_stake_and_the_compliant_job_releases_it(
        run: tuple[str, dict[str, Any]]) -> None:
    _, summary = run
    jobs, balances = summary["jobs"], summary["balances"]
    outcome = {key: {k: jobs[key][k] for k in ("status", "burned_wei", "clauses")}
               for key in jobs}
    # Each score's share of its bid's value (40,000 and 19,200 USD) at 1 CST per USD: no audit
    # has discounted either yet.
    assert outcome == {
        "compliant": {"status": "settled", "burned_wei": 0, "clauses": []},
        "violation": {"status": "voided",
                      "burned_wei": str(40_000 * CST * _risk_bps(VIOLATOR_BID) // 10_000),
                      "clauses": ["regulator.epsilon_claim"]},
        # Declared fine-tuning (3,200 bps), it ran a training run past the 10^22 FLOP job line:
        # every node scores what ran at 3,900, beyond the 250 bps tolerance.
        "understated": {"status": "voided",
                        "burned_wei": str(19_200 * CST * _risk_bps(RISK_VIOLATOR_BID) // 10_000),
                        "clauses": ["regulator.risk_understated"]}}
    assert _risk_bps(RISK_VIOLATOR_BID) == 3_200
    assert balances["charite"]["locked_wei"] == 0  # the resale buyer's stake came back
    assert balances["helixgen"]["locked_wei"] == balances["hse-ireland"]["locked_wei"] == 0


def test_each_verdict_is_an_audit_worth_its_payment_at_its_risk(
        run: tuple[str, dict[str, Any]]) -> None:
    _, summary = run
    paid = summary["payments_micro_usd"]
    worth = {bid_id: paid[bid_id] * _risk_bps(bid_id) // 10_000
             for bid_id in ("pasteur-amr-discovery", RISK_VIOLATOR_BID)}
    reputation = summary["reputation_micro_usd"]
    assert reputation["charite"] == worth["pasteur-amr-discovery"] > 0
    # The provider delivered both jobs: the buyer was at fault for the second.
    assert reputation[RESOLD_PROVIDER] == sum(worth.values())
    assert reputation["helixgen"] == reputation["hse-ireland"] == 0


def test_budgets_are_consumed_by_delivered_jobs_and_reserved_by_outstanding_futures(
        run: tuple[str, dict[str, Any]]) -> None:
    _, summary = run
    budgets = summary["budgets"]
    assert budgets["amr-genomes"]["consumed_micro_eps"] == 3_500_000
    assert budgets["deidentified-notes"]["consumed_micro_eps"] == 800_000
    assert budgets["hse-icu-2025"]["consumed_micro_eps"] == 1_500_000
    assert budgets["who-surveillance"]["reserved_micro_eps"] == 2_000_000
    assert all(b["reserved_micro_eps"] == 0 and b["consumed_micro_eps"] == 0
               for name, b in budgets.items() if name in ("biobank-wgs", "chest-xray-de"))


def _week_of(bid_id: str) -> dict[str, float]:
    """A week of the bid's bundle in the evidence's units: GPU-weeks of 168 GPU-hours, kW-weeks
    of 168 kWh, TB-weeks of 1,000 GB (each of the bid's bundles asks the same)."""
    bundle = next(bid for bid in consortium_instance().bids if bid.id == bid_id).bundles[0]
    gpus, kilowatts, terabytes = bundle.items.values()
    return {"gpu_hours": gpus * 168.0, "energy_kwh": kilowatts * 168.0,
            "storage_gb": terabytes * 1_000.0}


def test_each_delivered_job_used_what_its_future_bought_as_the_nodes_read_it_from_the_chain(
        run: tuple[str, dict[str, Any]]) -> None:
    _, summary = run
    jobs = summary["jobs"]
    assert jobs["compliant"]["used"] == _week_of("pasteur-amr-discovery")
    assert jobs["violation"]["used"] == _week_of("helixgen-llm-finetune")
    assert jobs["understated"]["used"] == _week_of(RISK_VIOLATOR_BID)


def test_each_provider_keeps_one_slash_per_future_sold_committed_and_gets_the_rest_back(
        run: tuple[str, dict[str, Any]]) -> None:
    text, summary = run
    committed, balances = summary["bonds_committed"], summary["balances"]
    slash = LAUNCH_RATES.provider_slash_wei
    assert sum(bond["future_count"] for bond in committed.values()) == len(
        summary["payments_micro_usd"])
    for provider, bond in committed.items():
        assert int(bond["locked_wei"]) == bond["future_count"] * slash, provider
    # Providers whose futures are all judged have their bonds all back; one whose futures are
    # open keeps their slashes committed.
    assert committed[VIOLATION_PROVIDER]["future_count"] == 1
    assert committed[RESOLD_PROVIDER]["future_count"] == 2
    assert balances[VIOLATION_PROVIDER]["bond_locked_wei"] == 0
    assert balances[RESOLD_PROVIDER]["bond_locked_wei"] == 0
    assert committed[UNDELIVERED_PROVIDER]["future_count"] == 2
    assert balances[UNDELIVERED_PROVIDER]["bond_locked_wei"] == committed[
        UNDELIVERED_PROVIDER]["locked_wei"]
    assert "committed to its" in text
