"""`wallet bid` scores each bid's workload declaration with the rubric its round's policy pinned:
the bid stakes for that score (or more) and commits to the declaration's hash, and it is refused
before signing when it states less, when the rubric prohibits the job, or when this machine does
not have the round's rubric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chain.errors import RcmError
from chain.events import events
from chain.settlement import Deadlines
from market.onchain import policy_to_chain
from risk.declaration import Declaration, declaration_hash
from risk.rubric import DEFAULT_RUBRIC, rubric_hash
from tests.market.test_settlement_service import PHASE, POLICY, RATES, Market
from tests.market.test_settlement_service import _isolated as _isolated  # each test reverts
from tests.market.test_settlement_service import market as market  # the module's own round
from tests.support import declaration

MEDIUM = declaration("diagnostics", "medium")  # 3,000 bps under the launch rubric
BUNDLE = {"0": 1, "1": 1}


def _job(**changes: Any) -> dict[str, Any]:
    return {**MEDIUM, **changes}


def test_a_bid_stakes_for_its_declarations_score_and_commits_to_its_hash(market: Market
                                                                         ) -> None:
    wallet = market.wallet(market.buyers[1])
    scored = wallet.bid(1, market.bid(BUNDLE, 200), dry_run=True)
    assert (scored.risk_bps, scored.score_bps, scored.refusal) == (3_000, 3_000, None)
    # A buyer may stake for more than the rubric asks.
    over = wallet.bid(1, market.bid(BUNDLE, 200, risk_bps=4_500), dry_run=True)
    assert (over.risk_bps, over.score_bps, over.refusal) == (4_500, 3_000, None)
    assert over.stake_wei > scored.stake_wei
    placed = wallet.bid(1, market.bid(BUNDLE, 200))
    house = market.system.clearing_house
    (committed,) = events(market.system, house, "Committed",
                          digest=bytes.fromhex(placed.digest[2:]))
    terms = committed.args["terms"]
    assert (terms["riskBps"], terms["declarationHash"]) == (
        3_000, declaration_hash(Declaration.model_validate(MEDIUM)))
    assert placed.stake_wei == scored.stake_wei


@pytest.mark.parametrize(("terms", "field", "reason"), [
    ({"risk_bps": 2_999}, "bids[0].risk_bps", "below the rubric's score 3000"),
    ({"declaration": _job(practices=["social_scoring"]), "risk_bps": 10_000},
     "bids[0].declaration.practices",
     "ineligible whatever the stake: social_scoring is prohibited (EU AI Act Art. 5(1)(c))"),
    ({"declaration": _job(purpose="research")}, "bids[0].declaration.purpose",
     "'research' is not the bid's purpose 'diagnostics'"),
    ({"declaration": _job(job_flop=-1)}, "bids[0].declaration.job_flop", "Input should be"),
    ({"declaration": "no-such-job.json"}, "bids[0].declaration", "no-such-job.json: cannot read"),
])
def test_a_bid_is_refused_before_signing_when_its_risk_is_not_the_rubrics(
        market: Market, terms: dict[str, Any], field: str, reason: str) -> None:
    buyer = market.buyers[1]
    nonce = market.nonce(buyer)
    with pytest.raises(RcmError) as raised:
        market.wallet(buyer).bid(1, market.bid(BUNDLE, 200, **terms))
    assert raised.value.field == field and raised.value.reason.startswith(reason)
    assert market.nonce(buyer) == nonce


def test_a_bid_must_declare_the_data_categories_its_dataset_is_registered_with(
        market: Market) -> None:
    owner, buyer = market.buyers[0], market.buyers[1]
    registered = market.wallet(owner).register_dataset(
        epsilon=5, delta="1e-6", purposes=["diagnostics"], content_hash="0x" + "a7" * 32,
        categories=["health", "genomic"])
    assert registered.categories == ["genomic", "health"]
    dataset = int(registered.dataset, 16)
    market.wallet(owner).grant(dataset, buyer.address, 2)
    nonce = market.nonce(buyer)
    with pytest.raises(RcmError) as raised:  # MEDIUM declares genomic data only
        market.wallet(buyer).bid(1, market.bid(BUNDLE, 200, dataset=dataset))
    assert (raised.value.field, raised.value.reason) == (
        "bids[0].declaration.data_categories",
        "the dataset is registered as holding health data: the declaration must list it")
    assert market.nonce(buyer) == nonce
    both = _job(data_categories=["genomic", "health"])
    scored = market.wallet(buyer).bid(1, market.bid(BUNDLE, 200, dataset=dataset,
                                                    declaration=both), dry_run=True)
    assert (scored.refusal, scored.score_bps) == (None, 3_700)  # health adds 700


def test_a_round_scores_with_its_policys_rubric_which_this_machine_must_hold(
        market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stricter rubric registered after round 1 opened scores round 2 only; until this
    machine keeps a copy, a bid in round 2 is refused saying so."""
    from market.rubrics import keep_rubric

    monkeypatch.setenv("RCM_HOME", str(tmp_path))
    stricter = DEFAULT_RUBRIC.read_bytes().replace(b"[base]\nbps = 1000", b"[base]\nbps = 1500")
    house, chain = market.system.clearing_house, market.chain
    registered = policy_to_chain(POLICY, RATES, rubric_hash(stricter))
    chain.send(market.system.policies.functions.setPolicy(registered.as_args()),
               market.governance)
    deadlines = Deadlines.after(int(chain.latest_timestamp()), *(PHASE,) * 4)
    chain.send(house.functions.openRound(deadlines.as_args()), market.governance)
    wallet = market.wallet(market.buyers[2])
    with pytest.raises(RcmError) as raised:
        wallet.bid(2, market.bid(BUNDLE, 200), dry_run=True)
    assert (raised.value.field, raised.value.reason) == ("round_id", (
        f"round 2 scores risk with rubric 0x{rubric_hash(stricter).hex()}, which this machine "
        f"does not have: put its TOML file in {tmp_path / 'rubrics'}"))
    keep_rubric(stricter)
    assert wallet.bid(2, market.bid(BUNDLE, 200), dry_run=True).score_bps == 3_500
    assert wallet.bid(1, market.bid(BUNDLE, 200), dry_run=True).score_bps == 3_000
