"""Property tests over whole random rounds (few examples: each is dozens of transactions).

Escrow: every micro-USD paid in (prepaid deposits and shortfalls pulled at commit) is in the
clearing house or was withdrawn, and what the house holds is exactly what it owes — in-play
deposits, refunds, escrowed payments and credits (unspent prepayments, cancelled deposits,
provider proceeds, fees, refunds after a provider's fault).
Budget: registered = holders' balances + reserved + consumed, and reserved = the ε of every
bid still holding some. Stake: each account's locked CST is the sum of the stakes of the bids
it holds (as bidder, or as redeemer), and CST minted = supply + burned.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.bid import Bid, Bundle, envelope_hash, terms_args
from chain.connection import Chain
from chain.policy_oracle import register, submit
from chain.settlement import HOLDING, Phase, Status
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from tests.contracts.settlement_fixtures import ASKS, BUDGET_MICRO_EPSILON, USD, Market

IN_PLAY = {Status.COMMITTED, Status.REVEALED, Status.FILLED}
HOLDING_PAYMENT = {Status.FUTURE, Status.REDEEMED}

bundle = st.builds(
    lambda items, quantities, value: Bundle(tuple(items), tuple(quantities[: len(items)]), value),
    st.lists(st.integers(0, len(ASKS) - 1), min_size=1, max_size=2, unique=True),
    st.lists(st.integers(1, 3), min_size=2, max_size=2),
    st.integers(1, 20).map(lambda whole: whole * USD),
)


@dataclass(frozen=True)
class Plan:
    """One bid's fate: its bundles, whether its bidder cancels it, whether it is revealed,
    which bundle the result fills (if any) at what share of the way from reserve cost to value,
    and its verdict if redeemed."""

    bundles: tuple[Bundle, ...]
    cancelled: bool
    revealed: bool
    filled: int | None
    price_share: int
    redeemed: bool
    fault: Fault


plan = st.builds(
    Plan,
    st.lists(bundle, min_size=1, max_size=2).map(tuple),
    st.integers(0, 3).map(lambda drawn: drawn == 0),  # a quarter of bids are cancelled
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 1)),
    st.integers(0, 100),
    st.booleans(),
    st.sampled_from(list(Fault)),
)


@pytest.fixture(scope="module")
def config_digest(
    market: Market, governance: LocalAccount, oracle_nodes: list[LocalAccount]
) -> bytes:
    return register(market.system, governance, [n.address for n in oracle_nodes[:4]], 3)


def _payment(b: Bundle, share: int) -> int | None:
    reserve = sum(q * USD for q in b.quantities)
    return (
        None
        if b.value_micro_usd < reserve
        else reserve + (b.value_micro_usd - reserve) * share // 100
    )


def _play(
    market: Market,
    nodes: list[LocalAccount],
    config: bytes,
    plans: list[Plan],
    prepaid: list[int],
) -> list[Bid]:
    chain, house = market.chain, market.house
    round_id = market.open_round()
    bidders = [market.bidders[i % 2] for i in range(len(plans))]
    bids = [
        market.bid(who, round_id, *p.bundles, nonce=i)
        for i, (who, p) in enumerate(zip(bidders, plans, strict=True))
    ]
    for who, amount in zip(market.bidders, prepaid, strict=True):
        if amount:
            chain.send(house.functions.deposit(amount), who)
    for bid, who in zip(bids, bidders, strict=True):
        market.commit(bid, who)
    for bid, who, p in zip(bids, bidders, plans, strict=True):
        if p.cancelled:
            market.cancel(bid, who)
    live = [(b, who, p) for b, who, p in zip(bids, bidders, plans, strict=True) if not p.cancelled]
    market.enter(round_id, Phase.REVEAL)
    for bid, who, p in live:
        if p.revealed:
            market.reveal(bid, who)
    market.enter(round_id, Phase.POST)
    fills, winners = [], []
    for bid, _, p in live:
        if p.revealed and p.filled is not None and p.filled < len(p.bundles):
            payment = _payment(p.bundles[p.filled], p.price_share)
            if payment is not None:
                fills.append(market.fill(bid, p.filled, payment))
                winners.append(bid)
    market.post(round_id, *fills)
    market.enter(round_id, Phase.FINAL)
    losers = [b for b, _, p in live if p.revealed and b not in winners]
    market.finalise(
        round_id, [market.digest(b) for b in winners], [market.digest(b) for b in losers]
    )
    for bid, _, p in live:
        if not p.revealed:
            chain.send(
                house.functions.forfeit(terms_args(bid), envelope_hash(bid)), market.governance
            )
    domain = verdict_domain(chain.chain_id, market.system.oracle.address)
    for bid, who, p in live:
        if bid in winners and p.redeemed:
            chain.send(house.functions.redeem(int.from_bytes(market.digest(bid), "big")), who)
            failed = [] if p.fault is Fault.NONE else ["regulator.epsilon_claim"]
            verdict = Verdict(
                market.digest(bid), p.fault is Fault.NONE, p.fault, clauses_hash(failed), config
            )
            submit(
                market.system,
                market.governance,
                verdict,
                [(n.address, sign_verdict(n, domain, verdict)) for n in nodes[:3]],
            )
    return bids


def _paid_in(market: Market, bids: list[Bid], prepaid: list[int]) -> int:
    """What the bidders paid the house: each commit takes its deposit from the credit first
    and pulls the shortfall, and every commit precedes every cancellation, so a bidder pays in
    the larger of its prepayment and its deposits."""
    return sum(
        max(amount, sum(b.max_value_micro_usd for b in bids if b.bidder == who.address))
        for who, amount in zip(market.bidders, prepaid, strict=True)
    )


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


def _accounts(market: Market) -> list[LocalAccount]:
    return [*market.bidders, market.provider, market.governance]


def _withdraw_everything(market: Market, bids: list[Bid]) -> None:
    house = market.house.functions
    for account in _accounts(market):
        mine = [market.digest(b) for b in bids if b.bidder == account.address]
        owed = house.creditOf(account.address).call() + sum(house.refundOf(d).call() for d in mine)
        if owed:
            market.chain.send(house.withdraw(mine), account)


def _assert_budget(market: Market, digests: list[bytes]) -> None:
    ledger = market.system.ledger.functions
    holders = [market.owner, *market.bidders]
    held = sum(market.budget(h.address) for h in holders)
    reserved = ledger.reservedOf(market.dataset).call()
    assert held + reserved + ledger.datasetOf(market.dataset).call()[3] == BUDGET_MICRO_EPSILON
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
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plans=st.lists(plan, min_size=2, max_size=3),
    prepaid=st.lists(st.integers(0, 30).map(lambda whole: whole * USD), min_size=2, max_size=2),
)
def test_escrow_budget_and_stake_are_conserved_through_a_round(
    chain: Chain,
    market: Market,
    config_digest: bytes,
    oracle_nodes: list[LocalAccount],
    plans: list[Plan],
    prepaid: list[int],
) -> None:
    snapshot = chain.snapshot()
    try:
        before = sum(market.usd(a.address) for a in _accounts(market))
        bids = _play(market, oracle_nodes, config_digest, plans, prepaid)
        digests = [market.digest(b) for b in bids]
        paid_in = _paid_in(market, bids, prepaid)
        _assert_escrow(market, digests, paid_in)
        _assert_budget(market, digests)
        _assert_stake(market, bids)
        _withdraw_everything(market, bids)
        paid_out = sum(market.usd(a.address) for a in _accounts(market)) - before + paid_in
        _assert_escrow(market, digests, paid_in - paid_out)
    finally:
        chain.revert_to(snapshot)
