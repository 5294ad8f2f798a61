"""ClearingHouse, post phase to close: the auctioneer's result posted in batches and re-checked
fill by fill, challenges built in batches that must beat it by the policy's step, the bonds each
replacement settles, the quorum's prices, and the futures, releases and bonds of a final round.

Every refusal is asserted by its exact custom error and by everything it could have touched
reading as before; every number is derived from the bids and asks (welfare = Σ value − Σ reserve
cost), never copied from an output."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import Bid, Bundle, fill_args
from chain.clearing_house import ProviderBond
from chain.connection import Chain
from chain.prices import recover_report_signer
from chain.settlement import (
    POSTED_VERSION,
    Award,
    Phase,
    SolverStatus,
    Status,
    awards_hash,
    priced_batch_hash,
)
from chain.verdict import verdict_domain
from tests.contracts.round_support import (
    CAPPED,
    CAPPED_RESERVATION_BPS,
    CAPPED_TIER_RISK_CAP,
    CAPPED_TOTAL_RISK_CAP,
    ITEMS,
    SECOND_ASK,
    TOTAL,
    ZERO_ADDRESS,
    allocation,
    awards,
    block_timestamp,
    bond_of,
    by_digest,
    code_field,
    cst_balance,
    hex32,
    house_state,
    needed_welfare,
    next_block_at,
    open_round_under,
    post_asks,
    posted_version,
    reserve_cost,
    risk_loads,
    second_provider,
    welfare,
)
from tests.contracts.settlement_fixtures import (
    ANSWER_WINDOW,
    AUCTIONEER_BOND,
    AUCTIONEER_SLASH,
    CHALLENGER_BOND,
    HIGH_RISK_BPS,
    MAX_CLAIMED_GAP_BPS,
    MAX_EXTENSION,
    MEDIUM_RISK_BPS,
    POLICY,
    PROVIDER_BOND_PER_UNIT,
    PROVIDER_SLASH,
    RATES,
    USD,
    Market,
    fund_and_bond,
)
from tests.support import event_args, reverts, role

OPTIMAL, FEASIBLE = SolverStatus.OPTIMAL, SolverStatus.FEASIBLE
MIN_STEP_BPS = RATES.min_improvement_bps
CHALLENGER_FUNDS = 5 * CHALLENGER_BOND  # enough to seal several challenges in a row
LOOSE_BOUND = 1_000 * USD  # a feasible claim nobody's result beats: no slash in the way


@dataclass(frozen=True)
class Bids:
    """Two rounds in their post phase, opened together: `id` sells ITEMS (the provider's items
    0–3 and the second provider's item 4), `capped` sells ASKS under CAPPED. All bids are low
    risk and outside the equity classes unless noted."""

    id: int
    capped: int
    second: LocalAccount
    a: Bid  # buyer: items 0, 1 × 2, 3 for 20 USD XOR item 2 × 4 for 12 USD
    b: Bid  # rival: item 0 × 9 for 15 USD
    c: Bid  # buyer: items 1, 3 × 1 each for 6 USD
    nudge: Bid  # buyer: item 3 × 1, worth exactly what b needs to beat b alone
    short: Bid  # buyer: as nudge, one micro-USD less
    extra: Bid  # rival: item 3 × 2 for 4 USD
    mixed: Bid  # rival: items 3 and 4, of two providers, for 5 USD
    high: Bid  # rival, high risk: item 2 (certified; high risk may use confidential only)
    cheap: Bid  # buyer: item 3 × 5 for 4 USD, below its reserve cost
    sealed: Bid  # rival: committed, never revealed
    wide: Bid  # capped, buyer: items 0, 1, 2 × 5, 5, 3 — 13 GPU units
    medium: Bid  # capped, rival, medium risk, equity class 1: item 0 × 6
    hoard: Bid  # capped, buyer: item 0 × 6, one unit past the open half
    equity: Bid  # capped, rival, equity class 1: item 0 × 6
    seven: Bid  # capped, buyer: items 1, 2 × 4, 3

    def r1(self) -> list[tuple[Bid, int]]:
        """a's second bundle, b and c: welfare (12 − 4) + (15 − 9) + (6 − 2) = 18 USD."""
        return [(self.a, 1), (self.b, 0), (self.c, 0)]

    def r2(self) -> list[tuple[Bid, int]]:
        """a's first bundle and c: (20 − 5) + (6 − 2) = 19 USD; b cannot join (item 0)."""
        return [(self.a, 0), (self.c, 0)]

    def r1_bids(self) -> list[Bid]:
        return [bid for bid, _ in self.r1()]

    def losers_of_r1(self) -> list[Bid]:
        return [self.nudge, self.short, self.extra, self.mixed, self.high, self.cheap]


@pytest.fixture(scope="module")
def bids(market: Market, buyer: LocalAccount, rival: LocalAccount,
         outsider: LocalAccount) -> Bids:
    second = second_provider(market)
    for challenger in (outsider, rival):
        fund_and_bond(market.system, market.governance, challenger, CHALLENGER_FUNDS)
    round_id = market.open_round()
    post_asks(market, round_id, (SECOND_ASK,), second)
    capped = open_round_under(market, CAPPED)
    b = market.bid(rival, round_id, Bundle((0,), (9,), 15 * USD))
    step = needed_welfare(welfare((b, 0)), MIN_STEP_BPS) - welfare((b, 0))
    unit = ITEMS[3].reserve_price_micro_usd
    made = Bids(
        round_id, capped, second,
        a=market.bid(buyer, round_id, Bundle((0, 1), (2, 3), 20 * USD),
                     Bundle((2,), (4,), 12 * USD)),
        b=b,
        c=market.bid(buyer, round_id, Bundle((1, 3), (1, 1), 6 * USD), nonce=1),
        nudge=market.bid(buyer, round_id, Bundle((3,), (1,), unit + step), nonce=2),
        short=market.bid(buyer, round_id, Bundle((3,), (1,), unit + step - 1), nonce=3),
        extra=market.bid(rival, round_id, Bundle((3,), (2,), 4 * USD), nonce=1),
        mixed=market.bid(rival, round_id, Bundle((3, 4), (1, 1), 5 * USD), nonce=2),
        high=market.bid(rival, round_id, Bundle((2,), (1,), 5 * USD), nonce=3,
                        risk_bps=HIGH_RISK_BPS),
        cheap=market.bid(buyer, round_id, Bundle((3,), (5,), 4 * USD), nonce=4),
        sealed=market.bid(rival, round_id, Bundle((3,), (1,), 5 * USD), nonce=4),
        wide=market.bid(buyer, capped, Bundle((0, 1, 2), (5, 5, 3), 20 * USD)),
        medium=market.bid(rival, capped, Bundle((0,), (6,), 10 * USD), risk_bps=MEDIUM_RISK_BPS,
                          equity_class=1),
        hoard=market.bid(buyer, capped, Bundle((0,), (6,), 10 * USD), nonce=1),
        equity=market.bid(rival, capped, Bundle((0,), (6,), 10 * USD), nonce=1,
                          equity_class=1),
        seven=market.bid(buyer, capped, Bundle((1, 2), (4, 3), 10 * USD), nonce=2),
    )
    revealed = [made.a, made.b, made.c, made.nudge, made.short, made.extra, made.mixed,
                made.high, made.cheap, made.wide, made.medium, made.hoard, made.equity,
                made.seven]
    bidder = {buyer.address: buyer, rival.address: rival}
    for bid in [*revealed, made.sealed]:
        market.commit(bid, bidder[bid.bidder])
    market.enter(capped, Phase.REVEAL)
    for bid in revealed:
        market.reveal(bid, bidder[bid.bidder])
    market.enter(capped, Phase.POST)
    assert market.phase(round_id) is Phase.POST
    return made


def _replaced(market: Market, receipt: Any) -> dict[str, Any]:
    (replaced,) = event_args(market.house, receipt, "ResultReplaced")
    return replaced


def _cst_totals(market: Market) -> tuple[int, int]:
    cst = market.system.cst.functions
    return int(cst.totalSupply().call()), int(cst.totalBurned().call())


# ---- post ----


def test_post_keeps_a_batch_as_its_awards_and_tallies_welfare_allocation_and_risk(
    market: Market, bids: Bids
) -> None:
    chosen = bids.r1()
    expected = awards(market, *chosen)
    usd = market.usd(market.house.address)
    receipt = market.post(bids.id, *chosen, claim=(FEASIBLE, LOOSE_BOUND))
    assert event_args(market.house, receipt, "SolverClaimed") == [
        {"roundId": bids.id, "status": FEASIBLE, "boundMicroUsd": LOOSE_BOUND}]
    (posted,) = event_args(market.house, receipt, "BatchPosted")
    assert (posted["roundId"], posted["version"], posted["poster"], posted["batch"]) == (
        bids.id, POSTED_VERSION, market.auctioneer.address, 0)
    assert [Award.from_event(a) for a in posted["awards"]] == expected
    assert posted["welfareMicroUsd"] == welfare(*chosen) == 18 * USD
    assert tuple(market.house.functions.batchOf(bids.id, POSTED_VERSION, 0).call()) == (
        awards_hash(expected), len(expected))
    result = market.result(bids.id, POSTED_VERSION)
    assert (result.poster, result.fill_count, result.batch_count, result.is_sealed) == (
        market.auctioneer.address, 3, 1, False)
    assert (result.solver_status, result.bound_micro_usd) == (FEASIBLE, LOOSE_BOUND)
    assert (result.welfare_micro_usd, result.last_digest) == (
        welfare(*chosen), expected[-1].bid_digest)
    assert result.risk_loads == risk_loads(*chosen)
    assert _allocations(market, bids.id, POSTED_VERSION) == allocation(len(ITEMS), *chosen)
    assert market.round(bids.id).standing_version == POSTED_VERSION
    # The allocation is the result's: no record, no money moves until the round is final.
    assert {market.record(market.digest(b)).status for b, _ in chosen} == {Status.REVEALED}
    assert market.usd(market.house.address) == usd


def _allocations(market: Market, round_id: int, version: int) -> list[tuple[int, int]]:
    return [tuple(market.house.functions.allocationOf(round_id, version, item).call())
            for item in range(len(ITEMS))]


def test_a_result_posts_in_batches_from_one_poster_locking_its_bond_once(
    chain: Chain, market: Market, bids: Bids, governance: LocalAccount
) -> None:
    first, *rest = by_digest(market, *bids.r1())
    bonded, locked = bond_of(market, market.auctioneer.address)
    receipt = market.post(bids.id, first, claim=(FEASIBLE, LOOSE_BOUND))
    assert event_args(market.system.vault, receipt, "BondLocked") == [
        {"account": market.auctioneer.address, "amount": AUCTIONEER_BOND}]
    assert bond_of(market, market.auctioneer.address) == (
        bonded - AUCTIONEER_BOND, locked + AUCTIONEER_BOND)
    receipt = market.post(bids.id, *rest, claim=(OPTIMAL, 0))
    assert event_args(market.system.vault, receipt, "BondLocked") == []
    assert bond_of(market, market.auctioneer.address) == (
        bonded - AUCTIONEER_BOND, locked + AUCTIONEER_BOND)
    (claimed,) = event_args(market.house, receipt, "SolverClaimed")
    assert claimed == {"roundId": bids.id, "status": OPTIMAL, "boundMicroUsd": 0}
    (posted,) = event_args(market.house, receipt, "BatchPosted")
    assert (posted["batch"], posted["welfareMicroUsd"]) == (1, welfare(*bids.r1()))
    result = market.result(bids.id, POSTED_VERSION)
    assert (result.fill_count, result.batch_count) == (3, 2)
    assert (result.solver_status, result.bound_micro_usd) == (OPTIMAL, 0)
    assert [len(batch) for batch in market.batches(bids.id, POSTED_VERSION)] == [1, 2]
    # Governance holds the auctioneer's role too, but the result is the first poster's.
    assert market.house.functions.hasRole(
        role(market.house, "AUCTIONEER_ROLE"), governance.address).call()
    before = house_state(market, bids.id, [], governance)
    with reverts("NotPoster", governance.address, market.auctioneer.address):
        chain.send(market.house.functions.post(bids.id, [], (OPTIMAL, 0)), governance)
    assert house_state(market, bids.id, [], governance) == before


def test_a_later_batch_must_continue_the_ascending_digest_order(
    market: Market, bids: Bids
) -> None:
    *head, last = by_digest(market, *bids.r1())
    market.post(bids.id, last)
    low = head[0][0]
    before = house_state(market, bids.id, [low, last[0]])
    with reverts("FillsNotAscending", hex32(market.digest(low)), hex32(market.digest(last[0]))):
        market.post(bids.id, head[0])
    assert house_state(market, bids.id, [low, last[0]]) == before


def test_a_bid_cannot_be_filled_twice_in_one_result(market: Market, bids: Bids) -> None:
    digest = hex32(market.digest(bids.a))
    before = house_state(market, bids.id, [bids.a])
    with reverts("FillsNotAscending", digest, digest):
        market.post(bids.id, (bids.a, 0), (bids.a, 1))
    assert house_state(market, bids.id, [bids.a]) == before
    market.post(bids.id, (bids.a, 1))
    before = house_state(market, bids.id, [bids.a])
    with reverts("FillsNotAscending", digest, digest):
        market.post(bids.id, (bids.a, 0))
    assert house_state(market, bids.id, [bids.a]) == before


@pytest.mark.parametrize("status", [0, 3])
def test_post_refuses_a_solver_status_other_than_optimal_or_feasible(
    market: Market, bids: Bids, status: int
) -> None:
    before = house_state(market, bids.id, [bids.b])
    with reverts("UnknownCode", code_field("solverStatus"), status):
        market.post(bids.id, (bids.b, 0), claim=(status, LOOSE_BOUND))
    assert house_state(market, bids.id, [bids.b]) == before


def test_post_is_refused_to_a_non_auctioneer_an_unbonded_one_and_after_the_deadline(
    chain: Chain, market: Market, bids: Bids, governance: LocalAccount, outsider: LocalAccount
) -> None:
    fills = market.fills(*bids.r1())
    before = house_state(market, bids.id, [bids.b], governance, outsider)
    with reverts("AccessControlUnauthorizedAccount", outsider.address,
                 role(market.house, "AUCTIONEER_ROLE")):
        chain.send(market.house.functions.post(bids.id, fills, (OPTIMAL, 0)), outsider)
    assert bond_of(market, governance.address) == (0, 0)
    with reverts("InsufficientBond", governance.address, AUCTIONEER_BOND, 0):
        chain.send(market.house.functions.post(bids.id, fills, (OPTIMAL, 0)), governance)
    assert house_state(market, bids.id, [bids.b], governance, outsider) == before
    market.enter(bids.id, Phase.CHALLENGE)
    before = house_state(market, bids.id, [bids.b], governance, outsider)
    with reverts("WrongPhase", bids.id, Phase.POST, Phase.CHALLENGE):
        market.post(bids.id, *bids.r1())
    assert house_state(market, bids.id, [bids.b], governance, outsider) == before


# Each case: the round posted to, its fills, the bids they name, and the error.
Refusal = tuple[int, list[Any], list[Bid], tuple[Any, ...]]
Case = Callable[[Market, Bids], Refusal]


def _forged(m: Market, r: Bids) -> Refusal:
    forged = replace(r.a, bundles=(Bundle((0, 1), (2, 2), 20 * USD), r.a.bundles[1]))
    return r.id, [fill_args(forged, 0)], [r.a, forged], (
        "UnexpectedStatus", hex32(m.digest(forged)), Status.REVEALED, Status.NONE)


def _past_the_envelope(m: Market, r: Bids) -> Refusal:
    terms, salt, _, bundle, others = fill_args(r.a, 1)
    return r.id, [(terms, salt, len(others) + 1, bundle, others)], [r.a], (
        "MalformedEnvelope", len(others) + 1)


def _unrevealed(m: Market, r: Bids) -> Refusal:
    return r.id, m.fills((r.sealed, 0)), [r.sealed], (
        "UnexpectedStatus", hex32(m.digest(r.sealed)), Status.REVEALED, Status.COMMITTED)


def _other_round(m: Market, r: Bids) -> Refusal:
    return r.capped, m.fills((r.b, 0)), [r.b], ("BidFromOtherRound", hex32(m.digest(r.b)), r.id)


def _mixed(m: Market, r: Bids) -> Refusal:
    return r.id, m.fills((r.mixed, 0)), [r.mixed], (
        "MixedProviders", hex32(m.digest(r.mixed)), m.provider.address, r.second.address)


def _tier(m: Market, r: Bids) -> Refusal:
    item = r.high.bundles[0].items[0]
    band = POLICY.rules.band_of(r.high.risk_bps)
    assert band is not None and not POLICY.rules.band_tier_masks[band] >> ITEMS[item].tier & 1
    return r.id, m.fills((r.high, 0)), [r.high], (
        "TierNotAllowed", hex32(m.digest(r.high)), item, ITEMS[item].tier)


def _below_reserve(m: Market, r: Bids) -> Refusal:
    bundle = r.cheap.bundles[0]
    return r.id, m.fills((r.cheap, 0)), [r.cheap], (
        "BelowReserve", hex32(m.digest(r.cheap)), bundle.value_micro_usd, reserve_cost(bundle))


def _over_capacity(m: Market, r: Bids) -> Refusal:
    chosen = [(r.a, 0), (r.b, 0)]
    allocated, _ = allocation(len(ITEMS), *chosen)[0]
    return r.id, m.fills(*chosen), [r.a, r.b], (
        "OverAllocated", r.id, 0, allocated, ITEMS[0].capacity)


def _reservation(m: Market, r: Bids) -> Refusal:
    capacity = ITEMS[0].capacity
    open_units = capacity - capacity * CAPPED_RESERVATION_BPS // 10_000
    return r.capped, m.fills((r.hoard, 0)), [r.hoard], (
        "ReservationBreached", r.capped, 0, r.hoard.bundles[0].quantities[0], open_units)


def _tier_cap(m: Market, r: Bids) -> Refusal:
    load = risk_loads((r.medium, 0))[1]
    return r.capped, m.fills((r.medium, 0)), [r.medium], (
        "RiskCapExceeded", r.capped, 1, load, CAPPED_TIER_RISK_CAP)


def _total_cap(m: Market, r: Bids) -> Refusal:
    loads = risk_loads((r.wide, 0))
    assert loads[1] <= CAPPED_TIER_RISK_CAP
    return r.capped, m.fills((r.wide, 0)), [r.wide], (
        "RiskCapExceeded", r.capped, TOTAL, loads[TOTAL], CAPPED_TOTAL_RISK_CAP)


REFUSED_FILLS: dict[str, Case] = {
    "a_bundle_the_bid_did_not_reveal": _forged,
    "a_bundle_index_past_the_envelope": _past_the_envelope,
    "an_unrevealed_bid": _unrevealed,
    "a_bid_of_another_round": _other_round,
    "a_bundle_of_two_providers": _mixed,
    "a_tier_the_bids_risk_band_may_not_use": _tier,
    "a_value_below_the_reserve_cost": _below_reserve,
    "more_units_than_an_item_has": _over_capacity,
    "units_the_equity_reservation_keeps": _reservation,
    "a_tier_risk_load_over_its_cap": _tier_cap,
    "a_total_risk_load_over_its_cap": _total_cap,
}


@pytest.mark.parametrize("case", REFUSED_FILLS.values(), ids=REFUSED_FILLS.keys())
def test_post_refuses_a_fill_that_breaks_a_rule_and_changes_nothing(
    chain: Chain, market: Market, bids: Bids, case: Case
) -> None:
    round_id, fills, involved, (error, *args) = case(market, bids)
    before = house_state(market, round_id, involved, market.provider)
    with reverts(error, *args):
        chain.send(market.house.functions.post(round_id, fills, (OPTIMAL, 0)), market.auctioneer)
    assert house_state(market, round_id, involved, market.provider) == before


def test_the_equity_classes_may_use_the_reserved_units(market: Market, bids: Bids) -> None:
    market.post(bids.capped, (bids.equity, 0))
    quantity = bids.equity.bundles[0].quantities[0]
    assert tuple(market.house.functions.allocationOf(bids.capped, POSTED_VERSION, 0).call()) == (
        quantity, 0)


def test_capacity_and_risk_caps_hold_across_a_results_batches(
    market: Market, bids: Bids
) -> None:
    first, later = by_digest(market, (bids.a, 0), (bids.b, 0))
    market.post(bids.id, first)
    before = house_state(market, bids.id, [first[0], later[0]])
    allocated = allocation(len(ITEMS), first, later)[0][0]
    with reverts("OverAllocated", bids.id, 0, allocated, ITEMS[0].capacity):
        market.post(bids.id, later)
    assert house_state(market, bids.id, [first[0], later[0]]) == before
    first, later = by_digest(market, (bids.equity, 0), (bids.seven, 0))
    market.post(bids.capped, first)
    before = house_state(market, bids.capped, [first[0], later[0]])
    load = risk_loads(first, later)[TOTAL]
    assert max(risk_loads(first)[TOTAL], risk_loads(later)[TOTAL]) <= CAPPED_TOTAL_RISK_CAP < load
    with reverts("RiskCapExceeded", bids.capped, TOTAL, load, CAPPED_TOTAL_RISK_CAP):
        market.post(bids.capped, later)
    assert house_state(market, bids.capped, [first[0], later[0]]) == before


# ---- challenge ----


def test_a_challenge_that_beats_the_standing_result_replaces_it_and_slashes_an_optimal_claim(
    market: Market, bids: Bids, outsider: LocalAccount
) -> None:
    market.post(bids.id, *bids.r1(), claim=(OPTIMAL, 0))
    market.enter(bids.id, Phase.CHALLENGE)
    deadline = market.round(bids.id).deadlines.challenge_timestamp
    auctioneer = bond_of(market, market.auctioneer.address)
    challenger = bond_of(market, outsider.address)
    supply, burned = _cst_totals(market)
    receipt = market.challenge(bids.id, outsider, *bids.r2())
    replaced = _replaced(market, receipt)
    assert replaced == {
        "roundId": bids.id, "version": 2, "challenger": outsider.address,
        "replacedVersion": POSTED_VERSION, "welfareMicroUsd": welfare(*bids.r2()),
        "slashedWei": AUCTIONEER_SLASH,
        # Early in the window an answer fits in what is left: the window is not moved.
        "challengeEndTimestamp": deadline,
    }
    assert welfare(*bids.r2()) >= needed_welfare(welfare(*bids.r1()), MIN_STEP_BPS)
    state = market.round(bids.id)
    assert (state.standing_version, state.version_count, state.challenge_end_timestamp) == (
        2, 2, deadline)
    result = market.result(bids.id, 2)
    assert (result.poster, result.is_sealed, result.fill_count) == (outsider.address, True, 2)
    # The optimal claim is beaten: the slash is burned, the rest of the bond released.
    assert bond_of(market, market.auctioneer.address) == (
        auctioneer[0] + AUCTIONEER_BOND - AUCTIONEER_SLASH, auctioneer[1] - AUCTIONEER_BOND)
    assert _cst_totals(market) == (supply - AUCTIONEER_SLASH, burned + AUCTIONEER_SLASH)
    assert bond_of(market, outsider.address) == (
        challenger[0] - CHALLENGER_BOND, challenger[1] + CHALLENGER_BOND)
    assert _allocations(market, bids.id, 2) == allocation(len(ITEMS), *bids.r2())
    assert _allocations(market, bids.id, POSTED_VERSION) == allocation(len(ITEMS), *bids.r1())


def test_a_challenge_is_built_in_batches_by_its_challenger_alone(
    chain: Chain, market: Market, bids: Bids, outsider: LocalAccount, rival: LocalAccount
) -> None:
    market.post(bids.id, *bids.r1(), claim=(FEASIBLE, LOOSE_BOUND))
    market.enter(bids.id, Phase.CHALLENGE)
    first, second = by_digest(market, *bids.r2())
    version = posted_version(market, market.challenge(bids.id, outsider, first, seal=False))
    assert (version, market.round(bids.id).standing_version) == (2, POSTED_VERSION)
    before = house_state(market, bids.id, [second[0]], outsider, rival)
    with reverts("NotPoster", rival.address, outsider.address):
        market.challenge(bids.id, rival, second, version=version)
    with reverts("NotAChallenge", bids.id, POSTED_VERSION):
        market.challenge(bids.id, outsider, second, version=POSTED_VERSION)
    with reverts("NotPoster", outsider.address, ZERO_ADDRESS):
        market.challenge(bids.id, outsider, second, version=version + 1)
    assert house_state(market, bids.id, [second[0]], outsider, rival) == before
    receipt = market.challenge(bids.id, outsider, second, version=version)
    assert _replaced(market, receipt)["welfareMicroUsd"] == welfare(*bids.r2())
    assert market.result(bids.id, version).batch_count == 2
    before = house_state(market, bids.id, [second[0]], outsider, rival)
    with reverts("ResultSealed", bids.id, version):
        market.challenge(bids.id, outsider, version=version)
    assert house_state(market, bids.id, [second[0]], outsider, rival) == before


def test_a_challenge_must_beat_the_standing_welfare_by_the_policys_step(
    market: Market, bids: Bids, outsider: LocalAccount
) -> None:
    market.post(bids.id, (bids.b, 0), claim=(FEASIBLE, LOOSE_BOUND))
    market.enter(bids.id, Phase.CHALLENGE)
    needed = needed_welfare(welfare((bids.b, 0)), MIN_STEP_BPS)
    before = house_state(market, bids.id, [bids.b, bids.short], outsider)
    with reverts("WelfareNotHigher", bids.id, needed - 1, needed):
        market.challenge(bids.id, outsider, (bids.b, 0), (bids.short, 0))
    with reverts("WelfareNotHigher", bids.id, welfare((bids.b, 0)), needed):
        market.challenge(bids.id, outsider, (bids.b, 0))
    assert house_state(market, bids.id, [bids.b, bids.short], outsider) == before
    receipt = market.challenge(bids.id, outsider, (bids.b, 0), (bids.nudge, 0))
    assert _replaced(market, receipt)["welfareMicroUsd"] == needed


def test_a_round_nobody_posted_is_won_by_the_first_challenge_with_any_welfare(
    market: Market, bids: Bids, outsider: LocalAccount
) -> None:
    market.enter(bids.id, Phase.CHALLENGE)
    auctioneer = bond_of(market, market.auctioneer.address)
    receipt = market.challenge(bids.id, outsider, (bids.c, 0))
    replaced = _replaced(market, receipt)
    assert (replaced["replacedVersion"], replaced["slashedWei"]) == (0, 0)
    assert needed_welfare(0, MIN_STEP_BPS) == 1 <= replaced["welfareMicroUsd"]
    assert bond_of(market, market.auctioneer.address) == auctioneer


def test_a_challenge_late_in_the_window_extends_it_by_the_answer_window_up_to_the_cap(
    market: Market, bids: Bids, outsider: LocalAccount, rival: LocalAccount
) -> None:
    market.post(bids.id, (bids.c, 0), claim=(FEASIBLE, LOOSE_BOUND))
    market.enter(bids.id, Phase.CHALLENGE)
    deadline = market.round(bids.id).deadlines.challenge_timestamp
    ladder = [
        (outsider, [(bids.b, 0)]),
        (rival, [(bids.b, 0), (bids.c, 0)]),
        (outsider, bids.r1()),
        (rival, bids.r2()),
        (outsider, [*bids.r2(), (bids.extra, 0)]),
    ]
    ends = []
    for challenger, chosen in ladder:
        end = market.round(bids.id).challenge_end_timestamp
        next_block_at(market, end)
        receipt = market.challenge(bids.id, challenger, *chosen)
        assert block_timestamp(market, receipt) == end  # the window's last block
        ends.append(_replaced(market, receipt)["challengeEndTimestamp"])
    assert ends == [min(deadline + ANSWER_WINDOW * n, deadline + MAX_EXTENSION)
                    for n in range(1, len(ladder) + 1)]
    assert ends[-1] == ends[-2] == deadline + MAX_EXTENSION
    assert market.round(bids.id).challenge_end_timestamp == deadline + MAX_EXTENSION
    market.enter(bids.id, Phase.PRICE)
    better = [*bids.r2(), (bids.extra, 0), (bids.nudge, 0)]
    assert welfare(*better) > welfare(*ladder[-1][1])
    before = house_state(market, bids.id, [bids.nudge], outsider)
    with reverts("WrongPhase", bids.id, Phase.CHALLENGE, Phase.PRICE):
        market.challenge(bids.id, outsider, *better)
    assert house_state(market, bids.id, [bids.nudge], outsider) == before


def _slash_cases() -> dict[str, tuple[int, Callable[[int], int], int]]:
    """(claimed status, its bound from the beating welfare, the slash)."""
    return {
        "feasible_beaten_within_its_bound": (FEASIBLE, lambda beating: beating, 0),
        "feasible_beaten_beyond_its_bound": (FEASIBLE, lambda beating: beating - 1,
                                             AUCTIONEER_SLASH),
        "feasible_with_a_bound_below_its_own_welfare": (FEASIBLE, lambda beating: 0,
                                                         AUCTIONEER_SLASH),
        "optimal_whatever_bound_it_names": (OPTIMAL, lambda beating: 10 * beating,
                                            AUCTIONEER_SLASH),
    }


@pytest.mark.parametrize("status,bound,slash", _slash_cases().values(), ids=_slash_cases().keys())
def test_the_replaced_auctioneer_is_slashed_only_when_beaten_beyond_its_claimed_bound(
    market: Market, bids: Bids, outsider: LocalAccount,
    status: int, bound: Callable[[int], int], slash: int,
) -> None:
    beating = welfare(*bids.r2())
    market.post(bids.id, *bids.r1(), claim=(status, bound(beating)))
    market.enter(bids.id, Phase.CHALLENGE)
    bonded, locked = bond_of(market, market.auctioneer.address)
    supply, burned = _cst_totals(market)
    receipt = market.challenge(bids.id, outsider, *bids.r2())
    assert _replaced(market, receipt)["slashedWei"] == slash
    assert bond_of(market, market.auctioneer.address) == (
        bonded + AUCTIONEER_BOND - slash, locked - AUCTIONEER_BOND)
    # A slash is burned, never paid: the auctioneer could challenge itself from another account.
    assert _cst_totals(market) == (supply - slash, burned + slash)


def test_a_replaced_challengers_bond_is_paid_to_the_challenger_that_replaces_it(
    market: Market, bids: Bids, outsider: LocalAccount, rival: LocalAccount
) -> None:
    market.post(bids.id, (bids.c, 0), claim=(FEASIBLE, LOOSE_BOUND))
    market.enter(bids.id, Phase.CHALLENGE)
    market.challenge(bids.id, outsider, (bids.b, 0))
    first = bond_of(market, outsider.address)
    answerer, wallet = bond_of(market, rival.address), cst_balance(market, rival.address)
    supply = _cst_totals(market)
    receipt = market.challenge(bids.id, rival, (bids.b, 0), (bids.c, 0))
    replaced = _replaced(market, receipt)
    assert (replaced["replacedVersion"], replaced["version"], replaced["slashedWei"]) == (
        2, 3, CHALLENGER_BOND)
    assert event_args(market.system.vault, receipt, "LockedBondSeized") == [
        {"account": outsider.address, "amount": CHALLENGER_BOND, "recipient": rival.address}]
    assert bond_of(market, outsider.address) == (first[0], first[1] - CHALLENGER_BOND)
    assert cst_balance(market, rival.address) == wallet + CHALLENGER_BOND
    assert bond_of(market, rival.address) == (
        answerer[0] - CHALLENGER_BOND, answerer[1] + CHALLENGER_BOND)
    assert _cst_totals(market) == supply


def test_a_challenge_is_refused_before_the_challenge_phase(
    market: Market, bids: Bids, outsider: LocalAccount
) -> None:
    before = house_state(market, bids.id, [bids.c], outsider)
    with reverts("WrongPhase", bids.id, Phase.CHALLENGE, Phase.POST):
        market.challenge(bids.id, outsider, *bids.r2())
    assert house_state(market, bids.id, [bids.c], outsider) == before


# ---- price ----


@pytest.fixture
def unpriced(market: Market, bids: Bids) -> Bids:
    """R1 posted in two batches (its lowest digest first) and the round in its price phase."""
    first, *rest = by_digest(market, *bids.r1())
    market.post(bids.id, first, claim=(FEASIBLE, LOOSE_BOUND))
    market.post(bids.id, *rest, claim=(FEASIBLE, LOOSE_BOUND))
    market.enter(bids.id, Phase.PRICE)
    return bids


def test_price_verifies_the_quorums_report_and_makes_the_round_final(
    market: Market, unpriced: Bids
) -> None:
    expected = awards(market, *unpriced.r1())
    payments = [a.reserve_micro_usd + 3 for a in expected]
    item_prices = [ask.reserve_price_micro_usd + 1 for ask in ITEMS]
    report = market.report(unpriced.id, payments, item_prices)
    receipt = market.price(unpriced.id, report)
    (priced,) = event_args(market.house, receipt, "Priced")
    assert priced == {"roundId": unpriced.id, "version": POSTED_VERSION,
                      "itemPricesMicroUsd": item_prices, "paymentsMicroUsd": payments}
    state = market.round(unpriced.id)
    assert (state.priced, market.phase(unpriced.id)) == (True, Phase.FINAL)
    batches = market.batches(unpriced.id, POSTED_VERSION)
    assert [a for batch in batches for a in batch] == expected
    assert [tuple(market.house.functions.batchOf(unpriced.id, POSTED_VERSION, n).call())
            for n in range(2)] == [
        (priced_batch_hash(batches[0], payments[:1]), 1),
        (priced_batch_hash(batches[1], payments[1:]), 2)]


def test_price_refuses_a_list_of_the_wrong_length(
    chain: Chain, market: Market, unpriced: Bids
) -> None:
    report = market.report(unpriced.id)
    items, payments = list(report.item_prices_micro_usd), list(report.payments_micro_usd)
    price = market.house.functions.price
    before = house_state(market, unpriced.id, [])
    with reverts("LengthMismatch", len(ITEMS) - 1, len(ITEMS)):
        shorter = replace(report, item_prices_micro_usd=tuple(items[:-1]))
        chain.send(price(unpriced.id, items[:-1], payments, market.sign(shorter)),
                   market.governance)
    with reverts("LengthMismatch", len(payments) + 1, len(payments)):
        longer = replace(report, payments_micro_usd=(*payments, 1))
        chain.send(price(unpriced.id, items, [*payments, 1], market.sign(longer)),
                   market.governance)
    assert house_state(market, unpriced.id, []) == before


def test_price_refuses_too_few_unknown_repeated_or_misapplied_signatures(
    chain: Chain, market: Market, unpriced: Bids, oracle_nodes: list[LocalAccount]
) -> None:
    report = market.report(unpriced.id)
    items, payments = list(report.item_prices_micro_usd), list(report.payments_micro_usd)
    price = market.house.functions.price
    stranger = next(n for n in oracle_nodes if n not in market.nodes)
    pair = sorted([market.nodes[0], stranger], key=lambda n: int(n.address, 16))
    signed = market.sign(report)
    raised = [p + 1 for p in payments]
    domain = verdict_domain(chain.chain_id, market.system.oracle.address)
    r, s, v = signed[0]
    recovered = recover_report_signer(
        r + s + bytes([v]), domain, replace(report, payments_micro_usd=tuple(raised)))
    before = house_state(market, unpriced.id, [])
    with reverts("BelowThreshold", 1, 2):
        chain.send(price(unpriced.id, items, payments, market.sign(report, market.nodes[:1])),
                   market.governance)
    with reverts("UnknownSigner", pair.index(stranger), stranger.address):
        chain.send(price(unpriced.id, items, payments, market.sign(report, pair)),
                   market.governance)
    with reverts("SignersNotAscending", 1):
        chain.send(price(unpriced.id, items, payments, [signed[0], signed[0]]),
                   market.governance)
    with reverts("UnknownSigner", 0, recovered):
        chain.send(price(unpriced.id, items, raised, signed), market.governance)
    assert house_state(market, unpriced.id, []) == before
    assert market.phase(unpriced.id) is Phase.PRICE


def test_price_is_refused_before_the_window_closes_and_once_priced(
    market: Market, bids: Bids
) -> None:
    market.post(bids.id, *bids.r1(), claim=(FEASIBLE, LOOSE_BOUND))
    market.enter(bids.id, Phase.CHALLENGE)
    report = market.report(bids.id)
    with reverts("WrongPhase", bids.id, Phase.PRICE, Phase.CHALLENGE):
        market.price(bids.id, report)
    market.enter(bids.id, Phase.PRICE)
    market.price(bids.id, report)
    before = house_state(market, bids.id, [])
    with reverts("WrongPhase", bids.id, Phase.PRICE, Phase.FINAL):
        market.price(bids.id, report)
    assert house_state(market, bids.id, []) == before


# ---- finalise ----


def test_finalise_issues_each_batch_at_its_payment_held_between_reserve_and_value(
    market: Market, unpriced: Bids
) -> None:
    expected = awards(market, *unpriced.r1())
    low, high, inside = expected
    payments = [low.reserve_micro_usd - 1, high.value_micro_usd + 1,
                (inside.reserve_micro_usd + inside.value_micro_usd) // 2]
    held = [low.reserve_micro_usd, high.value_micro_usd, payments[2]]
    market.price(unpriced.id, market.report(unpriced.id, payments))
    receipts = market.finalise(unpriced.id)
    issued = [e for receipt in receipts for e in event_args(market.house, receipt, "Issued")]
    assert issued == [{"futureId": a.bid_digest, "roundId": unpriced.id, "paymentMicroUsd": p}
                      for a, p in zip(expected, held, strict=True)]
    for a, paid in zip(expected, held, strict=True):
        record = market.record(a.bid_digest)
        assert (record.status, record.bundle_index, record.provider_item,
                record.payment_micro_usd) == (Status.FUTURE, a.bundle_index, a.provider_item, paid)
        assert market.house.functions.refundOf(a.bid_digest).call() == (
            record.deposit_micro_usd - paid)
    assert market.round(unpriced.id).issued_count == len(expected)


def test_an_unpriced_round_issues_every_winner_at_its_reserve_cost(
    chain: Chain, market: Market, unpriced: Bids
) -> None:
    market.enter(unpriced.id, Phase.FINAL)
    assert not market.round(unpriced.id).priced
    first = market.batches(unpriced.id, POSTED_VERSION)[0]
    before = house_state(market, unpriced.id, unpriced.r1_bids())
    with reverts("LengthMismatch", 1, 0):
        chain.send(market.house.functions.finalise(
            unpriced.id, 0, [a.as_args() for a in first], [first[0].value_micro_usd]),
            market.governance)
    assert house_state(market, unpriced.id, unpriced.r1_bids()) == before
    market.finalise(unpriced.id)
    assert [market.record(a.bid_digest).payment_micro_usd
            for a in awards(market, *unpriced.r1())] == [
        reserve_cost(bid.bundles[i]) for bid, i in by_digest(market, *unpriced.r1())]


def test_finalise_refuses_a_batch_that_does_not_match_or_was_already_issued(
    chain: Chain, market: Market, unpriced: Bids
) -> None:
    report = market.report(unpriced.id)
    first = market.batches(unpriced.id, POSTED_VERSION)[0]
    paid = list(report.payments_micro_usd[:1])
    finalise = market.house.functions.finalise

    def issue(batch: int, given: list[Award], payments: list[int]) -> Any:
        return chain.send(finalise(unpriced.id, batch, [a.as_args() for a in given], payments),
                          market.governance)

    with reverts("WrongPhase", unpriced.id, Phase.FINAL, Phase.PRICE):
        issue(0, first, paid)
    market.price(unpriced.id, report)
    richer = [replace(first[0], reserve_micro_usd=first[0].reserve_micro_usd + 1)]
    before = house_state(market, unpriced.id, unpriced.r1_bids())
    with reverts("BatchMismatch", unpriced.id, POSTED_VERSION, 0):
        issue(0, richer, paid)
    with reverts("BatchMismatch", unpriced.id, POSTED_VERSION, 0):
        issue(0, first, [paid[0] + 1])
    with reverts("BatchMismatch", unpriced.id, POSTED_VERSION, 2):
        issue(2, [], [])
    assert house_state(market, unpriced.id, unpriced.r1_bids()) == before
    issue(0, first, paid)
    before = house_state(market, unpriced.id, unpriced.r1_bids())
    with reverts("BatchMismatch", unpriced.id, POSTED_VERSION, 0):
        issue(0, first, paid)
    assert house_state(market, unpriced.id, unpriced.r1_bids()) == before


# ---- release ----


def test_release_frees_losers_only_once_every_batch_is_issued(
    chain: Chain, market: Market, unpriced: Bids, rival: LocalAccount
) -> None:
    market.enter(unpriced.id, Phase.FINAL)
    first = market.batches(unpriced.id, POSTED_VERSION)[0]
    chain.send(market.house.functions.finalise(unpriced.id, 0, [a.as_args() for a in first], []),
               market.governance)
    losers = [market.digest(b) for b in unpriced.losers_of_r1()]
    before = house_state(market, unpriced.id, unpriced.r1_bids())
    with reverts("NotAllIssued", unpriced.id, len(first), len(unpriced.r1())):
        market.release(unpriced.id, losers)
    assert house_state(market, unpriced.id, unpriced.r1_bids()) == before
    rest = market.batches(unpriced.id, POSTED_VERSION)[1]
    chain.send(market.house.functions.finalise(unpriced.id, 1, [a.as_args() for a in rest], []),
               market.governance)
    rivals = [b for b in unpriced.losers_of_r1() if b.bidder == rival.address]
    locked, budget = market.locked(rival.address), market.budget(rival.address)
    stakes = sum(market.stake_of(market.digest(b)) for b in rivals)
    receipt = market.release(unpriced.id, losers)
    assert [e["digest"] for e in event_args(market.house, receipt, "Released")] == losers
    assert {market.record(d).status for d in losers} == {Status.RELEASED}
    assert [market.house.functions.refundOf(d).call() for d in losers] == [
        b.max_value_micro_usd for b in unpriced.losers_of_r1()]
    assert market.locked(rival.address) == locked - stakes
    assert market.budget(rival.address) == budget + sum(b.epsilon_micros for b in rivals)


def test_release_refuses_winners_unrevealed_bids_bids_of_other_rounds_and_released_ones(
    market: Market, unpriced: Bids
) -> None:
    market.enter(unpriced.id, Phase.FINAL)
    market.finalise(unpriced.id)
    market.release(unpriced.id, [market.digest(unpriced.cheap)])
    refused = [
        (unpriced.a, ("UnexpectedStatus", Status.REVEALED, Status.FUTURE)),
        (unpriced.sealed, ("UnexpectedStatus", Status.REVEALED, Status.COMMITTED)),
        (unpriced.cheap, ("UnexpectedStatus", Status.REVEALED, Status.RELEASED)),
        (unpriced.equity, ("BidFromOtherRound", unpriced.capped)),
    ]
    involved = [unpriced.high, *(bid for bid, _ in refused)]
    before = house_state(market, unpriced.id, involved)
    for bid, (error, *args) in refused:
        with reverts(error, hex32(market.digest(bid)), *args):
            market.release(unpriced.id, [market.digest(unpriced.high), market.digest(bid)])
    assert house_state(market, unpriced.id, involved) == before


# ---- close ----


def test_close_waits_for_the_final_phase_then_releases_the_posters_and_providers_bonds_once(
    market: Market, unpriced: Bids
) -> None:
    before = house_state(market, unpriced.id, [], market.provider)
    with reverts("WrongPhase", unpriced.id, Phase.FINAL, Phase.PRICE):
        market.close(unpriced.id)
    assert house_state(market, unpriced.id, [], market.provider) == before
    market.price(unpriced.id)
    fills = market.result(unpriced.id, POSTED_VERSION).fill_count
    before = house_state(market, unpriced.id, [], market.provider)
    with reverts("NotAllIssued", unpriced.id, 0, fills):
        market.close(unpriced.id)
    assert house_state(market, unpriced.id, [], market.provider) == before
    market.finalise(unpriced.id)
    auctioneer = bond_of(market, market.auctioneer.address)
    provider = bond_of(market, market.provider.address)
    second = bond_of(market, unpriced.second.address)
    receipt = market.close(unpriced.id)
    assert event_args(market.house, receipt, "Closed") == [{"roundId": unpriced.id}]
    # Each provider keeps one slash per future it sold (by the future's last-ending item) and
    # gets the rest of its asks' bond back.
    sold = Counter(a.provider_item < len(ITEMS) - 1
                   for batch in market.batches(unpriced.id, POSTED_VERSION) for a in batch)
    provider_held, second_held = sold[True] * PROVIDER_SLASH, sold[False] * PROVIDER_SLASH
    provider_units = sum(ask.capacity for ask in ITEMS[:-1]) * PROVIDER_BOND_PER_UNIT
    second_units = SECOND_ASK.capacity * PROVIDER_BOND_PER_UNIT
    assert event_args(market.house, receipt, "DeliveryBondHeld") == [
        {"roundId": unpriced.id, "provider": market.provider.address,
         "heldWei": provider_held, "futures": sold[True]},
        {"roundId": unpriced.id, "provider": unpriced.second.address,
         "heldWei": second_held, "futures": sold[False]},
    ]
    assert event_args(market.system.vault, receipt, "BondReleased") == [
        {"account": market.auctioneer.address, "amount": AUCTIONEER_BOND},
        {"account": market.provider.address, "amount": provider_units - provider_held},
        {"account": unpriced.second.address, "amount": second_units - second_held},
    ]
    assert bond_of(market, market.auctioneer.address) == (
        auctioneer[0] + AUCTIONEER_BOND, auctioneer[1] - AUCTIONEER_BOND)
    assert bond_of(market, market.provider.address) == (
        provider[0] + provider_units - provider_held, provider[1] - provider_units + provider_held)
    assert bond_of(market, unpriced.second.address) == (
        second[0] + second_units - second_held, second[1] - second_units + second_held)
    assert ProviderBond.read(market.house, unpriced.id, market.provider.address) == (
        ProviderBond(provider_held, sold[True]))
    before = house_state(market, unpriced.id, [], market.provider)
    with reverts("RoundClosed", unpriced.id):
        market.close(unpriced.id)
    assert house_state(market, unpriced.id, [], market.provider) == before


def test_close_after_a_challenge_releases_the_standing_challengers_bond(
    market: Market, bids: Bids, outsider: LocalAccount
) -> None:
    market.post(bids.id, *bids.r1(), claim=(FEASIBLE, LOOSE_BOUND))
    market.enter(bids.id, Phase.CHALLENGE)
    market.challenge(bids.id, outsider, *bids.r2())
    market.enter(bids.id, Phase.FINAL)
    market.finalise(bids.id)
    bonded, locked = bond_of(market, outsider.address)
    receipt = market.close(bids.id)
    assert event_args(market.system.vault, receipt, "BondReleased")[0] == {
        "account": outsider.address, "amount": CHALLENGER_BOND}
    assert bond_of(market, outsider.address) == (bonded + CHALLENGER_BOND,
                                                 locked - CHALLENGER_BOND)
    # The replaced auctioneer's bond was settled when it was replaced: none is left to release.
    assert bond_of(market, market.auctioneer.address)[1] == 0


def test_a_round_nobody_posted_is_final_after_its_window_and_closes_with_the_asks_bonds(
    market: Market, bids: Bids
) -> None:
    market.enter(bids.id, Phase.FINAL)
    before = house_state(market, bids.id, [], market.provider)
    with reverts("WrongPhase", bids.id, Phase.PRICE, Phase.FINAL):
        market.price(bids.id, market.report(bids.id, payments=[]))
    assert house_state(market, bids.id, [], market.provider) == before
    provider = bond_of(market, market.provider.address)
    market.release(bids.id, [market.digest(b) for b in (bids.a, bids.b)])
    receipt = market.close(bids.id)
    released = event_args(market.system.vault, receipt, "BondReleased")
    assert [e["account"] for e in released] == [market.provider.address, bids.second.address]
    assert bond_of(market, market.provider.address)[1] == provider[1] - sum(
        ask.capacity for ask in ITEMS[:-1]) * PROVIDER_BOND_PER_UNIT
    assert market.round(bids.id).standing_version == 0


def test_an_absurd_claimed_bound_counts_only_up_to_the_policys_widest_gap(
    market: Market, bids: Bids, outsider: LocalAccount
) -> None:
    """Else an auctioneer could claim a bound nobody can beat and never be slashed."""
    weak = [(bids.b, 0)]  # 6 USD
    posted, beating = welfare(*weak), welfare(*bids.r2())
    widest = posted + posted * MAX_CLAIMED_GAP_BPS // 10_000
    assert posted < widest < beating  # the numbers this test rests on
    market.post(bids.id, *weak, claim=(FEASIBLE, 2**128 - 1))
    market.enter(bids.id, Phase.CHALLENGE)
    receipt = market.challenge(bids.id, outsider, *bids.r2())
    assert _replaced(market, receipt)["slashedWei"] == AUCTIONEER_SLASH
