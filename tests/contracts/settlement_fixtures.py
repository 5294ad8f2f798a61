"""A market for the settlement contracts' tests: accounts in their roles, a round policy, an
oracle set that prices rounds, a dataset whose budget bidders hold, and steps that walk a round
through its phases on the embedded chain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from chain.bid import (
    Bid,
    Bundle,
    bid_args,
    bid_digest,
    bid_domain,
    envelope_hash,
    fill_args,
    purpose_id,
    sign_bid,
    terms_args,
)
from chain.clearing_house import AskState, BidRecord, Result, Round, advance_into
from chain.connection import Chain
from chain.contract import Contract
from chain.eip712 import Domain
from chain.events import events
from chain.ledger import dataset_id
from chain.policy import NO_CAP, ChainPolicy, PricingWeights, Rates, Rules
from chain.policy_oracle import register, signature_args
from chain.prices import PriceReport, sign_report
from chain.settlement import Ask, Award, Deadlines, Phase, SolverStatus
from chain.system import System
from chain.vault import VaultBalance
from chain.verdict import verdict_domain
from tests.support import event_args
from tokens.operations import bond, fund

CST = 10**18
USD = 10**6
PHASE_SECONDS = 3_600
RESEARCH = purpose_id("research")
CONTENT_HASH = b"\xda" * 32
BUDGET_MICRO_EPSILON = 100_000_000  # 100 ε registered
GRANT_MICRO_EPSILON = 10_000_000  # 10 ε to each bidder
MAX_DELTA_ATTO = 10**13  # δ ≤ 1e-5
TOTAL_DELTA_ATTO = 1_000 * MAX_DELTA_ATTO  # room for 1,000 jobs at the cap
BIDDER_USD = 1_000 * USD
BIDDER_STAKE = 100 * CST
FORFEIT_FEE = 2 * USD
FORFEIT_BPS = 500  # 5 % of the deposit on top of the fee
AUCTIONEER_BOND = 100 * CST
AUCTIONEER_SLASH = 50 * CST
CHALLENGER_BOND = 20 * CST
# Each unit offered holds one future's slash, as the registry requires: ASKS' 40 units lock 2 CST
# of the provider's 10 CST bond a round.
PROVIDER_BOND_PER_UNIT = CST // 20
PROVIDER_SLASH = CST // 20
ANSWER_WINDOW = 1_800
MAX_EXTENSION = 7_200
PRICING_WINDOW = 3_600
VERDICT_WINDOW = 86_400
MAX_CLAIMED_GAP_BPS = 10_000  # a feasible claim's bound counts up to twice its welfare
LOW_RISK_BPS, MEDIUM_RISK_BPS, HIGH_RISK_BPS = 1_000, 3_000, 6_000
# What the chain keeps of a bid's workload declaration and of a policy's rubric: their hashes.
DECLARATION_HASH = b"\xde" * 32
RUBRIC_HASH = b"\x7b" * 32
RESEARCH_MAX_EPSILON = 5_000_000
RATES = Rates(
    auctioneer_bond_wei=AUCTIONEER_BOND,
    auctioneer_slash_wei=AUCTIONEER_SLASH,
    forfeit_fee_micro_usd=FORFEIT_FEE,
    challenger_bond_wei=CHALLENGER_BOND,
    provider_bond_per_unit_wei=PROVIDER_BOND_PER_UNIT,
    forfeit_bps=FORFEIT_BPS,
    min_improvement_bps=10,
    max_items_per_provider=64,
    max_claimed_gap_bps=MAX_CLAIMED_GAP_BPS,
    provider_slash_wei=PROVIDER_SLASH,
    answer_window_seconds=ANSWER_WINDOW,
    max_extension_seconds=MAX_EXTENSION,
    pricing_window_seconds=PRICING_WINDOW,
    verdict_window_seconds=VERDICT_WINDOW,
)
# Low risk may use every tier, medium certified and confidential, high confidential only; no
# caps and no equity reservation unless a test registers a policy of its own.
POLICY = ChainPolicy(
    Rules(
        band_min_bps=(LOW_RISK_BPS, MEDIUM_RISK_BPS, HIGH_RISK_BPS),
        band_tier_masks=(0b111, 0b110, 0b100),
        band_risk_weights=(1, 4, 16),
        tier_risk_caps=(NO_CAP, NO_CAP, NO_CAP),
        total_risk_cap=NO_CAP,
        equity_class_count=3,
        equity_class_mask=0b110,
        equity_reservation_bps=0,
        rates=RATES,
    ),
    (("research", RESEARCH_MAX_EPSILON),),
    PricingWeights(2_000, (0, 500, 1_500), 1_000),
    RUBRIC_HASH,
)
ORACLE_THRESHOLD = 2
# HostileReceiver.Mode, and what a nonReentrant function reverts with when re-entered.
ACCEPT, REJECT, BURN_GAS, REENTER = range(4)
REENTRANT_CALL = bytes(keccak(b"ReentrancyGuardReentrantCall()")[:4])
# Four GPU items of one provider, certified tier: capacity 10 each, reserve 1 USD per unit.
ASKS = tuple(
    Ask(0, "us-east", "gpu-hour", 2_000_000_000 + 3_600 * i, 3_600, 1, 10, USD) for i in range(4)
)


@dataclass
class Market:
    system: System
    governance: LocalAccount
    auctioneer: LocalAccount
    provider: LocalAccount
    owner: LocalAccount
    bidders: list[LocalAccount]
    dataset: int
    nodes: list[LocalAccount]  # the oracle set that signs price reports, ascending
    config_digest: bytes

    @property
    def chain(self) -> Chain:
        return self.system.chain

    @property
    def house(self) -> Contract:
        return self.system.clearing_house

    @property
    def domain(self) -> Domain:
        return bid_domain(self.chain.chain_id, self.house.address)

    def now(self) -> int:
        return int(self.chain.latest_timestamp())

    # ---- rounds ----

    def open_round(self, asks: tuple[Ask, ...] = ASKS, provider: LocalAccount | None = None) -> int:
        deadlines = Deadlines.after(self.now(), *(PHASE_SECONDS,) * 4)
        receipt = self.chain.send(self.house.functions.openRound(deadlines.as_args()),
                                  self.auctioneer)
        round_id = int(event_args(self.house, receipt, "RoundOpened")[0]["roundId"])
        if asks:
            call = self.house.functions.postAsks(round_id, [a.as_args() for a in asks])
            self.chain.send(call, provider or self.provider)
        return round_id

    def enter(self, round_id: int, phase: Phase) -> None:
        """Moves chain time to just inside `phase` of the round; FINAL from an unpriced round
        waits out the pricing window."""
        if phase is Phase.FINAL:
            if self.phase(round_id) < Phase.PRICE:
                advance_into(self.chain, self.house, round_id, Phase.PRICE)
            if self.phase(round_id) is Phase.PRICE:
                self.chain.advance_time(PRICING_WINDOW + 1)
        else:
            advance_into(self.chain, self.house, round_id, phase)
        assert self.phase(round_id) == phase

    def phase(self, round_id: int) -> Phase:
        return Phase(self.house.functions.phaseOf(round_id).call())

    def round(self, round_id: int) -> Round:
        return Round.read(self.house, round_id)

    def result(self, round_id: int, version: int) -> Result:
        return Result.read(self.house, round_id, version)

    # ---- bids ----

    def bid(
        self, bidder: LocalAccount | Contract, round_id: int, *bundles: Bundle, **terms: Any
    ) -> Bid:
        """A bid with sensible terms; any of them overridden by keyword."""
        base = Bid(
            round_id=round_id,
            bidder=bidder.address,
            max_value_micro_usd=max(b.value_micro_usd for b in bundles),
            dataset_id=self.dataset,
            epsilon_micros=1_000_000,
            delta_atto=10**12,
            risk_bps=LOW_RISK_BPS,
            declaration_hash=DECLARATION_HASH,
            purpose=RESEARCH,
            equity_class=0,
            nonce=0,
            expiry_timestamp=2**63,
            bundles=bundles,
            salt=b"\x5a" * 32,
        )
        return replace(base, **terms)

    def digest(self, bid: Bid) -> bytes:
        return bid_digest(self.domain, bid)

    def commit(self, bid: Bid, bidder: LocalAccount) -> bytes:
        self.chain.send(self.house.functions.commit(terms_args(bid), envelope_hash(bid)), bidder)
        return self.digest(bid)

    def cancel(self, bid: Bid, sender: LocalAccount) -> Any:
        call = self.house.functions.cancel(terms_args(bid), envelope_hash(bid))
        return self.chain.send(call, sender)

    def reveal(self, bid: Bid, signer: LocalAccount, sender: LocalAccount | None = None) -> Any:
        signature = sign_bid(signer, self.domain, bid)
        call = self.house.functions.reveal(bid_args(bid), signature)
        return self.chain.send(call, sender or signer)

    def record(self, digest: bytes) -> BidRecord:
        return BidRecord.read(self.house, digest)

    # ---- results ----

    def fills(self, *chosen: tuple[Bid, int]) -> list[tuple[Any, ...]]:
        """`Fill`s of (bid, bundle index) pairs, in the ascending digest order a result needs."""
        return [fill_args(bid, index)
                for bid, index in sorted(chosen, key=lambda pair: self.digest(pair[0]))]

    def post(self, round_id: int, *chosen: tuple[Bid, int],
             claim: tuple[int, int] = (SolverStatus.OPTIMAL, 0)) -> Any:
        call = self.house.functions.post(round_id, self.fills(*chosen), claim)
        return self.chain.send(call, self.auctioneer)

    def challenge(self, round_id: int, challenger: LocalAccount, *chosen: tuple[Bid, int],
                  version: int = 0, seal: bool = True) -> Any:
        call = self.house.functions.challenge(round_id, version, self.fills(*chosen), seal)
        return self.chain.send(call, challenger)

    def batches(self, round_id: int, version: int) -> list[list[Award]]:
        """The awards of each batch of a result, from its `BatchPosted` events."""
        posted = events(self.system, self.house, "BatchPosted", roundId=round_id,
                        version=version)
        ordered = sorted(posted, key=lambda e: e.args["batch"])
        return [[Award.from_event(a) for a in e.args["awards"]] for e in ordered]

    def report(self, round_id: int, payments: list[int] | None = None,
               item_prices: list[int] | None = None) -> PriceReport:
        """A price report on the standing result: by default every winner pays its reserve
        cost plus one micro-USD, every item its ask's reserve."""
        state = self.round(round_id)
        awards = [a for batch in self.batches(round_id, state.standing_version) for a in batch]
        prices = item_prices if item_prices is not None else [
            AskState.read(self.house, round_id, item).reserve_price_micro_usd
            for item in range(state.item_count)]
        paid = payments if payments is not None else [a.reserve_micro_usd + 1 for a in awards]
        return PriceReport(self.house.address, round_id, state.standing_version, tuple(prices),
                           tuple(paid), self.config_digest)

    def sign(self, report: PriceReport, signers: list[LocalAccount] | None = None
             ) -> list[tuple[bytes, bytes, int]]:
        domain = verdict_domain(self.chain.chain_id, self.system.oracle.address)
        chosen = signers if signers is not None else self.nodes[:ORACLE_THRESHOLD]
        return signature_args([(n.address, sign_report(n, domain, report)) for n in chosen])

    def price(self, round_id: int, report: PriceReport | None = None,
              sender: LocalAccount | None = None) -> Any:
        report = report or self.report(round_id)
        call = self.house.functions.price(round_id, list(report.item_prices_micro_usd),
                                          list(report.payments_micro_usd), self.sign(report))
        return self.chain.send(call, sender or self.governance)

    def finalise(self, round_id: int, sender: LocalAccount | None = None) -> list[Any]:
        """Issues every batch of the standing result, with the priced payments if any."""
        state = self.round(round_id)
        version = state.standing_version
        payments: list[int] = []
        if state.priced:
            priced = events(self.system, self.house, "Priced", roundId=round_id)
            payments = list(priced[-1].args["paymentsMicroUsd"])
        receipts, start = [], 0
        for number, awards in enumerate(self.batches(round_id, version)):
            paid = payments[start:start + len(awards)] if state.priced else []
            start += len(awards)
            call = self.house.functions.finalise(round_id, number, [a.as_args() for a in awards],
                                                 paid)
            receipts.append(self.chain.send(call, sender or self.governance))
        return receipts

    def release(self, round_id: int, losers: list[bytes]) -> Any:
        return self.chain.send(self.house.functions.release(round_id, losers), self.governance)

    def close(self, round_id: int) -> Any:
        return self.chain.send(self.house.functions.close(round_id), self.governance)

    def commit_and_reveal(self, round_id: int, *bids: tuple[Bid, LocalAccount]) -> None:
        """Each bid committed by its bidder, then revealed: the round is left in its post
        phase."""
        for bid, bidder in bids:
            self.commit(bid, bidder)
        self.enter(round_id, Phase.REVEAL)
        for bid, bidder in bids:
            self.reveal(bid, bidder)
        self.enter(round_id, Phase.POST)

    def fill(self, round_id: int, bidder: LocalAccount, bids: Sequence[Bid]) -> None:
        """The bidder's bids committed, revealed and posted as the result, each filled with its
        first bundle: the round is left in its challenge phase."""
        self.commit_and_reveal(round_id, *((bid, bidder) for bid in bids))
        self.post(round_id, *((bid, 0) for bid in bids))

    def redeem(self, bid: Bid, holder: LocalAccount) -> None:
        """The future of `bid` redeemed by `holder` into an oracle job."""
        future_id = int.from_bytes(self.digest(bid), "big")
        self.chain.send(self.house.functions.redeem(future_id, bid.declaration_hash), holder)

    def settle(self, round_id: int, losers: Sequence[bytes] = (), priced: bool = True) -> None:
        """From the challenge phase on: price (or let the pricing window pass), issue every
        future, release `losers`, close."""
        if self.phase(round_id) < Phase.PRICE:
            self.enter(round_id, Phase.PRICE)
        if priced and self.phase(round_id) is Phase.PRICE:
            self.price(round_id)
        self.enter(round_id, Phase.FINAL)
        self.finalise(round_id)
        self.release(round_id, list(losers))
        self.close(round_id)

    # ---- balances ----

    def usd(self, account: str) -> int:
        return int(self.system.usd.functions.balanceOf(account).call())

    def budget(self, account: str) -> int:
        return int(self.system.ledger.functions.balanceOf(account, self.dataset).call())

    def credit(self, account: str) -> int:
        return int(self.house.functions.creditOf(account).call())

    def vault_balance(self, account: str) -> VaultBalance:
        return VaultBalance.read(self.system.vault, account)

    def free_stake(self, account: str) -> int:
        return self.vault_balance(account).free_wei

    def locked(self, account: str) -> int:
        """The account's locked CST in the vault: the stakes of its bids (and futures it
        redeemed) are part of it, recorded bid by bid in the clearing house."""
        return self.vault_balance(account).locked_wei

    def stake_of(self, digest: bytes) -> int:
        return self.record(digest).stake_wei


