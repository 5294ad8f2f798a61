"""Property tests over whole random rounds (few examples: each is dozens of transactions), run
the way the protocol runs: commit, cancel, reveal, the auctioneer's post in batches, the
quorum's prices (or none, when the pricing window passes), futures issued batch by batch,
losers released, the round closed, forfeits, redemptions and verdicts, withdrawals.

Payments: every winner pays its pricing rule's amount — the quorum's price held between its
bundle's reserve cost and value, or its reserve cost when the round was not priced.
Escrow: every micro-USD paid in (prepaid deposits and shortfalls pulled at commit) is in the
clearing house or was withdrawn, and what the house holds is exactly what it owes — in-play
deposits, refunds, escrowed payments and credits (unspent prepayments, cancelled deposits,
provider proceeds, forfeits, refunds after a provider's fault).
Budget: registered = holders' balances + reserved + consumed, and reserved = the ε of every
bid still holding some. Stake: each account's locked CST is the sum of the stakes of the bids
it holds (as bidder, or as redeemer), and CST minted = supply + burned. Bonds: once the round
is closed, nothing of the auctioneer's or the provider's bond is held for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from chain.bid import Bid, Bundle, envelope_hash, terms_args
from chain.connection import Chain
from chain.ledger import Dataset, reserved_micro_epsilon
from chain.policy_oracle import submit
from chain.settlement import HOLDING, Phase, SolverStatus, Status
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from tests.contracts.round_support import (
    awards,
    bond_of,
    by_digest,
    reserve_cost,
)
from tests.contracts.settlement_fixtures import (
    ASKS,
    BUDGET_MICRO_EPSILON,
    DECLARATION_HASH,
    ORACLE_THRESHOLD,
    PROVIDER_SLASH,
    USD,
    Market,
)

IN_PLAY = {Status.COMMITTED, Status.REVEALED}
HOLDING_PAYMENT = {Status.FUTURE, Status.REDEEMED}

bundle = st.builds(
    lambda items, quantities, value: Bundle(tuple(sorted(items)), tuple(quantities[: len(items)]),
                                            value),
    st.lists(st.integers(0, len(ASKS) - 1), min_size=1, max_size=2, unique=True),
    st.lists(st.integers(1, 3), min_size=2, max_size=2),
    st.integers(1, 20).map(lambda whole: whole * USD),
)


@dataclass(frozen=True)
class Plan:
    """One bid's fate: its bundles, whether its bidder cancels it, whether it is revealed,
    which bundle the result fills (if any), where the quorum prices it (a share of the way
    from reserve cost to value, beyond either end when above 100 or negative), and its verdict
    if redeemed."""

    bundles: tuple[Bundle, ...]
    cancelled: bool
    revealed: bool
    filled: int | None
    price_share: int
    redeemed: bool
    fault: Fault


# Drawn so that most bids reach the result: a quarter are cancelled, a quarter left sealed.
plan = st.builds(
    Plan,
    st.lists(bundle, min_size=1, max_size=2).map(tuple),
    st.integers(0, 3).map(lambda drawn: drawn == 3),
    st.integers(0, 3).map(lambda drawn: drawn != 3),
    st.one_of(st.integers(0, 1), st.none()),
    st.integers(-20, 120),
    st.booleans(),
    st.sampled_from(list(Fault)),
)
# Every path at once: a winner priced above its value and redeemed against a provider at
# fault, one priced below its reserve cost and redeemed against its buyer, a loser, a bid
# left sealed and one cancelled.
EVERY_PATH = [
    Plan((Bundle((0, 1), (2, 1), 9 * USD),), False, True, 0, 150, True, Fault.PROVIDER),
    Plan((Bundle((2,), (3,), 8 * USD), Bundle((3,), (1,), 2 * USD)), False, True, 1, -50, True,
         Fault.BUYER),
    Plan((Bundle((1,), (1,), 4 * USD),), False, True, None, 0, False, Fault.NONE),
    Plan((Bundle((3,), (2,), 5 * USD),), False, False, 0, 0, False, Fault.NONE),
    Plan((Bundle((0,), (1,), 3 * USD),), True, True, 0, 0, False, Fault.NONE),
]


def _quoted(award_value: int, reserve: int, share: int) -> int:
    """The quorum's payment for a fill: `share` % of the way from reserve cost to value."""
    return max(reserve + (award_value - reserve) * share // 100, 0)


def _play(market: Market, plans: list[Plan], prepaid: list[int], priced: bool,
          split: int) -> tuple[list[Bid], dict[bytes, int]]:
    """Runs one round; returns its bids and what each winner must have paid."""
    chain, house = market.chain, market.house
    round_id = market.open_round()
    bidders = [market.bidders[i % 2] for i in range(len(plans))]
    bids = [market.bid(who, round_id, *p.bundles, nonce=i)
            for i, (who, p) in enumerate(zip(bidders, plans, strict=True))]
    for who, amount in zip(market.bidders, prepaid, strict=True):
        if amount:
            chain.send(house.functions.deposit(amount), who)
    for bid, who in zip(bids, bidders, strict=True):
        market.commit(bid, who)
    for bid, who, p in zip(bids, bidders, plans, strict=True):
        if p.cancelled:
            market.cancel(bid, who)
    live = [(b, who, p) for b, who, p in zip(bids, bidders, plans, strict=True)
            if not p.cancelled]
    market.enter(round_id, Phase.REVEAL)
    for bid, who, p in live:
        if p.revealed:
            market.reveal(bid, who)
    market.enter(round_id, Phase.POST)
    chosen = by_digest(market, *(
        (bid, p.filled) for bid, _, p in live
        if p.revealed and p.filled is not None and p.filled < len(p.bundles)
        and bid.bundles[p.filled].value_micro_usd >= reserve_cost(bid.bundles[p.filled], ASKS)))
    # In two batches when there are fills to split; one empty batch when there are none.
    batches = [batch for batch in (chosen[:split], chosen[split:]) if batch] or [[]]
    for batch in batches:
        market.post(round_id, *batch, claim=(SolverStatus.OPTIMAL, 0))
    winners = awards(market, *chosen, asks=ASKS)
    share = {market.digest(bid): p.price_share for bid, _, p in live}
    quoted = [_quoted(a.value_micro_usd, a.reserve_micro_usd, share[a.bid_digest])
              for a in winners]
    owed = {a.bid_digest: min(max(q, a.reserve_micro_usd), a.value_micro_usd) if priced
            else a.reserve_micro_usd for a, q in zip(winners, quoted, strict=True)}
    market.enter(round_id, Phase.PRICE)
    if priced:
        market.price(round_id, market.report(round_id, quoted))
    market.enter(round_id, Phase.FINAL)
    market.finalise(round_id)
    market.release(round_id, [market.digest(b) for b, _, p in live
                              if p.revealed and market.digest(b) not in owed])
    market.close(round_id)
    for bid, _, p in live:
        if not p.revealed:
            chain.send(house.functions.forfeit(terms_args(bid), envelope_hash(bid)),
                       market.governance)
    _redeem(market, [(bid, who, p) for bid, who, p in live if market.digest(bid) in owed])
    return bids, owed


def _redeem(market: Market, winners: list[tuple[Bid, LocalAccount, Plan]]) -> None:
    """Each winner its plan redeems runs its job, and the quorum's verdict settles it."""
    domain = verdict_domain(market.chain.chain_id, market.system.oracle.address)
    for bid, who, p in winners:
        if not p.redeemed:
            continue
        digest = market.digest(bid)
        future_id = int.from_bytes(digest, "big")
        market.chain.send(market.house.functions.redeem(future_id, DECLARATION_HASH), who)
        failed = [] if p.fault is Fault.NONE else ["regulator.epsilon_claim"]
        verdict = Verdict(digest, p.fault is Fault.NONE, p.fault, clauses_hash(failed),
                          market.config_digest)
        signers = market.nodes[:ORACLE_THRESHOLD]
        submit(market.system, market.governance, verdict,
               [(n.address, sign_verdict(n, domain, verdict)) for n in signers])


def _paid_in(market: Market, bids: list[Bid], prepaid: list[int]) -> int:
    """What the bidders paid the house: each commit takes its deposit from the credit first
    and pulls the shortfall, and every commit precedes every cancellation, so a bidder pays in
    the larger of its prepayment and its deposits."""
    return sum(
        max(amount, sum(b.max_value_micro_usd for b in bids if b.bidder == who.address))
        for who, amount in zip(market.bidders, prepaid, strict=True)
    )


def _accounts(market: Market) -> list[LocalAccount]:
    return [*market.bidders, market.provider, market.governance]


def _assert_escrow(market: Market, digests: list[bytes], expected_held: int) -> None:
    house = market.house.functions
    owed = sum(house.creditOf(a.address).call() for a in _accounts(market))
    for digest in digests:
        record = market.record(digest)
        if record.status in IN_PLAY:
            owed += record.deposit_micro_usd
        else:
            owed += house.refundOf(digest).call()
            owed += record.payment_micro_usd if record.status in HOLDING_PAYMENT else 0
    held = market.usd(market.house.address)
    assert held == owed == expected_held


def _withdraw_everything(market: Market, bids: list[Bid]) -> None:
    house = market.house.functions
    for account in _accounts(market):
        mine = [market.digest(b) for b in bids if b.bidder == account.address]
        owed = house.creditOf(account.address).call() + sum(house.refundOf(d).call() for d in mine)
        if owed:
            market.chain.send(house.withdraw(mine), account)


def _assert_budget(market: Market, digests: list[bytes]) -> None:
    ledger = market.system.ledger
    holders = [market.owner, *market.bidders]
    held = sum(market.budget(h.address) for h in holders)
    reserved = reserved_micro_epsilon(ledger, market.dataset)
    consumed = Dataset.read(ledger, market.dataset).consumed_micro_epsilon
    assert held + reserved + consumed == BUDGET_MICRO_EPSILON
    records = [market.record(d) for d in digests]
    assert reserved == sum(r.epsilon_micros for r in records if r.status in HOLDING)


def _assert_stake(market: Market, bids: list[Bid]) -> None:
    house, cst = market.house.functions, market.system.cst.functions
    held = {who.address: 0 for who in market.bidders}
    for bid in bids:
        digest = market.digest(bid)
        record = market.record(digest)
        if record.status in HOLDING:
            holder = (
                house.redeemerOf(digest).call() if record.status is Status.REDEEMED else bid.bidder
            )
            held[holder] += record.stake_wei
    assert {who: market.locked(who) for who in held} == held
    assert cst.totalSupply().call() + cst.totalBurned().call() == cst.totalMinted().call()


@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(plans=EVERY_PATH, prepaid=[5 * USD, 0], priced=True, split=1)
@given(
    plans=st.lists(plan, min_size=2, max_size=3),
    prepaid=st.lists(st.integers(0, 30).map(lambda whole: whole * USD), min_size=2, max_size=2),
    priced=st.booleans(),
    split=st.integers(0, 2),
)
def test_payments_escrow_budget_stake_and_bonds_hold_through_a_round(
    chain: Chain, market: Market, plans: list[Plan], prepaid: list[int], priced: bool,
    split: int,
) -> None:
    snapshot = chain.snapshot()
    try:
        before = sum(market.usd(a.address) for a in _accounts(market))
        bids, owed = _play(market, plans, prepaid, priced, split)
        event(f"{len(owed)} winners, {'priced' if priced else 'unpriced'}")
        assert {d: market.record(d).payment_micro_usd for d in owed} == owed
        digests = [market.digest(b) for b in bids]
        paid_in = _paid_in(market, bids, prepaid)
        _assert_escrow(market, digests, paid_in)
        _assert_budget(market, digests)
        _assert_stake(market, bids)
        assert bond_of(market, market.auctioneer.address)[1] == 0
        # The provider's bond stays committed to its futures, one slash each (less the slashes a
        # fault burned), until the last of them is judged.
        plan_of = {market.digest(bid): p for bid, p in zip(bids, plans, strict=True)}
        won = [plan_of[digest] for digest in owed]
        faulted = sum(p.redeemed and p.fault is Fault.PROVIDER for p in won)
        held = (len(won) - faulted) * PROVIDER_SLASH if any(not p.redeemed for p in won) else 0
        assert bond_of(market, market.provider.address)[1] == held
        _withdraw_everything(market, bids)
        paid_out = sum(market.usd(a.address) for a in _accounts(market)) - before + paid_in
        _assert_escrow(market, digests, paid_in - paid_out)
    finally:
        chain.revert_to(snapshot)
