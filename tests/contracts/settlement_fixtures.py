"""A market for the settlement contracts' tests: accounts in their roles, a dataset whose budget
bidders hold, and steps that walk a round through its phases on the embedded chain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from web3.contract import Contract

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
from chain.connection import Chain
from chain.eip712 import Domain
from chain.settlement import Ask, BidRecord, Deadlines, Phase, advance_into, dataset_id
from chain.system import System

CST = 10**18
USD = 10**6
PHASE_SECONDS = 3_600
RESEARCH = purpose_id("research")
CONTENT_HASH = b"\xda" * 32
BUDGET_MICRO_EPSILON = 100_000_000  # 100 ε registered
GRANT_MICRO_EPSILON = 10_000_000  # 10 ε to each bidder
MAX_DELTA_ATTO = 10**13  # δ ≤ 1e-5
BIDDER_USD = 1_000 * USD
BIDDER_STAKE = 100 * CST
FORFEIT_FEE = 2 * USD
# HostileReceiver.Mode, and what a nonReentrant function reverts with when re-entered.
ACCEPT, REJECT, BURN_GAS, REENTER = range(4)
REENTRANT_CALL = bytes(keccak(b"ReentrancyGuardReentrantCall()")[:4])
# Four items of one provider: capacity 10 each, reserve 1 USD per unit.
ASKS = tuple(
    Ask("gpu.h100", "us-east", "gpu-hour", 2_000_000_000 + 3_600 * i, 3_600, 1, 10, USD)
    for i in range(4)
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
        return int(self.chain.w3.eth.get_block("latest")["timestamp"])

    # ---- rounds ----

    def open_round(self, asks: tuple[Ask, ...] = ASKS, forfeit_fee: int = FORFEIT_FEE) -> int:
        deadlines = Deadlines.after(self.now(), *(PHASE_SECONDS,) * 4)
        self.chain.send(
            self.house.functions.openRound(deadlines.as_args(), forfeit_fee), self.auctioneer
        )
        round_id = int(self.house.functions.roundCount().call())
        self.chain.send(
            self.house.functions.postAsks(round_id, [a.as_args() for a in asks]), self.provider
        )
        return round_id

    def enter(self, round_id: int, phase: Phase) -> None:
        """Moves chain time to just inside `phase` of the round."""
        advance_into(self.chain, self.house, round_id, phase)
        assert self.house.functions.phaseOf(round_id).call() == phase

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
            risk_bps=500,
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
        return BidRecord.from_call(self.house.functions.bidOf(digest).call())

    # ---- results ----

    def fill(self, bid: Bid, bundle_index: int, payment_micro_usd: int) -> tuple[Any, ...]:
        return fill_args(self.digest(bid), bid, bundle_index, payment_micro_usd)

    def post(self, round_id: int, *fills: tuple[Any, ...]) -> Any:
        return self.chain.send(self.house.functions.post(round_id, list(fills)), self.auctioneer)

    def finalise(self, round_id: int, winners: list[bytes], losers: list[bytes]) -> Any:
        call = self.house.functions.finalise(round_id, winners, losers)
        return self.chain.send(call, self.governance)

    # ---- balances ----

    def usd(self, account: str) -> int:
        return int(self.system.usd.functions.balanceOf(account).call())

    def budget(self, account: str) -> int:
        return int(self.system.ledger.functions.balanceOf(account, self.dataset).call())

    def credit(self, account: str) -> int:
        return int(self.house.functions.creditOf(account).call())

    def free_stake(self, account: str) -> int:
        return int(self.system.vault.functions.balanceOf(account).call()[0])

    def locked(self, account: str) -> int:
        """The account's locked CST in the vault: the stakes of its bids (and futures it
        redeemed) are part of it, recorded bid by bid in the clearing house."""
        return int(self.system.vault.functions.balanceOf(account).call()[1])

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
            wallet.functions.execute(call.address, call._encode_transaction_data()), owner
        )

    return act


def contract_bidder(market: Market, owner: LocalAccount) -> Contract:
    """A HostileReceiver wallet of `owner`'s, funded as a bidder; its hook accepts until armed."""
    wallet = market.chain.deploy("HostileReceiver", owner, owner.address)
    fund_bidder(market, wallet, through(market.chain, wallet, owner))
    return wallet


def bond(system: System, governance: LocalAccount, account: LocalAccount, amount: int) -> None:
    chain = system.chain
    chain.send(system.cst.functions.mint(account.address, amount), governance)
    chain.send(system.cst.functions.approve(system.vault.address, amount), account)
    chain.send(system.vault.functions.bond(amount), account)


def build_market(
    system: System,
    governance: LocalAccount,
    auctioneer: LocalAccount,
    provider: LocalAccount,
    owner: LocalAccount,
    bidders: list[LocalAccount],
) -> Market:
    """Roles granted, the auctioneer and the provider bonded, a dataset registered by `owner`
    with consent to research, and each bidder funded with USD, CST stake and ε."""
    chain, house = system.chain, system.clearing_house
    role = house.functions.AUCTIONEER_ROLE().call()
    chain.send(house.functions.grantRole(role, auctioneer.address), governance)
    bond(system, governance, auctioneer, 100 * CST)
    bond(system, governance, provider, 10 * CST)
    register = system.ledger.functions.register(
        CONTENT_HASH, BUDGET_MICRO_EPSILON, MAX_DELTA_ATTO, [RESEARCH]
    )
    chain.send(register, owner)
    market = Market(
        system,
        governance,
        auctioneer,
        provider,
        owner,
        bidders,
        dataset_id(owner.address, CONTENT_HASH),
    )
    for bidder in bidders:
        fund_bidder(market, bidder, lambda call, who=bidder: chain.send(call, who))
    return market