def fund_bidder(market: Market, bidder: LocalAccount | Contract, act: Any) -> None:
    """USD, CST stake and ε budget for `bidder`; `act(call)` sends a call as the bidder."""
    system, chain, governance = market.system, market.chain, market.governance
    address = bidder.address
    chain.send(system.usd.functions.mint(address, BIDDER_USD), governance)
    chain.send(system.cst.functions.mint(address, BIDDER_STAKE), governance)
    act(system.usd.functions.approve(system.clearing_house.address, 2**256 - 1))
    act(system.cst.functions.approve(system.vault.address, 2**256 - 1))
    act(system.vault.functions.stake(BIDDER_STAKE))
    grant = system.ledger.functions.safeTransferFrom(
        market.owner.address, address, market.dataset, GRANT_MICRO_EPSILON, b""
    )
    chain.send(grant, market.owner)


def through(chain: Chain, wallet: Contract, owner: LocalAccount) -> Callable[[Any], Any]:
    """Sends a contract call from `wallet` (a HostileReceiver), by its owner."""

    def act(call: Any) -> Any:
        return chain.send(
            wallet.functions.execute(call.address, call.data), owner
        )

    return act


def contract_bidder(market: Market, owner: LocalAccount) -> Contract:
    """A HostileReceiver wallet of `owner`'s, funded as a bidder; its hook accepts until armed."""
    wallet = market.chain.deploy("HostileReceiver", owner, owner.address)
    fund_bidder(market, wallet, through(market.chain, wallet, owner))
    return wallet


