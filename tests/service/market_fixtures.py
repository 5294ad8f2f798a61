"""A market for the dashboard's tests on the embedded chain: one round cleared, priced and
closed, with a winner and two losers for different reasons, and a day later one trade of the
winner's future on the exchange; then, when a test wants a verdict, its buyer redeeming the
future and the oracle quorum finding the buyer at fault."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from chain.bid import Bid, Bundle
from chain.exchange import Side
from chain.policy_oracle import submit
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from market.result import LossReason
from service.background import opened
from tests.contracts.exchange_fixtures import Exchange
from tests.contracts.settlement_fixtures import ASKS, ORACLE_THRESHOLD, USD, Market, fund_bidder
from tests.support import event_args

WINNING_UNITS = 6  # of item 0's 10: the rival's 6 more do not fit
TRADE_PRICE = 30 * USD
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class ClearedRound:
    market: Market
    round_id: int
    winner: Bid  # Alice's, of item 0
    outbid: Bid  # Bob's, of item 0 too, worth less
    below_reserve: Bid  # Bob's, of item 1, worth less than its units' reserve

    def digest(self, bid: Bid) -> str:
        return "0x" + self.market.digest(bid).hex()

    @property
    def reasons(self) -> dict[str, LossReason]:
        return {self.digest(self.outbid): LossReason.OUTBID,
                self.digest(self.below_reserve): LossReason.BELOW_RESERVE}


def cleared_round(market: Market, alice: LocalAccount, bob: LocalAccount,
                  carol: LocalAccount) -> ClearedRound:
    """The round, and Carol buying Alice's future at `TRADE_PRICE` once Alice claimed it."""
    round_id = market.open_round()
    reserve = ASKS[0].reserve_price_micro_usd
    winner = market.bid(alice, round_id, Bundle((0,), (WINNING_UNITS,), 20 * USD), nonce=1)
    outbid = market.bid(bob, round_id, Bundle((0,), (WINNING_UNITS,), 10 * USD), nonce=2)
    below = market.bid(bob, round_id, Bundle((1,), (2,), reserve), nonce=3)
    market.commit_and_reveal(round_id, (winner, alice), (outbid, bob), (below, bob))
    market.post(round_id, (winner, 0))
    market.settle(round_id, [market.digest(outbid), market.digest(below)])
    chain, system = market.chain, market.system
    chain.send(system.clearing_house.functions.claim([market.digest(winner)]), alice)
    chain.send(system.usd.functions.mint(carol.address, 100 * USD), market.governance)
    exchange = Exchange(market)
    exchange.approve(alice, carol)
    chain.advance_time(DAY_SECONDS)
    order = exchange.order(alice, Side.SELL, int.from_bytes(market.digest(winner), "big"),
                           TRADE_PRICE, salt=1)
    exchange.fill(order, exchange.sign(order, alice), carol)
    return ClearedRound(market, round_id, winner, outbid, below)


@dataclass(frozen=True)
class JudgedJob:
    """The winner's future, redeemed by its buyer and judged a violation at the buyer's fault."""

    job: str
    redeemer: str
    failed_clauses_hash: bytes
    signers: list[str]
    paid: str  # `VerdictEnforced`'s: whom the payment went to, how much, the stake burned
    paid_micro_usd: int
    stake_burned_wei: int


FAILED_CLAUSES = ["regulator.epsilon_claim"]


def judged_job(cleared: ClearedRound, carol: LocalAccount) -> JudgedJob:
    """Carol, who bought the winner's future, stakes, redeems it, and the quorum's first
    `ORACLE_THRESHOLD` nodes sign a violation at her fault: her stake is burned."""
    market = cleared.market
    fund_bidder(market, carol, lambda call: market.chain.send(call, carol))
    market.redeem(cleared.winner, carol)
    digest = market.digest(cleared.winner)
    failed = clauses_hash(FAILED_CLAUSES)
    verdict = Verdict(digest, False, Fault.BUYER, failed, market.config_digest)
    domain = verdict_domain(market.chain.chain_id, market.system.oracle.address)
    signers = market.nodes[:ORACLE_THRESHOLD]
    receipt = submit(market.system, market.governance, verdict,
                     [(node.address, sign_verdict(node, domain, verdict)) for node in signers])
    (enforced,) = event_args(market.house, receipt, "VerdictEnforced")
    return JudgedJob("0x" + digest.hex(), carol.address, failed,
                     [node.address for node in signers], enforced["paid"],
                     enforced["paidMicroUsd"], enforced["burnedWei"])


def table_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    """Every row of one of the index's tables, sorted."""
    with sqlite3.connect(path) as db:
        return sorted(db.execute(f"SELECT * FROM {table}"))


def indexed(cleared: ClearedRound, path: Path) -> Path:
    """A store at `path` indexed up to the chain's head."""
    with opened(cleared.market.system, path) as service:
        service.indexer.sync()
    return path
