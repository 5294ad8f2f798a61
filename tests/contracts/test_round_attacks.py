"""The seven attacks of issue 15 ("Round integrity"), each run as its attacker would run it on
the embedded chain, and each shown refused with nothing it could have touched changed. The
`attacker` is a funded, bonded account with no role; `buyer` and `rival` bid honestly (`rival`
also answers challenges); the auctioneer posts the honest result.

1. A challenger sets every winner's price:
   test_a_challenger_cannot_set_prices_only_the_quorums_report_does_and_within_each_bundle
2. A challenger wins with bids the auctioneer had to exclude:
   test_a_bid_expiring_before_the_clearing_time_is_refused_at_commit_and_cannot_fill,
   test_a_bid_over_its_purposes_epsilon_limit_is_refused_at_reveal_and_cannot_fill,
   test_a_challenge_with_a_tier_the_bids_risk_band_may_not_use_is_refused,
   test_a_challenge_past_the_risk_caps_or_into_the_equity_reservation_is_refused,
   test_a_zero_unit_bundle_is_refused_at_reveal_and_cannot_fill,
   test_a_challenge_in_the_last_block_is_answered_and_the_answer_takes_its_bond
3. One reveal stops the honest auctioneer:
   test_unknown_codes_are_refused_at_commit_and_at_post_asks,
   test_zero_units_and_items_outside_the_round_are_refused_at_reveal,
   test_a_bundle_spanning_two_providers_is_refused_per_fill_and_the_rest_of_the_result_posts
4. One provider fills the round:
   test_an_ask_of_zero_capacity_is_refused,
   test_every_unit_offered_locks_the_providers_bond,
   test_one_provider_cannot_take_every_item_slot_and_an_honest_provider_still_posts
5. The bidder picks its own stake:
   test_a_risk_of_zero_or_outside_the_policys_bands_is_refused_at_commit
6. Reveal as an option:
   test_an_unrevealed_bid_forfeits_the_fee_and_the_policys_share_of_its_deposit
7. Frozen result versions; governance changing rates mid-round:
   test_result_versions_are_uint32_and_challenges_keep_replacing_each_other,
   test_a_policy_registered_mid_round_leaves_the_rounds_rates_alone
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import Bid, Bundle, envelope_hash, terms_args
from chain.compiler import artifact
from chain.connection import Chain
from chain.settlement import POSTED_VERSION, Phase, SolverStatus, Status
from tests.contracts.round_support import (
    BPS,
    CAPPED,
    CAPPED_RESERVATION_BPS,
    CAPPED_TIER_RISK_CAP,
    CAPPED_TOTAL_RISK_CAP,
    ITEMS,
    SECOND_ASK,
    TOTAL,
    awards,
    block_timestamp,
    bond_of,
    code_field,
    cst_balance,
    hex32,
    house_state,
    needed_welfare,
    next_block_at,
    open_round_under,
    post_asks,
    register_policy,
    risk_loads,
    second_provider,
    welfare,
)
from tests.contracts.settlement_fixtures import (
    ANSWER_WINDOW,
    ASKS,
    AUCTIONEER_BOND,
    AUCTIONEER_SLASH,
    CHALLENGER_BOND,
    CST,
    FORFEIT_BPS,
    FORFEIT_FEE,
    HIGH_RISK_BPS,
    LOW_RISK_BPS,
    MEDIUM_RISK_BPS,
    POLICY,
    PROVIDER_BOND_PER_UNIT,
    RATES,
    RESEARCH,
    RESEARCH_MAX_EPSILON,
    USD,
    Market,
    fund_and_bond,
    fund_bidder,
)
from tests.support import event_args, reverts

OPTIMAL, FEASIBLE = SolverStatus.OPTIMAL, SolverStatus.FEASIBLE
ATTACKER_BOND = 100 * CST
# Small enough that the attacker's ten bids, one of them over the research limit, fit its
# 10 ε grant.
ATTACKER_EPSILON = 500_000


@dataclass(frozen=True)
class Scene:
    """Two rounds in their reveal phase, every bid committed and the honest ones revealed: `id`
    sells ITEMS (the provider's items 0–3, the second provider's item 4), `capped` sells ASKS
    under CAPPED."""

    id: int
    capped: int
    second: str  # the provider of item 4
    a: Bid  # buyer: items 0, 1 × 2, 3 for 20 USD (welfare 15 USD)
    b: Bid  # rival: item 2 × 4 for 12 USD (8 USD)
    late: Bid  # rival: item 3 × 2 for 6 USD (4 USD)
    c: Bid  # capped, buyer: item 1 × 2 for 5 USD
    tiered: Bid  # attacker, high risk, on certified item 2
    zero: Bid  # attacker: a bundle of zero units of item 3
    greedy: Bid  # attacker: one micro-ε over research's limit
    mixed: Bid  # attacker: items 3 and 4, of two providers
    outside: Bid  # attacker: item 5 of a round of five items
    kept: Bid  # attacker: item 3 × 1 for 3 USD, the option it reveals
    dropped: Bid  # attacker: item 3 × 3 for 60 USD, the option it leaves sealed
    over_tier: Bid  # capped, attacker, medium risk, equity class 1: item 0 × 6
    over_total: Bid  # capped, attacker, equity class 1: items 0, 2 × 5, 6
    hoarder: Bid  # capped, attacker: item 0 × 6, past the open half

    def honest(self) -> list[tuple[Bid, int]]:
        """The honest optimum of the main round: a, b and late, 27 USD of welfare."""
        return [(self.a, 0), (self.b, 0), (self.late, 0)]


@pytest.fixture(scope="module")
def attacker(market: Market, outsider: LocalAccount) -> LocalAccount:
    """An account with no role, funded as a bidder and bonded like a provider or challenger."""
    fund_bidder(market, outsider, lambda call: market.chain.send(call, outsider))
    fund_and_bond(market.system, market.governance, outsider, ATTACKER_BOND)
    return outsider


@pytest.fixture(scope="module")
def scene(market: Market, buyer: LocalAccount, rival: LocalAccount,
          attacker: LocalAccount) -> Scene:
    second = second_provider(market)
    fund_and_bond(market.system, market.governance, rival, ATTACKER_BOND)
    round_id = market.open_round()
    post_asks(market, round_id, (SECOND_ASK,), second)
    capped = open_round_under(market, CAPPED)

    def attack(round_: int, *bundles: Bundle, **terms: Any) -> Bid:
        return market.bid(attacker, round_, *bundles,
                          **{"epsilon_micros": ATTACKER_EPSILON, **terms})

    made = Scene(
        round_id, capped, second.address,
        a=market.bid(buyer, round_id, Bundle((0, 1), (2, 3), 20 * USD)),
        b=market.bid(rival, round_id, Bundle((2,), (4,), 12 * USD)),
        late=market.bid(rival, round_id, Bundle((3,), (2,), 6 * USD), nonce=1),
        c=market.bid(buyer, capped, Bundle((1,), (2,), 5 * USD)),
        tiered=attack(round_id, Bundle((2,), (1,), 20 * USD), risk_bps=HIGH_RISK_BPS),
        zero=attack(round_id, Bundle((3,), (0,), 20 * USD), nonce=1),
        greedy=attack(round_id, Bundle((3,), (1,), 20 * USD), nonce=2,
                      epsilon_micros=RESEARCH_MAX_EPSILON + 1),
        mixed=attack(round_id, Bundle((3, 4), (1, 1), 20 * USD), nonce=3),
        outside=attack(round_id, Bundle((len(ITEMS),), (1,), 20 * USD), nonce=4),
        kept=attack(round_id, Bundle((3,), (1,), 3 * USD), nonce=5),
        dropped=attack(round_id, Bundle((3,), (3,), 60 * USD), nonce=6),
        over_tier=attack(capped, Bundle((0,), (6,), 30 * USD), risk_bps=MEDIUM_RISK_BPS,
                         equity_class=1),
        over_total=attack(capped, Bundle((0, 2), (5, 6), 20 * USD), nonce=1, equity_class=1),
        hoarder=attack(capped, Bundle((0,), (6,), 20 * USD), nonce=2),
    )
    honest = [(made.a, buyer), (made.b, rival), (made.late, rival), (made.c, buyer)]
    attacks = [made.tiered, made.zero, made.greedy, made.mixed, made.outside, made.kept,
               made.dropped, made.over_tier, made.over_total, made.hoarder]
    for bid, bidder in [*honest, *((bid, attacker) for bid in attacks)]:
        market.commit(bid, bidder)
    market.enter(capped, Phase.REVEAL)
    assert market.phase(round_id) is Phase.REVEAL
    for bid, bidder in honest:
        market.reveal(bid, bidder)
    return made


def _to_challenge(market: Market, scene: Scene, attacker: LocalAccount,
                  *chosen: tuple[Bid, int], claim: tuple[int, int] = (OPTIMAL, 0),
                  attacks: tuple[Bid, ...] = ()) -> None:
    """The attacker reveals `attacks` (bids the chain accepts) after the honest reveals; the
    auctioneer posts `chosen` (by default the honest optimum), and c in the capped round when
    an attack is there; the rounds enter their challenge phase."""
    capped = any(bid.round_id == scene.capped for bid in attacks)
    for bid in attacks:
        market.reveal(bid, attacker)
    # The capped round opened a few blocks after the main one: inside its phase, both are.
    market.enter(scene.capped, Phase.POST)
    market.post(scene.id, *(chosen or scene.honest()), claim=claim)
    if capped:
        market.post(scene.capped, (scene.c, 0))
    market.enter(scene.capped, Phase.CHALLENGE)


def _fresh_round(market: Market) -> int:
    """A round of its own, in its commit phase, with no asks yet."""
    return market.open_round(asks=())


# ---- 1: a challenger cannot set prices ----


def _field_names(entries: list[dict[str, Any]]) -> set[str]:
    names = set()
    for entry in entries:
        names.add(entry["name"])
        names |= _field_names(entry.get("components", []))
    return names


def test_a_challenger_cannot_set_prices_only_the_quorums_report_does_and_within_each_bundle(
    chain: Chain, market: Market, scene: Scene, attacker: LocalAccount
) -> None:
    (challenge,) = [e for e in artifact("ClearingHouse").abi if e.get("name") == "challenge"]
    assert not [name for name in _field_names(challenge["inputs"])
                if "payment" in name.lower() or "price" in name.lower()]
    _to_challenge(market, scene, attacker, (scene.a, 0),
                  claim=(FEASIBLE, welfare(*scene.honest())))
    chosen = [(scene.a, 0), (scene.b, 0)]
    market.challenge(scene.id, attacker, *chosen)
    market.enter(scene.id, Phase.PRICE)
    a_award, b_award = (awards(market, (bid, 0))[0] for bid in (scene.a, scene.b))
    order = [award.bid_digest for award in awards(market, *chosen)]
    # The attacker prices a at its whole value and b at nothing, signing the report itself,
    # alone and beside a node of the quorum.
    wanted = {a_award.bid_digest: a_award.value_micro_usd, b_award.bid_digest: 0}
    forged = market.report(scene.id, [wanted[d] for d in order])
    items, payments = list(forged.item_prices_micro_usd), list(forged.payments_micro_usd)
    pair = sorted([market.nodes[0], attacker], key=lambda n: int(n.address, 16))
    price = market.house.functions.price
    before = house_state(market, scene.id, [scene.a, scene.b], attacker)
    with reverts("BelowThreshold", 1, 2):
        chain.send(price(scene.id, items, payments, market.sign(forged, [attacker])), attacker)
    with reverts("UnknownSigner", pair.index(attacker), attacker.address):
        chain.send(price(scene.id, items, payments, market.sign(forged, pair)), attacker)
    assert house_state(market, scene.id, [scene.a, scene.b], attacker) == before
    assert market.phase(scene.id) is Phase.PRICE
    # The quorum prices a at 10 USD and, in error, b above its value: b pays its value.
    quorum = {a_award.bid_digest: 10 * USD, b_award.bid_digest: b_award.value_micro_usd + USD}
    market.price(scene.id, market.report(scene.id, [quorum[d] for d in order]), sender=attacker)
    market.finalise(scene.id)
    assert market.record(a_award.bid_digest).payment_micro_usd == 10 * USD
    assert market.record(b_award.bid_digest).payment_micro_usd == b_award.value_micro_usd


# ---- 2: a challenger cannot win with bids the auctioneer had to exclude ----


def _refused_challenge(market: Market, attacker: LocalAccount, round_id: int,
                       chosen: list[tuple[Bid, int]], error: tuple[Any, ...]) -> None:
    """The attacker's challenge of `chosen` — more welfare than the standing honest result —
    is refused with `error`, and the honest result stands as it was."""
    involved = [bid for bid, _ in chosen]
    before = house_state(market, round_id, involved, attacker)
    with reverts(*error):
        market.challenge(round_id, attacker, *chosen)
    after = house_state(market, round_id, involved, attacker)
    assert after == before
    assert (after["round"].standing_version, after["round"].version_count) == (
        POSTED_VERSION, POSTED_VERSION)


def test_a_bid_expiring_before_the_clearing_time_is_refused_at_commit_and_cannot_fill(
    market: Market, attacker: LocalAccount
) -> None:
    round_id = _fresh_round(market)
    deadlines = market.round(round_id).deadlines
    stale = market.bid(attacker, round_id, Bundle((0,), (1,), 50 * USD),
                       expiry_timestamp=deadlines.commit_timestamp,
                       epsilon_micros=ATTACKER_EPSILON)
    before = house_state(market, round_id, [], attacker)
    with reverts("BidExpired", stale.expiry_timestamp, deadlines.reveal_timestamp):
        market.commit(stale, attacker)
    assert house_state(market, round_id, [], attacker) == before
    assert market.record(market.digest(stale)).status is Status.NONE
    market.enter(round_id, Phase.CHALLENGE)
    with reverts("UnexpectedStatus", hex32(market.digest(stale)), Status.REVEALED, Status.NONE):
        market.challenge(round_id, attacker, (stale, 0))
    assert house_state(market, round_id, [], attacker) == before


def test_a_bid_over_its_purposes_epsilon_limit_is_refused_at_reveal_and_cannot_fill(
    market: Market, scene: Scene, attacker: LocalAccount
) -> None:
    before = house_state(market, scene.id, [scene.greedy], attacker)
    with reverts("EpsilonAboveLimit", hex32(RESEARCH), scene.greedy.epsilon_micros,
                 RESEARCH_MAX_EPSILON):
        market.reveal(scene.greedy, attacker)
    assert house_state(market, scene.id, [scene.greedy], attacker) == before
    _to_challenge(market, scene, attacker)
    _refused_challenge(market, attacker, scene.id, [*scene.honest(), (scene.greedy, 0)], (
        "UnexpectedStatus", hex32(market.digest(scene.greedy)), Status.REVEALED,
        Status.COMMITTED))


def test_a_challenge_with_a_tier_the_bids_risk_band_may_not_use_is_refused(
    market: Market, scene: Scene, attacker: LocalAccount
) -> None:
    _to_challenge(market, scene, attacker, attacks=(scene.tiered,))
    item = scene.tiered.bundles[0].items[0]
    band = POLICY.rules.band_of(scene.tiered.risk_bps)
    assert band is not None and not POLICY.rules.band_tier_masks[band] >> ITEMS[item].tier & 1
    _refused_challenge(market, attacker, scene.id, [*scene.honest(), (scene.tiered, 0)], (
        "TierNotAllowed", hex32(market.digest(scene.tiered)), item, ITEMS[item].tier))


def test_a_challenge_past_the_risk_caps_or_into_the_equity_reservation_is_refused(
    market: Market, scene: Scene, attacker: LocalAccount
) -> None:
    _to_challenge(market, scene, attacker,
                  attacks=(scene.over_tier, scene.over_total, scene.hoarder))
    honest = (scene.c, 0)
    tier_load = risk_loads(honest, (scene.over_tier, 0), asks=ASKS)[1]
    total_loads = risk_loads(honest, (scene.over_total, 0), asks=ASKS)
    assert total_loads[1] <= CAPPED_TIER_RISK_CAP
    capacity = ASKS[0].capacity
    open_units = capacity - capacity * CAPPED_RESERVATION_BPS // BPS
    refused = [
        (scene.over_tier, ("RiskCapExceeded", scene.capped, 1, tier_load, CAPPED_TIER_RISK_CAP)),
        (scene.over_total, ("RiskCapExceeded", scene.capped, TOTAL, total_loads[TOTAL],
                            CAPPED_TOTAL_RISK_CAP)),
        (scene.hoarder, ("ReservationBreached", scene.capped, 0,
                         scene.hoarder.bundles[0].quantities[0], open_units)),
    ]
    for bid, error in refused:
        assert welfare((bid, 0), asks=ASKS) > 0
        _refused_challenge(market, attacker, scene.capped, [honest, (bid, 0)], error)


def test_a_zero_unit_bundle_is_refused_at_reveal_and_cannot_fill(
    market: Market, scene: Scene, attacker: LocalAccount
) -> None:
    before = house_state(market, scene.id, [scene.zero], attacker)
    with reverts("MalformedBundle", 0):
        market.reveal(scene.zero, attacker)
    assert house_state(market, scene.id, [scene.zero], attacker) == before
    _to_challenge(market, scene, attacker)
    _refused_challenge(market, attacker, scene.id, [*scene.honest(), (scene.zero, 0)], (
        "UnexpectedStatus", hex32(market.digest(scene.zero)), Status.REVEALED,
        Status.COMMITTED))


def test_a_challenge_in_the_last_block_is_answered_and_the_answer_takes_its_bond(
    market: Market, scene: Scene, attacker: LocalAccount, rival: LocalAccount
) -> None:
    # The auctioneer's solver stopped at its time limit with a alone, and the bound it proved.
    _to_challenge(market, scene, attacker, (scene.a, 0),
                  claim=(FEASIBLE, welfare(*scene.honest())))
    deadline = market.round(scene.id).deadlines.challenge_timestamp
    auctioneer = bond_of(market, market.auctioneer.address)
    next_block_at(market, deadline)
    receipt = market.challenge(scene.id, attacker, (scene.a, 0), (scene.late, 0))
    assert block_timestamp(market, receipt) == deadline
    (sniped,) = event_args(market.house, receipt, "ResultReplaced")
    assert sniped["challengeEndTimestamp"] == deadline + ANSWER_WINDOW
    # Beaten within the bound it declared, the auctioneer keeps its whole bond.
    assert sniped["slashedWei"] == 0
    assert bond_of(market, market.auctioneer.address) == (
        auctioneer[0] + AUCTIONEER_BOND, auctioneer[1] - AUCTIONEER_BOND)
    sniper, wallet = bond_of(market, attacker.address), cst_balance(market, rival.address)
    next_block_at(market, deadline + ANSWER_WINDOW)
    receipt = market.challenge(scene.id, rival, *scene.honest())
    (answer,) = event_args(market.house, receipt, "ResultReplaced")
    assert (answer["replacedVersion"], answer["slashedWei"]) == (sniped["version"],
                                                                 CHALLENGER_BOND)
    assert bond_of(market, attacker.address) == (sniper[0], sniper[1] - CHALLENGER_BOND)
    assert cst_balance(market, rival.address) == wallet + CHALLENGER_BOND
    market.settle(scene.id)
    winners = [award.bid_digest for award in awards(market, *scene.honest())]
    assert [market.record(d).status for d in winners] == [Status.FUTURE] * len(winners)


# ---- 3: one reveal cannot stop the auctioneer ----


def test_unknown_codes_are_refused_at_commit_and_at_post_asks(
    market: Market, attacker: LocalAccount
) -> None:
    round_id = _fresh_round(market)
    classes = POLICY.rules.equity_class_count
    unknown_class = market.bid(attacker, round_id, Bundle((0,), (1,), USD),
                               equity_class=classes, epsilon_micros=ATTACKER_EPSILON)
    asks = [(replace(ASKS[0], tier=9), ("UnknownCode", code_field("tier"), 9)),
            (replace(ASKS[0], kind=3), ("UnknownCode", code_field("kind"), 3))]
    before = house_state(market, round_id, [], attacker)
    with reverts("UnknownCode", code_field("equityClass"), classes):
        market.commit(unknown_class, attacker)
    for ask, error in asks:
        with reverts(*error):
            post_asks(market, round_id, (ASKS[0], ask), attacker)
    assert house_state(market, round_id, [], attacker) == before
    assert market.record(market.digest(unknown_class)).status is Status.NONE
    assert market.round(round_id).item_count == 0


def test_zero_units_and_items_outside_the_round_are_refused_at_reveal(
    market: Market, scene: Scene, attacker: LocalAccount
) -> None:
    before = house_state(market, scene.id, [scene.zero, scene.outside], attacker)
    with reverts("MalformedBundle", 0):
        market.reveal(scene.zero, attacker)
    with reverts("UnknownItem", scene.id, len(ITEMS)):
        market.reveal(scene.outside, attacker)
    assert house_state(market, scene.id, [scene.zero, scene.outside], attacker) == before


def test_a_bundle_spanning_two_providers_is_refused_per_fill_and_the_rest_of_the_result_posts(
    market: Market, scene: Scene, attacker: LocalAccount
) -> None:
    market.reveal(scene.mixed, attacker)
    market.enter(scene.capped, Phase.POST)
    error = ("MixedProviders", hex32(market.digest(scene.mixed)), market.provider.address,
             scene.second)
    involved = [scene.a, scene.b, scene.mixed]
    before = house_state(market, scene.id, involved)
    with reverts(*error):
        market.post(scene.id, (scene.a, 0), (scene.b, 0), (scene.mixed, 0))
    assert house_state(market, scene.id, involved) == before
    market.post(scene.id, (scene.a, 0), (scene.b, 0))
    assert market.result(scene.id, POSTED_VERSION).welfare_micro_usd == welfare(
        (scene.a, 0), (scene.b, 0))
    market.enter(scene.id, Phase.CHALLENGE)
    _refused_challenge(market, attacker, scene.id, [(scene.a, 0), (scene.b, 0),
                                                    (scene.mixed, 0)], error)


# ---- 4: one provider cannot fill the round ----


def test_an_ask_of_zero_capacity_is_refused(market: Market, attacker: LocalAccount) -> None:
    round_id = _fresh_round(market)
    before = house_state(market, round_id, [], attacker)
    with reverts("ZeroCapacity", 1):
        post_asks(market, round_id, (ASKS[0], replace(ASKS[0], capacity=0)), attacker)
    assert house_state(market, round_id, [], attacker) == before


def test_every_unit_offered_locks_the_providers_bond(
    market: Market, attacker: LocalAccount
) -> None:
    round_id = _fresh_round(market)
    bonded, locked = bond_of(market, attacker.address)
    receipt = post_asks(market, round_id, ASKS[:2], attacker)
    locked_wei = sum(ask.capacity for ask in ASKS[:2]) * PROVIDER_BOND_PER_UNIT
    assert event_args(market.system.vault, receipt, "BondLocked") == [
        {"account": attacker.address, "amount": locked_wei}]
    assert bond_of(market, attacker.address) == (bonded - locked_wei, locked + locked_wei)
    left = bonded - locked_wei
    flood = replace(ASKS[0], capacity=left // PROVIDER_BOND_PER_UNIT + 1)
    before = house_state(market, round_id, [], attacker)
    with reverts("InsufficientBond", attacker.address, flood.capacity * PROVIDER_BOND_PER_UNIT,
                 left):
        post_asks(market, round_id, (flood,), attacker)
    assert house_state(market, round_id, [], attacker) == before


def test_one_provider_cannot_take_every_item_slot_and_an_honest_provider_still_posts(
    market: Market, attacker: LocalAccount
) -> None:
    round_id = _fresh_round(market)
    most = RATES.max_items_per_provider
    junk = (replace(ASKS[0], capacity=1),) * most
    post_asks(market, round_id, junk, attacker)
    before = house_state(market, round_id, [], attacker)
    with reverts("TooManyItemsOfProvider", round_id, attacker.address, most + 1, most):
        post_asks(market, round_id, junk[:1], attacker)
    assert house_state(market, round_id, [], attacker) == before
    receipt = post_asks(market, round_id, ASKS[:1], market.provider)
    (posted,) = event_args(market.house, receipt, "AskPosted")
    assert (posted["item"], posted["provider"]) == (most, market.provider.address)


# ---- 5: the bidder does not pick its own stake ----


@pytest.mark.parametrize("risk_bps", [0, LOW_RISK_BPS - 1, BPS + 1])
def test_a_risk_of_zero_or_outside_the_policys_bands_is_refused_at_commit(
    market: Market, attacker: LocalAccount, risk_bps: int
) -> None:
    round_id = _fresh_round(market)
    bid = market.bid(attacker, round_id, Bundle((0,), (1,), 10 * USD), risk_bps=risk_bps,
                     epsilon_micros=ATTACKER_EPSILON)
    books = (market.usd(attacker.address), market.budget(attacker.address))
    before = house_state(market, round_id, [], attacker)
    with reverts("RiskOutsideBands", risk_bps, POLICY.rules.band_min_bps[0], BPS):
        market.commit(bid, attacker)
    assert house_state(market, round_id, [], attacker) == before
    assert (market.usd(attacker.address), market.budget(attacker.address)) == books
    assert market.record(market.digest(bid)).status is Status.NONE


# ---- 6: reveal as an option costs a share of the deposit ----


def test_an_unrevealed_bid_forfeits_the_fee_and_the_policys_share_of_its_deposit(
    chain: Chain, market: Market, scene: Scene, attacker: LocalAccount, rival: LocalAccount
) -> None:
    # The attacker has watched the honest reveals; it reveals only the option that suits it.
    market.reveal(scene.kept, attacker)
    forfeit = market.house.functions.forfeit(terms_args(scene.dropped),
                                             envelope_hash(scene.dropped))
    digest = market.digest(scene.dropped)
    before = house_state(market, scene.id, [scene.dropped], attacker)
    with reverts("WrongPhase", scene.id, Phase.POST, Phase.REVEAL):
        chain.send(forfeit, rival)
    assert house_state(market, scene.id, [scene.dropped], attacker) == before
    market.enter(scene.id, Phase.POST)
    deposit = scene.dropped.max_value_micro_usd
    fee = FORFEIT_FEE + deposit * FORFEIT_BPS // BPS
    assert FORFEIT_FEE < fee < deposit
    treasury = market.credit(market.governance.address)
    locked, budget = market.locked(attacker.address), market.budget(attacker.address)
    stake = market.stake_of(digest)
    receipt = chain.send(forfeit, rival)
    assert event_args(market.house, receipt, "Forfeited") == [
        {"digest": digest, "roundId": scene.id, "feeMicroUsd": fee}]
    assert market.credit(market.governance.address) == treasury + fee
    assert market.house.functions.refundOf(digest).call() == deposit - fee
    assert market.locked(attacker.address) == locked - stake
    assert market.budget(attacker.address) == budget + scene.dropped.epsilon_micros


# ---- 7: result versions do not run out; a round's rates are its own ----


def test_result_versions_are_uint32_and_challenges_keep_replacing_each_other(
    market: Market, scene: Scene, attacker: LocalAccount, rival: LocalAccount
) -> None:
    abi = {e["name"]: e for e in artifact("ClearingHouse").abi if e.get("type") == "function"}
    assert [i["type"] for i in abi["challenge"]["inputs"][:2]] == ["uint32", "uint32"]
    assert [o["type"] for o in abi["challenge"]["outputs"]] == ["uint32"]
    assert abi["resultOf"]["inputs"][1]["type"] == "uint32"
    fields = {c["name"]: c["type"] for c in abi["roundOf"]["outputs"][0]["components"]}
    assert (fields["standingVersion"], fields["versionCount"]) == ("uint32", "uint32")
    _to_challenge(market, scene, attacker, (scene.a, 0), claim=(FEASIBLE, 100 * USD),
                  attacks=(scene.kept,))
    ladder = [[(scene.a, 0), (scene.late, 0)], [(scene.a, 0), (scene.b, 0)],
              scene.honest(), [*scene.honest(), (scene.kept, 0)]]
    standing = welfare((scene.a, 0))
    for version, chosen in enumerate(ladder, start=POSTED_VERSION + 1):
        assert welfare(*chosen) >= needed_welfare(standing, RATES.min_improvement_bps)
        challenger = (attacker, rival)[version % 2]
        receipt = market.challenge(scene.id, challenger, *chosen)
        (replaced,) = event_args(market.house, receipt, "ResultReplaced")
        assert (replaced["version"], replaced["replacedVersion"]) == (version, version - 1)
        standing = welfare(*chosen)
    state = market.round(scene.id)
    assert state.standing_version == state.version_count == POSTED_VERSION + len(ladder)


HARSHER = replace(POLICY, rules=replace(POLICY.rules, rates=replace(
    RATES, auctioneer_slash_wei=AUCTIONEER_BOND, challenger_bond_wei=5 * CHALLENGER_BOND,
    forfeit_bps=BPS, min_improvement_bps=BPS // 2)))


def test_a_policy_registered_mid_round_leaves_the_rounds_rates_alone(
    chain: Chain, market: Market, scene: Scene, attacker: LocalAccount, rival: LocalAccount
) -> None:
    pinned = market.round(scene.id)
    harsher = register_policy(market, HARSHER)
    assert market.round(scene.id) == pinned
    _to_challenge(market, scene, attacker, (scene.a, 0), claim=(FEASIBLE, 0))
    # The round's forfeit is 5 % of the deposit, not the new policy's whole deposit.
    receipt = chain.send(market.house.functions.forfeit(
        terms_args(scene.dropped), envelope_hash(scene.dropped)), rival)
    deposit = scene.dropped.max_value_micro_usd
    assert event_args(market.house, receipt, "Forfeited")[0]["feeMicroUsd"] == (
        FORFEIT_FEE + deposit * FORFEIT_BPS // BPS)
    # A step of 0.1 % suffices, not 50 %; the bond locked and the slash burned are the round's.
    chosen = [(scene.a, 0), (scene.late, 0)]
    standing = welfare((scene.a, 0))
    assert (needed_welfare(standing, RATES.min_improvement_bps) <= welfare(*chosen)
            < needed_welfare(standing, HARSHER.rules.rates.min_improvement_bps))
    challenger = bond_of(market, attacker.address)
    auctioneer = bond_of(market, market.auctioneer.address)
    receipt = market.challenge(scene.id, attacker, *chosen)
    assert event_args(market.house, receipt, "ResultReplaced")[0]["slashedWei"] == (
        AUCTIONEER_SLASH)
    assert bond_of(market, attacker.address) == (
        challenger[0] - CHALLENGER_BOND, challenger[1] + CHALLENGER_BOND)
    assert bond_of(market, market.auctioneer.address) == (
        auctioneer[0] + AUCTIONEER_BOND - AUCTIONEER_SLASH, auctioneer[1] - AUCTIONEER_BOND)
    later = market.round(_fresh_round(market))
    assert later.policy_id == harsher != pinned.policy_id