def fund_and_bond(system: System, governance: LocalAccount, account: LocalAccount,
                  amount: int) -> None:
    """Mints `amount` CST to `account` and bonds it, as `rcm wallet fund` and `rcm wallet bond`
    do."""
    fund(system, governance, account.address, amount, 0, 0)
    bond(system, account, amount)


def build_market(
    system: System,
    governance: LocalAccount,
    auctioneer: LocalAccount,
    provider: LocalAccount,
    owner: LocalAccount,
    bidders: list[LocalAccount],
    nodes: list[LocalAccount],
) -> Market:
    """Roles granted, the round policy registered, a 2-of-3 oracle set registered, the
    auctioneer and the provider bonded, a dataset registered by `owner` with consent to
    research, and each bidder funded with USD, CST stake and ε."""
    chain, house = system.chain, system.clearing_house
    role = house.functions.AUCTIONEER_ROLE().call()
    chain.send(house.functions.grantRole(role, auctioneer.address), governance)
    chain.send(system.policies.functions.setPolicy(POLICY.as_args()), governance)
    config_digest = register(system, governance, [n.address for n in nodes[:3]], ORACLE_THRESHOLD)
    fund_and_bond(system, governance, auctioneer, 2 * AUCTIONEER_BOND)
    fund_and_bond(system, governance, provider, 10 * CST)
    register_dataset = system.ledger.functions.register(
        CONTENT_HASH, BUDGET_MICRO_EPSILON, MAX_DELTA_ATTO, TOTAL_DELTA_ATTO, [RESEARCH], 0
    )
    chain.send(register_dataset, owner)
    market = Market(
        system,
        governance,
        auctioneer,
        provider,
        owner,
        bidders,
        dataset_id(owner.address, CONTENT_HASH),
        sorted(nodes[:3], key=lambda n: int(n.address, 16)),
        config_digest,
    )
    for bidder in bidders:
        fund_bidder(market, bidder, lambda call, who=bidder: chain.send(call, who))
    return market
