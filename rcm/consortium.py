"""The Global Health AI Consortium's round, on chain: `market.examples`' consortium market
turned into accounts, datasets, asks and sealed bids, taken through one ClearingHouse round
under the deployment's current policy (at launch, the consortium's own rules).

Every party is a fresh key funded from governance (local chains only). Each bid is placed
exactly as `rcm wallet bid` places it; the round is cleared and posted as `rcm auction run`
does, priced by the oracle quorum as `rcm round price` does, and finalised as `rcm round
finalise` does. The oracle set judges its jobs by the example policies opened to the round's
purposes and sizes (`oracle_policies`), and by what each future bought, read from the chain.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chain.abi_codec import keccak
from chain.bid import purpose_id
from chain.clearing_house import Round, advance_into
from chain.ledger import category_bits, dataset_id
from chain.policy import Rules, current_policy_id
from chain.settlement import Deadlines, Phase
from chain.vault import required_stake_wei
from market import orders, settlement
from market.examples import SLOTS, consortium_instance, declarations
from market.model import Ask, Bid, Market
from market.onchain import AskEntry, BidEntry, BundleEntry
from market.round_book import read_book
from oracle.attestation import ResourceUse
from oracle.future import FIELDS, MICRO, unit_amount
from oracle.policy import DatasetTerms, Policies

if TYPE_CHECKING:
    from collections.abc import Callable

    from chain.contract import ContractCall
    from chain.signer import Signer
    from chain.system import System
    from market.result import PricedClearing
    from oracle.quorum import PriceQuorum

CST = 10**18
USD = 10**6
PHASE_SECONDS = 3_600
DAY_SECONDS = 86_400
WEEK_SECONDS = 7 * DAY_SECONDS
BUDGET_MICRO_EPSILON = 10_000_000  # each dataset's registered budget: 10 ε
MAX_DELTA_ATTO = 10**13  # δ ≤ 1e-5
TOTAL_DELTA_ATTO = 100 * MAX_DELTA_ATTO  # each dataset's δ over all jobs: 100 at the cap


def weekly_slots(now: float) -> dict[str, datetime]:
    """The round's weeks, the first running now. The demo delivers minutes after the round,
    and the enclave and the oracle nodes keep wall-clock time, so a job it delivers runs in its
    first week; that week starts at yesterday's midnight (UTC), so a job started just before
    today's still ran inside it."""
    first = (int(now) // DAY_SECONDS - 1) * DAY_SECONDS
    return {slot: datetime.fromtimestamp(first + index * WEEK_SECONDS, UTC)
            for index, slot in enumerate(SLOTS)}


@dataclass
class Consortium:
    system: System
    governance: Signer
    new_account: Callable[[str], Signer]
    market: Market = field(default_factory=consortium_instance)
    accounts: dict[str, Signer] = field(default_factory=dict)
    datasets: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)  # market item id → round item index
    digests: dict[str, bytes] = field(default_factory=dict)  # market bid id → bid digest
    round_id: int = 0
    slots: dict[str, datetime] = field(default_factory=lambda: weekly_slots(time.time()))

    def account(self, label: str) -> Signer:
        if label not in self.accounts:
            self.accounts[label] = self.new_account(label)
        return self.accounts[label]

    def bid(self, bid_id: str) -> Bid:
        return next(bid for bid in self.market.bids if bid.id == bid_id)

    # ---- setup ----

    def register_datasets(self) -> None:
        """Each dataset's hospital registers it, consenting to the purposes its bids name and
        naming the sensitive data it holds (each dataset here has one bid, whose declaration
        names the same), and grants each bidder the ε its bid needs."""
        from market.examples import declarations

        declared = declarations()
        ledger = self.system.ledger.functions
        for bid in self.market.bids:
            if bid.dataset is None:
                continue
            owner = self.account(f"owner:{bid.dataset}")
            if bid.dataset not in self.datasets:
                content = keccak(bid.dataset.encode())
                purposes = sorted({purpose_id(b.purpose) for b in self.market.bids
                                   if b.dataset == bid.dataset})
                categories = category_bits(declared[bid.id].data_categories - {"public"})
                self.send(ledger.register(content, BUDGET_MICRO_EPSILON, MAX_DELTA_ATTO,
                                          TOTAL_DELTA_ATTO, purposes, categories), owner)
                self.datasets[bid.dataset] = dataset_id(owner.address, content)
            grant = ledger.safeTransferFrom(owner.address, self.account(bid.buyer).address,
                                            self.datasets[bid.dataset], bid.epsilon_micros, b"")
            self.send(grant, owner)

    def fund_buyers(self) -> None:
        """USD for each buyer's deposits and CST stake for its bids' risk."""
        from tokens.operations import fund, stake

        for buyer in sorted({bid.buyer for bid in self.market.bids}):
            bids = [bid for bid in self.market.bids if bid.buyer == buyer]
            deposits = sum(max(b.value for b in bid.bundles) for bid in bids)
            needed = sum(self.required_stake(bid) for bid in bids)
            account = self.account(buyer)
            fund(self.system, self.governance, account.address, needed + CST, deposits, 0)
            stake(self.system, account, needed + CST)

    def rules(self) -> Rules:
        """The current policy's rules, which the round will pin."""
        policies = self.system.policies
        return Rules.read(policies, current_policy_id(policies))

    def required_stake(self, bid: Bid) -> int:
        """The stake for the bid's score: the launch rubric's, as the round's rubric gives it."""
        value = max(b.value for b in bid.bundles)
        return required_stake_wei(self.system.vault, self.account(bid.buyer).address,
                                  bid.risk_bps, value)

    def bond_sellers(self) -> None:
        """Providers bond what the policy locks for the capacity they offer; the auctioneer
        (governance) what it locks to post a result."""
        from tokens.operations import bond, fund

        rates = self.rules().rates
        capacity = {p: sum(a.capacity for a in self.market.asks if a.provider == p)
                    for p in self.providers()}
        for label, amount in [(p, units * rates.provider_bond_per_unit_wei)
                              for p, units in capacity.items()] + [
                ("auctioneer", rates.auctioneer_bond_wei)]:
            account = self.governance if label == "auctioneer" else self.account(label)
            fund(self.system, self.governance, account.address, amount, 0, 0)
            bond(self.system, account, amount)

    def providers(self) -> list[str]:
        return sorted({ask.provider for ask in self.market.asks})

    def oracle_policies(self, example: Policies) -> Policies:
        """The oracle set's policies for this round: the example's, with the round's purposes
        permitted at its ε limits and consented to by every dataset, and a job as large as any
        one ask."""
        limits = {purpose: micros / MICRO
                  for purpose, micros in self.market.policy.max_epsilon_micros.items()}
        regulator = example.regulator.model_copy(
            update={"max_epsilon": example.regulator.max_epsilon | limits})
        consent = DatasetTerms(allowed_purposes=sorted(regulator.max_epsilon),
                               max_epsilon_per_job=max(regulator.max_epsilon.values()),
                               total_budget_epsilon=BUDGET_MICRO_EPSILON / MICRO)
        asks = [self.ask_entry(ask).to_chain() for ask in self.market.asks]
        largest = ResourceUse(**{
            field: max(ask.capacity * unit_amount(ask) for ask in asks if ask.resource == kind)
            for kind, field in FIELDS.items()})
        return example.model_copy(update={
            "regulator": regulator,
            "data_owner": example.data_owner.model_copy(update={"default": consent}),
            "operator": example.operator.model_copy(update={"max_per_job": largest})})

    # ---- the round ----

    def open_round(self) -> Deadlines:
        house = self.system.clearing_house
        now = self.now()
        deadlines = Deadlines.after(now, *(PHASE_SECONDS,) * 4)
        receipt = self.system.chain.send(house.functions.openRound(deadlines.as_args()),
                                         self.governance)
        opened = house.events_in(receipt, "RoundOpened")
        self.round_id = int(opened[0].args["roundId"])
        return deadlines

    def ask_entry(self, ask: Ask) -> AskEntry:
        """The line of its provider's ask file: a week of the item's capacity."""
        item = self.market.item_by_id[ask.item]
        return AskEntry(kind=item.kind, region=item.region, slot=self.slots[item.slot],
                        slot_seconds=WEEK_SECONDS, tier=item.tier, unit=item.unit,
                        capacity=ask.capacity, reserve_price=ask.reserve_price)

    def post_asks(self) -> None:
        for provider in self.providers():
            asks = [ask for ask in self.market.asks if ask.provider == provider]
            first = Round.read(self.system.clearing_house, self.round_id).item_count
            orders.post_asks(self.system, self.account(provider), self.round_id,
                             [self.ask_entry(ask).to_chain() for ask in asks])
            self.items |= {ask.item: first + i for i, ask in enumerate(asks)}

    def place_bids(self, deadlines: Deadlines) -> tuple[list[orders.Placed], dict[str, str]]:
        """Every bid as `rcm wallet bid` sends it; returns those placed and why the others were
        refused before they committed: the chain would refuse the stale bid, which expires
        before the round clears, and a bid over its purpose's ε limit; three more could never
        win (a tier their risk may not use, capacity reserved for equity classes, a value below
        the reserve cost)."""
        from market.errors import MarketError

        placed, refused = [], {}
        declared = declarations()
        for bid in self.market.bids:
            expiry = deadlines.commit_timestamp + 60 if bid.expiry else 2**63 - 1
            entry = BidEntry(
                bundles=[BundleEntry(items={str(self.items[i]): q for i, q in b.items.items()},
                                     value=b.value) for b in bid.bundles],
                epsilon_micros=bid.epsilon_micros, delta=bid.delta,
                dataset=self.datasets.get(bid.dataset or "", 0), declaration=declared[bid.id],
                purpose=bid.purpose, equity_class=bid.equity_class, expiry=expiry)
            try:
                result = orders.place_bid(self.system, self.account(bid.buyer), self.round_id,
                                          entry)
            except MarketError as refusal:
                refused[bid.id] = str(refusal).split(": ", 1)[1]
                continue
            self.digests[bid.id] = result.digest
            placed.append(result)
        return placed, refused

    def reveal_bids(self) -> None:
        self.enter(Phase.REVEAL)
        for buyer in sorted({self.bid(bid_id).buyer for bid_id in self.digests}):
            orders.reveal(self.system, self.account(buyer), self.round_id)

    def clear(self) -> PricedClearing:
        """`rcm auction run`: the book from chain events, cleared, priced, saved, posted."""
        from market.wdp import SolveParams

        self.enter(Phase.POST)
        book = read_book(self.system, self.round_id)
        result = settlement.clear_round(book, SolveParams(time_limit=10.0, workers=2))
        settlement.save_result(self.system, self.round_id, result)
        settlement.post(self.system, self.governance, book, result)
        return result

    def price(self, urls: list[str]) -> PriceQuorum:
        """The challenge window passes unchallenged; `rcm round price`: every oracle node
        recomputes the prices from the chain and signs, k matching reports go on chain."""
        from chain.policy_oracle import OracleSet
        from oracle.quorum import choose_prices, collect_prices

        self.enter(Phase.PRICE)
        quorum = choose_prices(collect_prices(self.round_id, urls), OracleSet.read(self.system))
        settlement.submit_prices(self.system, self.governance, quorum.report, quorum.signatures)
        return quorum

    def finalise(self) -> int:
        """`rcm round finalise`, then every buyer's withdrawal; returns the settling gas."""
        book = read_book(self.system, self.round_id)
        gas = sum(int(r.gas_used) for r in settlement.settle(self.system, self.governance, book))
        for label in sorted({bid.buyer for bid in self.market.bids}):
            account = self.account(label)
            amount, bids = orders.owed(self.system, account.address)
            if amount:
                orders.withdraw_owed(self.system, account, bids)
        return gas

    def bid_id_of(self, digest: str) -> str:
        return next(bid_id for bid_id, d in self.digests.items() if "0x" + d.hex() == digest)

    # ---- chain plumbing ----

    def now(self) -> int:
        return self.system.chain.latest_timestamp()

    def enter(self, phase: Phase) -> None:
        advance_into(self.system.chain, self.system.clearing_house, self.round_id, phase)

    def send(self, call: ContractCall, sender: Signer) -> None:
        self.system.chain.send(call, sender)
