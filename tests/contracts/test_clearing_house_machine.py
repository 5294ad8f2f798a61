"""A stateful machine over rounds opened at different times, so that their phases interleave:
deposits, commits, cancels, reveals and forfeits; the auctioneer's post in batches; challenges
built in batches and sealed; the quorum's prices; futures issued batch by batch, losers
released, rounds closed once every batch is issued; futures claimed, moved to the other bidder
and redeemed (once their round is closed, before their delivery ends); k-of-n verdicts of every
kind; futures left unredeemed expired once their delivery is over (by anyone, naming a claimed
one's holder), jobs left without a verdict timed out once their deadline is past; withdrawals;
and time passing, now and then straight to just past the nearest delivery end or verdict
deadline. Each round offers ASKS' items with their slots moved to just after its final phase,
so deliveries end within an example. Every example starts from nine rounds, two of them closed
and delivering (`_prelude`), and up to eight are open at once. Each rule acts on what the model
says is possible now, so most steps succeed; the few aimed at something impossible (a cancel by
the wrong bidder, a close before every batch is issued or a second one, a claim of a claimed
future, a redemption before the round closes, after delivery or by the wrong holder, an expiry
naming the wrong holder, a time-out before the deadline, a verdict on a timed-out job, a
challenge that cannot win…) must revert with exactly the error the model expects.

After every step, against the chain:
- escrow: the clearing house's USD = the credits of every account that ever held one + what
  every record still owes (its deposit while in play; from Forfeited on, its unpaid change
  until withdrawn; and a future's payment until a verdict, its expiry or its time-out credits
  it);
- budget: registered ε = holders' balances + reserved + consumed, and reserved = the ε of every
  record in a holding status;
- stake: each bidder's locked CST = the stakes of the records whose stake it holds (as bidder,
  or as redeemer once redeemed) in holding statuses;
- CST and bonds: minted = supply + burned, burned as the model expects, and each account's
  bond and locked bond as the model's; locked bond = what the rounds hold: the standing
  poster's bond until close; the provider's ask bond until close, then one provider slash per
  open future, less the slashes its faults and time-outs burned, until the last of them ends
  (each round's as `providerBondOf` reads it);
- a finished round (closed, every record out of the holding statuses: each future settled,
  voided, expired or timed out) holds no stake, bond or ε, and of USD only what `refundOf` lets
  its bidders withdraw;
- and every record (its provider item the bundle's last to end) and credit as the model
  derives them.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_abi.grammar import TupleType, parse
from eth_account.signers.local import LocalAccount
from eth_utils.abi import (
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
)
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers
from hypothesis.internal.conjecture.providers import Constants
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chain.bid import Bid, Bundle, envelope_hash, terms_args
from chain.clearing_house import AskState, BidRecord, ProviderBond
from chain.connection import Chain
from chain.contract import Contract
from chain.ledger import Dataset
from chain.policy_oracle import signature_args, verdict_args
from chain.prices import PriceReport
from chain.settlement import HOLDING, STAKE_UNIT_WEI, Award, Deadlines, Phase, SolverStatus, Status
from chain.vault import VaultBalance
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from tests.contracts.round_support import (
    BPS,
    awards,
    by_digest,
    needed_welfare,
    reserve_cost,
    welfare,
)
from tests.contracts.settlement_fixtures import (
    ANSWER_WINDOW,
    ASKS,
    AUCTIONEER_BOND,
    AUCTIONEER_SLASH,
    BUDGET_MICRO_EPSILON,
    CHALLENGER_BOND,
    CST,
    DECLARATION_HASH,
    FORFEIT_BPS,
    FORFEIT_FEE,
    HIGH_RISK_BPS,
    LOW_RISK_BPS,
    MAX_CLAIMED_GAP_BPS,
    MAX_DELTA_ATTO,
    MAX_EXTENSION,
    MEDIUM_RISK_BPS,
    ORACLE_THRESHOLD,
    PHASE_SECONDS,
    POLICY,
    PRICING_WINDOW,
    PROVIDER_BOND_PER_UNIT,
    PROVIDER_SLASH,
    USD,
    VERDICT_WINDOW,
    Market,
    fund_and_bond,
)
from tests.support import event_args, reverts

MAX_OPEN_ROUNDS = 8  # rounds not yet closed, at once
MAX_BIDS_PER_ROUND = 3
# A round opens at least this long after the previous one, so no two share their deadlines.
OPEN_GAP_SECONDS = 900
# The clock never rests closer than this to a phase boundary or a delivery's deadline: each
# transaction moves it a second, and a step must run in the phase the model read.
MARGIN_SECONDS = 600
ROUND_ASK_BOND = sum(ask.capacity for ask in ASKS) * PROVIDER_BOND_PER_UNIT
# Each round offers ASKS' items with their hour-long slots moved to start when its final phase
# starts at the latest (no slot may end before: `SlotEndsBeforeFinal`), so deliveries end hours
# after a round, within an example, and rounds still open after; ASKS' own slots are years off.
SLOTS_AFTER_OPEN_SECONDS = 4 * PHASE_SECONDS + MAX_EXTENSION + PRICING_WINDOW
# advance_time's stretches that jump to just past the nearest deadline of a future in the model.
TO_DELIVERY_END, TO_VERDICT_DEADLINE = "delivery end", "verdict deadline"
# Bonded on top of build_market: the auctioneer for eight posts at once and a slash in each of
# ten rounds, each bidder for ten lost challenges, the provider for the asks of twenty rounds.
AUCTIONEER_TOP_UP = 12 * AUCTIONEER_BOND
CHALLENGER_BONDED = 10 * CHALLENGER_BOND
PROVIDER_TOP_UP = 20 * ROUND_ASK_BOND
# On top of build_market's 100 CST: a bid locks up to 7.2 CST (12 USD at 60 % risk).
EXTRA_STAKE = 100 * CST
EPSILONS = (100_000, 200_000, 300_000)
RISKS = (LOW_RISK_BPS, MEDIUM_RISK_BPS, HIGH_RISK_BPS)
IN_PLAY = frozenset({Status.COMMITTED, Status.REVEALED})
ESCROWED = frozenset({Status.FUTURE, Status.REDEEMED})  # the payment waits for its end
RULES = (
    "open_round", "deposit", "commit", "cancel", "reveal", "forfeit", "post", "challenge",
    "price", "finalise", "release", "close", "withdraw", "claim", "transfer", "redeem",
    "verdict", "expire", "time_out", "advance_time",
)
TALLY: Counter[tuple[str, str]] = Counter()  # (rule, outcome) over every example of the run
PATHS: Counter[str] = Counter()  # how often the run took each of the rarer paths


# ---- reading the books in one call ----


def _static_bytes(abi_type: str) -> int:
    """The size of a static ABI type's encoding: a word per basic field."""

    def size(part: Any) -> int:
        assert not part.is_dynamic and not part.arrlist, abi_type
        return sum(size(c) for c in part.components) if isinstance(part, TupleType) else 32

    return size(parse(abi_type))


PUSH0, PUSH2, PUSH20 = b"\x5f", b"\x61", b"\x73"
CODECOPY, GAS, STATICCALL, ISZERO, EQ = b"\x39", b"\x5a", b"\xfa", b"\x15", b"\x14"
JUMPI, JUMPDEST, RETURNDATASIZE, RETURN, REVERT = b"\x57", b"\x5b", b"\x3d", b"\xf3", b"\xfd"
CALL_CODE_BYTES = 60  # what _program emits per call


def _program(calls: list[tuple[str, bytes, int]]) -> bytes:
    """EVM code that, for each (target, calldata, output size), copies the calldata from its
    own tail to scratch memory past the outputs, STATICCALLs the target and keeps exactly that
    many output bytes; then returns every output side by side, or reverts if any call failed
    or returned another size."""

    def push2(value: int) -> bytes:
        return PUSH2 + value.to_bytes(2, "big")

    fail = CALL_CODE_BYTES * len(calls) + 5
    data_start = fail + 4
    scratch = sum(size for _, _, size in calls)
    code, data, out = b"", b"", 0
    for target, calldata, size in calls:
        code += push2(len(calldata)) + push2(data_start + len(data)) + push2(scratch) + CODECOPY
        code += (push2(size) + push2(out) + push2(len(calldata)) + push2(scratch)
                 + PUSH20 + bytes.fromhex(target[2:]) + GAS + STATICCALL)
        code += ISZERO + push2(fail) + JUMPI
        code += RETURNDATASIZE + push2(size) + EQ + ISZERO + push2(fail) + JUMPI
        data += calldata
        out += size
    code += push2(scratch) + PUSH0 + RETURN
    assert len(code) == fail
    return code + JUMPDEST + PUSH0 + PUSH0 + REVERT + data


class Views:
    """Many view calls as one `eth_call` of init code that is never deployed (`_program`).
    Measured on the embedded chain: a view call through web3 takes ~10 ms, one straight through
    eth-tester ~4 ms, most of it py-evm setting up the call; the machine reads ~30 values after
    every transaction, ~1.7 ms each this way. Only views returning static types."""

    def __init__(self, chain: Chain) -> None:
        self.tester = chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        self.sender = chain.dev_account(0).address
        self.functions: dict[tuple[str, str], tuple[bytes, list[str], list[str]]] = {}

    def _function(self, contract: Contract, name: str) -> tuple[bytes, list[str], list[str]]:
        key = (contract.address, name)
        if key not in self.functions:
            (entry,) = [e for e in contract.abi if e["type"] == "function" and e["name"] == name]
            self.functions[key] = (function_abi_to_4byte_selector(entry),
                                   list(get_abi_input_types(entry)),
                                   list(get_abi_output_types(entry)))
        return self.functions[key]

    def read(self, calls: list[tuple[Contract, str, tuple[Any, ...]]]) -> list[Any]:
        """Each call's output (its only value, or the tuple of them), in order."""
        targets, types, counts = [], [], []
        for contract, name, args in calls:
            selector, inputs, outputs = self._function(contract, name)
            size = sum(_static_bytes(t) for t in outputs)
            targets.append((contract.address, selector + encode(inputs, list(args)), size))
            types.extend(outputs)
            counts.append(len(outputs))
        raw = self.tester.call({"from": self.sender, "data": "0x" + _program(targets).hex(),
                                "gas": 30_000_000})
        flat = iter(decode(types, bytes.fromhex(raw[2:])))
        return [next(flat) if n == 1 else tuple(next(flat) for _ in range(n)) for n in counts]


@dataclass(frozen=True)
class Books:
    """What the invariants read after a transaction."""

    house_usd: int
    credits: dict[str, int]
    records: dict[bytes, BidRecord]
    epsilon: dict[str, int]  # ε balances of the data owner and the bidders
    reserved: int
    consumed: int
    reserved_delta: int
    consumed_delta: int
    vault: dict[str, VaultBalance]
    provider_bonds: dict[int, ProviderBond]  # by round
    refunds: dict[bytes, int]  # `refundOf` the records of finished rounds
    supply: int
    burned: int
    minted: int


# ---- the model ----


@dataclass
class Entry:
    """A bid and what its record must hold."""

    bid: Bid
    bidder: LocalAccount
    digest: bytes
    stake_wei: int
    status: Status = Status.COMMITTED
    payment_micro_usd: int = 0
    refunded: bool = False
    claimed: bool = False
    holder: LocalAccount | None = None  # of its ERC-1155 token, while one exists
    redeemer: LocalAccount | None = None
    provider_item: int = 0  # set when issued, with the end of its slot
    delivery_end: int = 0

    @property
    def verdict_deadline(self) -> int:
        return self.delivery_end + VERDICT_WINDOW

    @property
    def deposit_micro_usd(self) -> int:
        return self.bid.max_value_micro_usd

    @property
    def refundable(self) -> int:
        """From Forfeited on (the enum's order), what the record did not pay is its bidder's."""
        if self.status < Status.FORFEITED or self.refunded:
            return 0
        return self.deposit_micro_usd - self.payment_micro_usd

    @property
    def stake_holder(self) -> LocalAccount:
        return self.redeemer or self.bidder


@dataclass
class Version:
    """A result: the auctioneer's post (version 1) or a challenge."""

    poster: LocalAccount
    planned: list[list[tuple[Bid, int]]]  # batches not posted yet
    claim: tuple[int, int] = (SolverStatus.OPTIMAL, 0)
    batches: list[list[Award]] = field(default_factory=list)
    fills: list[tuple[Bid, int]] = field(default_factory=list)

    @property
    def welfare_micro_usd(self) -> int:
        return welfare(*self.fills, asks=ASKS)

    @property
    def awards(self) -> list[Award]:
        return [a for batch in self.batches for a in batch]

    def claimed_bound(self) -> int:
        """`_claimedBound`: its welfare if claimed optimal, else its bound within the policy's
        widest gap."""
        status, bound = self.claim
        own = self.welfare_micro_usd
        if status == SolverStatus.OPTIMAL:
            return own
        return max(min(bound, own + own * MAX_CLAIMED_GAP_BPS // BPS), own)


@dataclass
class RoundModel:
    round_id: int
    deadlines: Deadlines
    challenge_end: int
    delivery_ends: tuple[int, ...]  # by item
    entries: list[Entry] = field(default_factory=list)
    versions: dict[int, Version] = field(default_factory=dict)
    version_count: int = 1
    standing: int = 0
    payments: list[int] | None = None  # the quorum's, in the standing result's order
    issued: set[int] = field(default_factory=set)
    open_futures: int = 0  # issued, not yet ended (all of the one provider's)
    closed: bool = False
    holds: Counter[str] = field(default_factory=Counter)  # bond held for the round, by account
    unsealed: dict[str, int] = field(default_factory=dict)  # challenger → its open challenge
    futile: int | None = None  # a standing version no challenge could beat
    funded: set[str] = field(default_factory=set)  # bidders who prepaid for this round
    cancelled: bool = False  # one of its bids was withdrawn (once a round is enough)

    @property
    def opened(self) -> int:
        return self.deadlines.commit_timestamp - PHASE_SECONDS

    def phase(self, now: int) -> Phase:
        """`ClearingHouseBase._phase` at `now`."""
        d = self.deadlines
        if now <= d.commit_timestamp:
            return Phase.COMMIT
        if now <= d.reveal_timestamp:
            return Phase.REVEAL
        if now <= d.post_timestamp:
            return Phase.POST
        if now <= self.challenge_end:
            return Phase.CHALLENGE
        if self.payments is not None or self.standing == 0:
            return Phase.FINAL
        if now <= self.challenge_end + PRICING_WINDOW:
            return Phase.PRICE
        return Phase.FINAL

    def boundaries(self) -> list[int]:
        """Every timestamp after which the round's phase may change."""
        d = self.deadlines
        return [d.commit_timestamp, d.reveal_timestamp, d.post_timestamp, self.challenge_end,
                self.challenge_end + PRICING_WINDOW]

    def delivery_deadlines(self) -> list[int]:
        """When its futures' deliveries end and their verdicts are due, whichever items win."""
        return [*self.delivery_ends, *(end + VERDICT_WINDOW for end in self.delivery_ends)]

    @property
    def result(self) -> Version | None:
        return self.versions.get(self.standing)

    def standing_welfare(self) -> int:
        return self.result.welfare_micro_usd if self.result else 0

    def revealed(self) -> list[Entry]:
        return [e for e in self.entries if e.status is Status.REVEALED]

    def losers(self) -> list[Entry]:
        won = {bid for bid, _ in self.result.fills} if self.result else set()
        return [e for e in self.revealed() if e.bid not in won]

    def unissued(self) -> list[int]:
        return [b for b in range(len(self.result.batches) if self.result else 0)
                if b not in self.issued]

    def issued_fills(self) -> tuple[int, int]:
        """(futures issued, fills of the standing result), as `NotAllIssued` reports them."""
        if self.result is None:
            return 0, 0
        return sum(len(self.result.batches[b]) for b in self.issued), len(self.result.awards)

    def finished(self) -> bool:
        """Closed, with every record out of the holding statuses (so every future ended)."""
        return self.closed and all(e.status not in HOLDING for e in self.entries)


def _fillable(bid: Bid, index: int) -> bool:
    """A bundle a result may fill: worth its reserve cost, on tiers the bid's band may use."""
    bundle = bid.bundles[index]
    band = POLICY.rules.band_of(bid.risk_bps)
    assert band is not None
    mask = POLICY.rules.band_tier_masks[band]
    return (bundle.value_micro_usd >= reserve_cost(bundle, ASKS)
            and all((mask >> ASKS[item].tier) & 1 for item in bundle.items))


def _fits(fills: list[tuple[Bid, int]]) -> bool:
    units: Counter[int] = Counter()
    for bid, index in fills:
        bundle = bid.bundles[index]
        units.update(dict(zip(bundle.items, bundle.quantities, strict=True)))
    return all(units[item] <= ASKS[item].capacity for item in units)


def _allocations(entries: list[Entry]) -> list[list[tuple[Bid, int]]]:
    """Every feasible allocation of these bids by rising welfare, by brute force (a round has
    a handful): the empty one first, a best one last."""
    options = [[None, *(i for i in range(len(e.bid.bundles)) if _fillable(e.bid, i))]
               for e in entries]
    found = []
    for choice in itertools.product(*options):
        fills = [(e.bid, i) for e, i in zip(entries, choice, strict=True) if i is not None]
        if _fits(fills):
            found.append(fills)
    return sorted(found, key=lambda fills: welfare(*fills, asks=ASKS))


def _bundle(items: list[int], quantities: list[int], surplus: int) -> Bundle:
    """Units of up to two items worth `surplus` USD over their reserve cost; half a USD under
    it for surplus −1 (a bundle no result may fill)."""
    chosen = tuple(sorted(items))
    units = tuple(quantities[: len(chosen)])
    cost = reserve_cost(Bundle(chosen, units, 0), ASKS)
    return Bundle(chosen, units, cost + surplus * USD if surplus >= 0 else cost - USD // 2)


bundles = st.lists(
    st.builds(
        _bundle,
        st.lists(st.integers(0, len(ASKS) - 1), min_size=1, max_size=2, unique=True),
        st.lists(st.integers(1, 3), min_size=2, max_size=2),
        st.integers(-1, 6),
    ),
    min_size=1,
    max_size=2,
)
# A step aims at something impossible when this draws its top value: rarely, and never in the
# minimal examples shrinking moves towards.
misfire = st.integers(0, 7).map(lambda drawn: drawn == 7)


def _quoted(award: Award, share: int) -> int:
    """The quorum's payment: `share` % of the way from reserve cost to value (beyond either
    end outside 0–100, which `finalise` clamps)."""
    return max(award.reserve_micro_usd
               + (award.value_micro_usd - award.reserve_micro_usd) * share // 100, 0)


def _paid(award: Award, quoted: int | None) -> int:
    """What `finalise` charges: the quoted payment held between reserve cost and value, or the
    reserve cost when the round was not priced."""
    if quoted is None:
        return award.reserve_micro_usd
    return min(max(quoted, award.reserve_micro_usd), award.value_micro_usd)


def _tally(rule_name: str, outcome: str) -> None:
    TALLY[(rule_name, outcome)] += 1
    event(f"{rule_name}: {outcome}")


def _offers(choices: Callable[[Any], list[Any]]) -> Callable[[Any], bool]:
    """A rule's precondition: `choices` offers it something to act on."""

    def offers(machine: Any) -> bool:
        return bool(choices(machine))

    offers.__name__ = f"offers_{choices.__name__.strip('_')}"
    return offers


class ClearingHouseMachine(RuleBasedStateMachine):
    """Rules draw what to do among what the model allows; the actions they call (also used to
    build the state every example starts from) send it and update the model."""

    def __init__(self, market: Market, start: ClearingHouseMachine | None = None) -> None:
        super().__init__()
        self.market, self.chain, self.house = market, market.chain, market.house
        self.system = market.system
        self.views = Views(self.chain)
        self.bidders: list[LocalAccount] = list(market.bidders)
        self.provider, self.auctioneer = market.provider, market.auctioneer
        self.treasury = market.governance  # deploy_system's treasury: forfeits go to it
        self.creditors = [*self.bidders, self.provider, self.treasury]
        self.bonders = [self.auctioneer, self.provider, *self.bidders]
        self.snapshot = self.chain.snapshot()
        self.transactions = 0
        self._books: tuple[int, Books] | None = None
        self.counting = start is not None  # the prelude's steps are set-up, not tallied
        if start is not None:
            # Accounts are shared, the rest copied (entries are referenced from their rounds).
            memo = {id(a): a for a in (*self.bidders, self.provider, self.auctioneer,
                                       self.treasury)}
            copied = copy.deepcopy({name: vars(start)[name] for name in MODEL}, memo)
            vars(self).update(copied)
            return
        self.rounds: list[RoundModel] = []
        self.entries: dict[bytes, Entry] = {}
        self.nonce = 0
        base = self.books()
        self.credit = dict(base.credits)
        self.house_usd = base.house_usd
        self.epsilon = dict(base.epsilon)
        self.consumed = base.consumed
        self.consumed_delta = base.consumed_delta
        self.bonds = {a: [b.bonded_wei, b.bond_locked_wei] for a, b in base.vault.items()}
        self.burned_base, self.burned = base.burned, 0
        self.clock = int(self.views.tester.get_block_by_number("latest")["timestamp"])

    def teardown(self) -> None:
        for r in self.rounds:
            if r.finished():
                self._note("round finished")
        self.chain.revert_to(self.snapshot)

    # ---- reading ----

    def books(self) -> Books:
        """The chain's books after the last transaction, read once: time passing and refused
        calls change nothing, so the last reading stands."""
        if self._books and self._books[0] == self.transactions:
            return self._books[1]
        m, house, ledger, vault = self.market, self.house, self.system.ledger, self.system.vault
        cst = self.system.cst
        digests = list(self.entries)
        holders = [m.owner.address, *(b.address for b in self.bidders)]
        round_ids = [r.round_id for r in self.rounds]
        finished = [e.digest for r in self.rounds if r.finished() for e in r.entries]
        values = iter(self.views.read([
            (self.system.usd, "balanceOf", (house.address,)),
            *((house, "creditOf", (a.address,)) for a in self.creditors),
            *((house, "bidOf", (d,)) for d in digests),
            *((ledger, "balanceOf", (h, m.dataset)) for h in holders),
            (ledger, "reservedOf", (m.dataset,)),
            (ledger, "datasetOf", (m.dataset,)),
            (ledger, "reservedDeltaOf", (m.dataset,)),
            *((vault, "balanceOf", (a.address,)) for a in self.bonders),
            *((house, "providerBondOf", (r, self.provider.address)) for r in round_ids),
            *((house, "refundOf", (d,)) for d in finished),
            (cst, "totalSupply", ()), (cst, "totalBurned", ()), (cst, "totalMinted", ()),
        ]))
        books = Books(
            house_usd=next(values),
            credits={a.address: next(values) for a in self.creditors},
            records={d: BidRecord.from_call(next(values)) for d in digests},
            epsilon={h: next(values) for h in holders},
            reserved=next(values),
            consumed=(dataset := Dataset(*next(values))).consumed_micro_epsilon,
            consumed_delta=dataset.consumed_delta_atto,
            reserved_delta=next(values),
            vault={a.address: VaultBalance(*next(values)) for a in self.bonders},
            provider_bonds={r: ProviderBond(*next(values)) for r in round_ids},
            refunds={d: next(values) for d in finished},
            supply=next(values),
            burned=next(values),
            minted=next(values),
        )
        self._books = (self.transactions, books)
        return books

    def _in(self, *phases: Phase) -> list[RoundModel]:
        return [r for r in self.rounds if r.phase(self.clock) in phases]

    def _entries(self, *statuses: Status) -> list[Entry]:
        return [e for e in self.entries.values() if e.status in statuses]

    def _owed(self, account: LocalAccount) -> int:
        return self.credit[account.address] + sum(
            e.refundable for e in self.entries.values() if e.bidder is account)

    def _other(self, account: LocalAccount) -> LocalAccount:
        return next(b for b in self.bidders if b is not account)

    def _round(self, entry: Entry) -> RoundModel:
        return next(r for r in self.rounds if r.round_id == entry.bid.round_id)

    def _holder(self, entry: Entry) -> LocalAccount:
        """Who holds a future: its token's holder once claimed, else its bidder."""
        holder = entry.holder if entry.claimed else entry.bidder
        assert holder is not None
        return holder

    def _before(self, deadline: int) -> bool:
        """The next transactions run before `deadline`, or else after it: the clock never rests
        within the margin before a deadline, nor on it."""
        return self.clock < deadline

    # ---- sending ----

    def _tally(self, rule_name: str, outcome: str = "ok") -> None:
        if self.counting:
            _tally(rule_name, outcome)

    def _note(self, path: str) -> None:
        if self.counting:
            PATHS[path] += 1
            event(path)

    def _sent(self, rule_name: str) -> None:
        self.transactions += 1
        self.clock = int(self.views.tester.get_block_by_number("latest")["timestamp"])
        self._tally(rule_name)

    def _attempt(self, rule_name: str, call: Any, sender: LocalAccount,
                 refusal: tuple[Any, ...] | None = None) -> Any:
        """Sends `call`; with `refusal`, it must revert with exactly that error. `Chain.send`
        simulates a call before sending it, so a refused one changes nothing, and the model
        stays as it was."""
        if refusal is not None:
            with reverts(*refusal):
                self.chain.send(call, sender)
            self._tally(rule_name, f"refused {refusal[0]}")
            return None
        receipt = self.chain.send(call, sender)
        self._sent(rule_name)
        return receipt

    def _timestamp(self, receipt: Any) -> int:
        return int(self.chain.w3.eth.get_block(receipt.block_number)["timestamp"])

    def _required_stake(self, account: LocalAccount, bid: Bid) -> int:
        """What the vault locks for `account` backing `bid`, rounded up to the record's unit."""
        (required,) = self.views.read([(self.system.vault, "requiredStake",
                                        (account.address, bid.risk_bps, bid.max_value_micro_usd))])
        return -(-required // STAKE_UNIT_WEI) * STAKE_UNIT_WEI

    # ---- the vault's bonds, as the model keeps them ----

    def _lock_bond(self, r: RoundModel, account: LocalAccount, amount: int) -> None:
        self.bonds[account.address][0] -= amount
        self.bonds[account.address][1] += amount
        r.holds[account.address] += amount

    def _take_locked(self, r: RoundModel, account: str, amount: int) -> None:
        """Out of what `r` holds of the account's bond: to be burned, seized or released."""
        assert r.holds[account] >= amount
        self.bonds[account][1] -= amount
        r.holds[account] -= amount

    def _release_bond(self, r: RoundModel, account: str, amount: int) -> None:
        self._take_locked(r, account, amount)
        self.bonds[account][0] += amount

    def _hold_delivery_bond(self, r: RoundModel, receipt: Any) -> None:
        """At close, `_holdDeliveryBonds`: of the provider's ask bond, one slash per open future
        stays held, the rest is released."""
        provider = self.provider.address
        held = min(r.holds[provider], r.open_futures * PROVIDER_SLASH)
        (kept,) = event_args(self.house, receipt, "DeliveryBondHeld")
        assert (kept["provider"], kept["heldWei"], kept["futures"]) == (
            provider, held, r.open_futures)
        self._release_bond(r, provider, r.holds[provider] - held)

    def _close_delivery(self, r: RoundModel, provider_at_fault: bool) -> int:
        """`_closeDelivery`: one of `r`'s futures ended. At the provider's fault (or a time-out)
        its slash is burned from what the round holds of its bond; after the last future, the
        rest is released. Returns what was burned."""
        provider = self.provider.address
        burned = min(PROVIDER_SLASH, r.holds[provider]) if provider_at_fault else 0
        self._take_locked(r, provider, burned)
        self.burned += burned
        if provider_at_fault and burned < PROVIDER_SLASH:
            self._note("provider slash short of a full one")
        r.open_futures -= 1
        if r.open_futures == 0:
            self._release_bond(r, provider, r.holds[provider])
        return burned

    # ---- rounds ----

    def _may_open(self) -> bool:
        return (sum(not r.closed for r in self.rounds) < MAX_OPEN_ROUNDS
                and self.clock >= self.rounds[-1].opened + OPEN_GAP_SECONDS)

    @precondition(_may_open)
    @rule()
    def open_round(self) -> None:
        self._open()

    def _open(self) -> RoundModel:
        """A round under POLICY with ASKS' items, their slots moved to start when its final
        phase starts at the latest."""
        shift = self.market.now() + SLOTS_AFTER_OPEN_SECONDS - ASKS[0].slot_start_timestamp
        asks = tuple(replace(a, slot_start_timestamp=a.slot_start_timestamp + shift) for a in ASKS)
        round_id = self.market.open_round(asks)
        self._sent("open_round")
        state = self.market.round(round_id)
        assert state.item_count == len(ASKS)
        ends = tuple(a.slot_start_timestamp + a.slot_seconds for a in asks)
        items = self.views.read([(self.house, "askOf", (round_id, i)) for i in range(len(asks))])
        assert [AskState(*item).delivery_end_timestamp for item in items] == list(ends)
        r = RoundModel(round_id, state.deadlines, state.challenge_end_timestamp, ends)
        self.rounds.append(r)
        self._lock_bond(r, self.provider, ROUND_ASK_BOND)
        return r

    def _unfunded(self) -> list[tuple[RoundModel, LocalAccount]]:
        return [(r, b) for r in self._in(Phase.COMMIT) for b in self.bidders
                if b.address not in r.funded]

    @precondition(_offers(_unfunded))
    @rule(data=st.data())
    def deposit(self, data: st.DataObject) -> None:
        """A bidder prepays its commits in a round, once."""
        r, who = data.draw(st.sampled_from(self._unfunded()))
        amount = data.draw(st.integers(1, 4)) * 10 * USD
        self._attempt("deposit", self.house.functions.deposit(amount), who)
        r.funded.add(who.address)
        self.credit[who.address] += amount
        self.house_usd += amount

    # ---- bids ----

    def _open_for_bids(self) -> list[RoundModel]:
        return [r for r in self._in(Phase.COMMIT) if len(r.entries) < MAX_BIDS_PER_ROUND]

    @precondition(_offers(_open_for_bids))
    @rule(data=st.data())
    def commit(self, data: st.DataObject) -> None:
        r = data.draw(st.sampled_from(self._open_for_bids()))
        self._commit(r, data.draw(st.sampled_from(self.bidders)), data.draw(bundles),
                     risk_bps=data.draw(st.sampled_from(RISKS)),
                     epsilon_micros=data.draw(st.sampled_from(EPSILONS)))

    def _commit(self, r: RoundModel, bidder: LocalAccount, chosen: list[Bundle],
                **terms: Any) -> Entry:
        self.nonce += 1
        bid = self.market.bid(bidder, r.round_id, *chosen, nonce=self.nonce, **terms)
        stake = self._required_stake(bidder, bid)
        call = self.house.functions.commit(terms_args(bid), envelope_hash(bid))
        receipt = self._attempt("commit", call, bidder)
        (committed,) = event_args(self.house, receipt, "Committed")
        digest = bytes(committed["digest"])
        assert digest == self.market.digest(bid)
        # The vault's event says what was locked (nothing for a stake rounded to none).
        assert event_args(self.market.system.vault, receipt, "StakeLocked") == (
            [{"account": bidder.address, "amount": stake}] if stake else [])
        # The deposit comes out of the credit as far as it goes; the rest is pulled.
        taken = min(self.credit[bidder.address], bid.max_value_micro_usd)
        self.credit[bidder.address] -= taken
        self.house_usd += bid.max_value_micro_usd - taken
        self.epsilon[bidder.address] -= bid.epsilon_micros
        entry = Entry(bid, bidder, digest, stake)
        self.entries[digest] = entry
        r.entries.append(entry)
        return entry

    def _give_back(self, entry: Entry) -> None:
        """A record leaving the holding statuses without a verdict: its ε goes back to its
        bidder (its stake is freed too, which the stake invariant reads from the records)."""
        self.epsilon[entry.bidder.address] += entry.bid.epsilon_micros

    def _cancellable(self) -> list[tuple[RoundModel, Entry]]:
        return [(r, e) for r in self._in(Phase.COMMIT) if not r.cancelled
                for e in r.entries if e.status is Status.COMMITTED]

    @precondition(_offers(_cancellable))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        r, entry = data.draw(st.sampled_from(self._cancellable()))
        sender = self._other(entry.bidder) if data.draw(misfire) else entry.bidder
        refusal = (None if sender is entry.bidder
                   else ("NotBidder", sender.address, entry.bidder.address))
        call = self.house.functions.cancel(terms_args(entry.bid), envelope_hash(entry.bid))
        if self._attempt("cancel", call, sender, refusal) is None:
            return
        # The whole deposit to the credit, at once.
        r.cancelled = True
        entry.status, entry.refunded = Status.CANCELLED, True
        self.credit[entry.bidder.address] += entry.deposit_micro_usd
        self._give_back(entry)

    def _revealable(self) -> list[Entry]:
        return [e for r in self._in(Phase.REVEAL) for e in r.entries
                if e.status is Status.COMMITTED]

    @precondition(_offers(_revealable))
    @rule(data=st.data())
    def reveal(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from(self._revealable()))
        self._reveal(entry, data.draw(st.sampled_from([*self.bidders, self.treasury])))

    def _reveal(self, entry: Entry, sender: LocalAccount) -> None:
        """Signed by the bidder, sent by anyone."""
        self.market.reveal(entry.bid, entry.bidder, sender)
        self._sent("reveal")
        entry.status = Status.REVEALED

    def _forfeitable(self) -> list[Entry]:
        return [e for r in self._in(Phase.POST, Phase.CHALLENGE, Phase.PRICE, Phase.FINAL)
                for e in r.entries if e.status is Status.COMMITTED]

    @precondition(_offers(_forfeitable))
    @rule(data=st.data())
    def forfeit(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from(self._forfeitable()))
        call = self.house.functions.forfeit(terms_args(entry.bid), envelope_hash(entry.bid))
        receipt = self._attempt("forfeit", call, self.treasury)
        deposit = entry.deposit_micro_usd
        fee = min(FORFEIT_FEE + deposit * FORFEIT_BPS // BPS, deposit)
        assert event_args(self.house, receipt, "Forfeited")[0]["feeMicroUsd"] == fee
        entry.status, entry.payment_micro_usd = Status.FORFEITED, fee
        self.credit[self.treasury.address] += fee
        self._give_back(entry)

    # ---- results ----

    def _append(self, r: RoundModel, number: int, batch: list[tuple[Bid, int]],
                receipt: Any) -> None:
        """A batch added to version `number`: its event carries the awards and the welfare the
        model derives."""
        version = r.versions[number]
        version.fills.extend(batch)
        expected = awards(self.market, *batch, asks=ASKS)
        (posted,) = event_args(self.house, receipt, "BatchPosted")
        assert (posted["version"], posted["batch"]) == (number, len(version.batches))
        assert [Award.from_event(a) for a in posted["awards"]] == expected
        assert posted["welfareMicroUsd"] == version.welfare_micro_usd
        version.batches.append(expected)

    def _postable(self) -> list[RoundModel]:
        return [r for r in self._in(Phase.POST)
                if 1 not in r.versions or r.versions[1].planned]

    @precondition(_offers(_postable))
    @rule(data=st.data())
    def post(self, data: st.DataObject) -> None:
        r = data.draw(st.sampled_from(self._postable()))
        if 1 not in r.versions:
            # Not necessarily the best allocation: something for challengers to beat.
            chosen: list[tuple[Bid, int]] = []
            for entry in r.revealed():
                index = data.draw(st.sampled_from(
                    [None, *(i for i in range(len(entry.bid.bundles))
                             if _fillable(entry.bid, i))]))
                if index is not None and _fits([*chosen, (entry.bid, index)]):
                    chosen.append((entry.bid, index))
            total = welfare(*chosen, asks=ASKS)
            self._plan_post(r, chosen, data.draw(st.integers(0, len(chosen))), data.draw(
                st.one_of(st.just((SolverStatus.OPTIMAL, 0)),
                          st.integers(0, 2 * total + USD).map(
                              lambda gap: (SolverStatus.FEASIBLE, total + gap)))))
        self._post(r)

    def _plan_post(self, r: RoundModel, chosen: list[tuple[Bid, int]], split: int,
                   claim: tuple[int, int]) -> None:
        """The auctioneer's allocation, in ascending digest order, as up to two batches."""
        ordered = by_digest(self.market, *chosen)
        planned = [b for b in (ordered[:split], ordered[split:]) if b] or [[]]
        r.versions[1] = Version(self.auctioneer, planned, claim)

    def _post(self, r: RoundModel) -> None:
        """The next batch of the auctioneer's allocation; the first locks its bond."""
        version = r.versions[1]
        batch = version.planned.pop(0)
        call = self.house.functions.post(r.round_id, self.market.fills(*batch), version.claim)
        receipt = self._attempt("post", call, self.auctioneer)
        self._append(r, 1, batch, receipt)
        if r.standing == 0:
            r.standing = 1
            self._lock_bond(r, self.auctioneer, AUCTIONEER_BOND)

    def _challengeable(self) -> list[tuple[RoundModel, LocalAccount]]:
        """Bidders with a challenge to go on with, and any bidder while a new one may be tried
        (once per standing result that the best allocation cannot beat)."""
        return [(r, b) for r in self._in(Phase.CHALLENGE) for b in self.bidders
                if b.address in r.unsealed or r.futile != r.standing]

    @precondition(_offers(_challengeable))
    @rule(data=st.data())
    def challenge(self, data: st.DataObject) -> None:
        r, challenger = data.draw(st.sampled_from(self._challengeable()))
        needed = needed_welfare(r.standing_welfare(), POLICY.rules.rates.min_improvement_bps)
        number = r.unsealed.get(challenger.address)
        sent_version = number or 0
        if number is None:
            allocations = _allocations(r.revealed())
            winning = [f for f in allocations if welfare(*f, asks=ASKS) >= needed]
            if not winning:
                best = by_digest(self.market, *allocations[-1])
                r.futile = r.standing
                call = self.house.functions.challenge(r.round_id, 0, self.market.fills(*best),
                                                      True)
                refusal = ("WelfareNotHigher", r.round_id, welfare(*best, asks=ASKS), needed)
                self._attempt("challenge", call, challenger, refusal)
                return
            # Any allocation that wins, not only the best: a later challenge may beat it.
            chosen = by_digest(self.market, *data.draw(st.sampled_from(winning)))
            split = data.draw(st.integers(1, len(chosen)))
            number = r.version_count + 1
            r.versions[number] = Version(challenger,
                                         [b for b in (chosen[:split], chosen[split:]) if b])
        version = r.versions[number]
        batch = version.planned[0]
        seal = len(version.planned) == 1
        call = self.house.functions.challenge(r.round_id, sent_version,
                                              self.market.fills(*batch), seal)
        offered = welfare(*version.fills, *batch, asks=ASKS)
        if seal and offered < needed:
            # Another challenge was sealed while this one was being built.
            del r.unsealed[challenger.address]
            self._attempt("challenge", call, challenger,
                          ("WelfareNotHigher", r.round_id, offered, needed))
            return
        receipt = self._attempt("challenge", call, challenger)
        version.planned.pop(0)
        r.version_count = max(r.version_count, number)
        self._append(r, number, batch, receipt)
        if seal:
            r.unsealed.pop(challenger.address, None)
            self._seal(r, number, challenger, receipt)
        else:
            r.unsealed[challenger.address] = number

    def _seal(self, r: RoundModel, number: int, challenger: LocalAccount, receipt: Any) -> None:
        """The sealed challenge stands: the replaced poster's bond is released, slashed or
        seized, the challenger's is locked and the window reopens for an answer."""
        replaced, version = r.standing, r.versions[number]
        taken = 0
        if replaced == 1:
            beaten = r.versions[1]
            # Burned only when beaten by more than the gap the auctioneer claimed.
            if version.welfare_micro_usd > beaten.claimed_bound():
                self._note("auctioneer slashed")
                taken = AUCTIONEER_SLASH
                self._take_locked(r, beaten.poster.address, taken)
                self.burned += taken
                self._release_bond(r, beaten.poster.address, AUCTIONEER_BOND - AUCTIONEER_SLASH)
            else:
                self._note("auctioneer beaten within its claimed gap")
                self._release_bond(r, beaten.poster.address, AUCTIONEER_BOND)
        elif replaced:
            # A challenger's bond is the answer's: paid out of the vault to the new challenger.
            self._note("challenger's bond seized")
            taken = CHALLENGER_BOND
            self._take_locked(r, r.versions[replaced].poster.address, taken)
        self._lock_bond(r, challenger, CHALLENGER_BOND)
        answer_end = min(self._timestamp(receipt) + ANSWER_WINDOW,
                         r.deadlines.challenge_timestamp + MAX_EXTENSION)
        r.challenge_end = max(r.challenge_end, answer_end)
        r.standing = number
        (replacement,) = event_args(self.house, receipt, "ResultReplaced")
        assert (replacement["version"], replacement["challenger"], replacement["replacedVersion"],
                replacement["welfareMicroUsd"], replacement["slashedWei"],
                replacement["challengeEndTimestamp"]) == (
            number, challenger.address, replaced, version.welfare_micro_usd, taken,
            r.challenge_end)

    def _priceable(self) -> list[RoundModel]:
        return self._in(Phase.PRICE)

    @precondition(_offers(_priceable))
    @rule(data=st.data())
    def price(self, data: st.DataObject) -> None:
        r = data.draw(st.sampled_from(self._priceable()))
        assert r.result is not None
        count = len(r.result.awards)
        self._price(r, data.draw(st.lists(st.integers(-20, 120), min_size=count,
                                          max_size=count)),
                    data.draw(st.sampled_from(self.bidders)))

    def _price(self, r: RoundModel, shares: list[int], sender: LocalAccount) -> None:
        """The quorum's report on the standing result, sent by anyone."""
        assert r.result is not None
        payments = [_quoted(a, s) for a, s in zip(r.result.awards, shares, strict=True)]
        report = PriceReport(self.house.address, r.round_id, r.standing,
                             tuple(a.reserve_price_micro_usd for a in ASKS), tuple(payments),
                             self.market.config_digest)
        call = self.house.functions.price(r.round_id, list(report.item_prices_micro_usd),
                                          payments, self.market.sign(report))
        self._attempt("price", call, sender)
        r.payments = payments

    # ---- the final phase ----

    def _finalisable(self) -> list[RoundModel]:
        return [r for r in self._in(Phase.FINAL) if r.unissued()]

    @precondition(_offers(_finalisable))
    @rule(data=st.data())
    def finalise(self, data: st.DataObject) -> None:
        r = data.draw(st.sampled_from(self._finalisable()))
        assert r.result is not None
        self._finalise(r, data.draw(st.sampled_from(
            list(range(len(r.result.batches))) if data.draw(misfire) else r.unissued())))

    def _finalise(self, r: RoundModel, number: int) -> None:
        """Issues batch `number` of the standing result; a batch issued already is refused."""
        assert r.result is not None
        batches = r.result.batches
        start = sum(len(b) for b in batches[:number])
        quoted = (None if r.payments is None
                  else r.payments[start:start + len(batches[number])])
        call = self.house.functions.finalise(r.round_id, number,
                                             [a.as_args() for a in batches[number]],
                                             quoted or [])
        refusal = (("BatchMismatch", r.round_id, r.standing, number) if number in r.issued
                   else None)
        if self._attempt("finalise", call, self.treasury, refusal) is None:
            return
        r.issued.add(number)
        for position, award in enumerate(batches[number]):
            entry = self.entries[award.bid_digest]
            # The award's item is the bundle's last to end (`_append` checked it).
            entry.status, entry.provider_item = Status.FUTURE, award.provider_item
            entry.delivery_end = r.delivery_ends[award.provider_item]
            entry.payment_micro_usd = _paid(award, None if quoted is None else quoted[position])
            r.open_futures += 1
            if quoted is None:
                self._note("unpriced: paid its reserve cost")
            elif entry.payment_micro_usd != quoted[position]:
                self._note("quoted payment clamped")

    def _releasable(self) -> list[RoundModel]:
        return [r for r in self._in(Phase.FINAL) if r.losers() and not r.unissued()]

    @precondition(_offers(_releasable))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        r = data.draw(st.sampled_from(
            [r for r in self._in(Phase.FINAL) if r.losers()] if data.draw(misfire)
            else self._releasable()))
        losers = data.draw(st.lists(st.sampled_from(r.losers()), min_size=1,
                                    unique_by=lambda e: e.digest))
        issued, fills = r.issued_fills()
        refusal = ("NotAllIssued", r.round_id, issued, fills) if issued < fills else None
        call = self.house.functions.release(r.round_id, [e.digest for e in losers])
        if self._attempt("release", call, self.treasury, refusal) is None:
            return
        for entry in losers:
            entry.status = Status.RELEASED
            self._give_back(entry)

    def _closable(self) -> list[RoundModel]:
        return [r for r in self._in(Phase.FINAL) if not r.closed and not r.unissued()]

    @precondition(_offers(_closable))
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        self._close(data.draw(st.sampled_from(self._in(Phase.FINAL) if data.draw(misfire)
                                              else self._closable())))

    def _close(self, r: RoundModel) -> None:
        """Once every batch is issued, and once: the standing poster's bond is released, and
        the provider's but for what its futures may still need."""
        issued, fills = r.issued_fills()
        refusal = (("RoundClosed", r.round_id) if r.closed
                   else ("NotAllIssued", r.round_id, issued, fills) if issued < fills else None)
        receipt = self._attempt("close", self.house.functions.close(r.round_id), self.treasury,
                                refusal)
        if receipt is None:
            return
        r.closed = True
        for account, amount in list(r.holds.items()):
            if amount and account != self.provider.address:
                self._release_bond(r, account, amount)
        self._hold_delivery_bond(r, receipt)

    # ---- money and delivery ----

    def _owed_accounts(self) -> list[LocalAccount]:
        return [a for a in self.creditors if self._owed(a)]

    @precondition(_offers(_owed_accounts))
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        who = data.draw(st.sampled_from(self.creditors if data.draw(misfire)
                                        else self._owed_accounts()))
        amount = self._owed(who)
        mine = [e for e in self.entries.values() if e.bidder is who]
        call = self.house.functions.withdraw([e.digest for e in mine])
        refusal = None if amount else ("NothingToWithdraw", who.address)
        receipt = self._attempt("withdraw", call, who, refusal)
        if receipt is None:
            return
        assert event_args(self.house, receipt, "Withdrawn")[0]["amountMicroUsd"] == amount
        self.credit[who.address] = 0
        for entry in mine:
            entry.refunded = entry.refunded or entry.refundable > 0
        self.house_usd -= amount

    def _claimable(self) -> list[Entry]:
        return [e for e in self._entries(Status.FUTURE) if not e.claimed]

    @precondition(_offers(_claimable))
    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        self._claim(data.draw(st.sampled_from(self._entries(Status.FUTURE) if data.draw(misfire)
                                              else self._claimable())))

    def _claim(self, entry: Entry) -> None:
        """The bidder mints its future as an ERC-1155 token; a second claim is refused."""
        refusal = ("AlreadyClaimed", "0x" + entry.digest.hex()) if entry.claimed else None
        call = self.house.functions.claim([entry.digest])
        if self._attempt("claim", call, entry.bidder, refusal) is None:
            return
        entry.claimed, entry.holder = True, entry.bidder

    def _transferable(self) -> list[Entry]:
        """Claimed futures still with their bidder (each moves once)."""
        return [e for e in self._entries(Status.FUTURE) if e.claimed and e.holder is e.bidder]

    @precondition(_offers(_transferable))
    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from(self._transferable()))
        assert entry.holder is not None
        to, token = self._other(entry.holder), int.from_bytes(entry.digest, "big")
        call = self.system.futures.functions.safeTransferFrom(
            entry.holder.address, to.address, token, 1, b"")
        self._attempt("transfer", call, entry.holder)
        entry.holder = to
        assert self.system.futures.functions.balanceOf(to.address, token).call() == 1

    def _redeemable(self) -> list[Entry]:
        return [e for e in self._entries(Status.FUTURE)
                if self._round(e).closed and self._before(e.delivery_end)]

    @precondition(_offers(_redeemable))
    @rule(data=st.data())
    def redeem(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from(self._entries(Status.FUTURE) if data.draw(misfire)
                                          else self._redeemable()))
        rightful = self._holder(entry)
        self._redeem(entry, self._other(rightful) if data.draw(misfire) else rightful)

    def _redeem(self, entry: Entry, redeemer: LocalAccount) -> None:
        """By its token's holder (its bidder, if unclaimed), once its round is closed and before
        its delivery ends."""
        r, token = self._round(entry), int.from_bytes(entry.digest, "big")
        refusal: tuple[Any, ...] | None = None
        if not r.closed:
            refusal = ("RoundNotClosed", r.round_id)
        elif not self._before(entry.delivery_end):
            refusal = ("DeliveryOver", "0x" + entry.digest.hex(), entry.delivery_end)
        elif redeemer is not self._holder(entry):
            refusal = (("ERC1155InsufficientBalance", redeemer.address, 0, 1, token)
                       if entry.claimed else ("NotBidder", redeemer.address, entry.bidder.address))
        # Who runs the job backs it: a redeemer other than the bidder stakes in its place.
        stake = (entry.stake_wei if redeemer is entry.bidder
                 else self._required_stake(redeemer, entry.bid))
        receipt = self._attempt("redeem", self.house.functions.redeem(token, DECLARATION_HASH),
                                redeemer, refusal)
        if receipt is None:
            return
        (redeemed,) = event_args(self.house, receipt, "Redeemed")
        assert (redeemed["redeemer"], redeemed["stakeWei"]) == (redeemer.address, stake)
        entry.status, entry.redeemer, entry.stake_wei = Status.REDEEMED, redeemer, stake
        entry.holder = None
        if redeemer is not entry.bidder:
            self._note("redeemed in the bidder's place")

    def _judgeable(self) -> list[Entry]:
        return self._entries(Status.REDEEMED)

    @precondition(_offers(_judgeable))
    @rule(data=st.data())
    def verdict(self, data: st.DataObject) -> None:
        """The oracle quorum's k-of-n verdict on a redeemed future's job; one that comes after
        the job timed out finds nothing to enforce."""
        entry = data.draw(st.sampled_from(
            self._entries(Status.REDEEMED, Status.TIMED_OUT) if data.draw(misfire)
            else self._judgeable()))
        fault = data.draw(st.sampled_from(list(Fault)))
        assert entry.redeemer is not None
        failed = [] if fault is Fault.NONE else ["regulator.epsilon_claim"]
        verdict = Verdict(entry.digest, fault is Fault.NONE, fault, clauses_hash(failed),
                          self.market.config_digest)
        domain = verdict_domain(self.chain.chain_id, self.system.oracle.address)
        signed = [(n.address, sign_verdict(n, domain, verdict))
                  for n in self.market.nodes[:ORACLE_THRESHOLD]]
        call = self.system.oracle.functions.submitVerdict(verdict_args(verdict),
                                                          signature_args(signed))
        refusal = (("UnknownJob", "0x" + entry.digest.hex())
                   if entry.status is Status.TIMED_OUT else None)
        receipt = self._attempt("verdict", call, self.treasury, refusal)
        if receipt is None:
            return
        # A provider's fault refunds the redeemer; any other verdict pays the provider.
        paid = entry.redeemer if fault is Fault.PROVIDER else self.provider
        self.credit[paid.address] += entry.payment_micro_usd
        burned = entry.stake_wei if fault is Fault.BUYER else 0
        self.burned += burned
        burned += self._close_delivery(self._round(entry), fault is Fault.PROVIDER)
        entry.status = Status.SETTLED if fault is Fault.NONE else Status.VOIDED
        self.consumed += entry.bid.epsilon_micros  # spent on every verdict
        self.consumed_delta += MAX_DELTA_ATTO
        (enforced,) = event_args(self.house, receipt, "VerdictEnforced")
        assert (enforced["paid"], enforced["paidMicroUsd"], enforced["burnedWei"]) == (
            paid.address, entry.payment_micro_usd, burned)

    def _expirable(self) -> list[Entry]:
        return [e for e in self._entries(Status.FUTURE)
                if self._round(e).closed and not self._before(e.delivery_end)]

    @precondition(_offers(_expirable))
    @rule(data=st.data())
    def expire(self, data: st.DataObject) -> None:
        """Anyone expires futures left unredeemed past their delivery, naming each claimed
        one's holder; for an unclaimed one the sender names itself, and the ε must still go
        back to the bidder."""
        chosen = data.draw(st.lists(st.sampled_from(self._expirable()), min_size=1, max_size=3,
                                    unique_by=lambda e: e.digest))
        sender = data.draw(st.sampled_from([*self.bidders, self.treasury]))
        holders = [self._holder(e) for e in chosen]
        named = [h.address if e.claimed else sender.address
                 for e, h in zip(chosen, holders, strict=True)]
        refusal = None
        claimed = next((i for i, e in enumerate(chosen) if e.claimed), None)
        if claimed is not None and data.draw(misfire):
            wrong = self._other(holders[claimed]).address
            named[claimed] = wrong
            refusal = ("ERC1155InsufficientBalance", wrong, 0, 1,
                       int.from_bytes(chosen[claimed].digest, "big"))
        call = self.house.functions.expire([(e.digest, n) for e, n in zip(chosen, named,
                                                                           strict=True)])
        receipt = self._attempt("expire", call, sender, refusal)
        if receipt is None:
            return
        assert event_args(self.house, receipt, "Expired") == [
            {"futureId": e.digest, "holder": h.address, "paidMicroUsd": e.payment_micro_usd}
            for e, h in zip(chosen, holders, strict=True)]
        for entry, holder in zip(chosen, holders, strict=True):
            r = self._round(entry)
            # The provider held the capacity: paid as if it delivered. The ε goes with the
            # future, to whoever holds it.
            entry.status, entry.holder = Status.EXPIRED, None
            self.credit[self.provider.address] += entry.payment_micro_usd
            self.epsilon[holder.address] += entry.bid.epsilon_micros
            if holder is not entry.bidder:
                self._note("expired in another holder's hands")
            self._close_delivery(r, False)

    def _overdue(self) -> list[Entry]:
        return [e for e in self._entries(Status.REDEEMED) if not self._before(e.verdict_deadline)]

    @precondition(_offers(_overdue))
    @rule(data=st.data())
    def time_out(self, data: st.DataObject) -> None:
        """Anyone times out jobs with no verdict by their deadline; now and then one still
        within it is slipped in, and the whole call is refused."""
        chosen = data.draw(st.lists(st.sampled_from(self._overdue()), min_size=1, max_size=3,
                                    unique_by=lambda e: e.digest))
        pending = [e for e in self._entries(Status.REDEEMED) if self._before(e.verdict_deadline)]
        refusal = None
        if bool(pending) and data.draw(misfire):
            early = data.draw(st.sampled_from(pending))
            chosen.insert(data.draw(st.integers(0, len(chosen))), early)
            refusal = ("VerdictNotOverdue", "0x" + early.digest.hex(), early.verdict_deadline)
        call = self.house.functions.timeOut([e.digest for e in chosen])
        receipt = self._attempt("time_out", call, data.draw(st.sampled_from(self.creditors)),
                                refusal)
        if receipt is None:
            return
        timed_out = event_args(self.house, receipt, "TimedOut")
        for entry, logged in zip(chosen, timed_out, strict=True):
            # Each party's worst verdict: the treasury takes the payment, the redeemer's stake
            # and the provider's slash are burned, the ε is spent.
            self.credit[self.treasury.address] += entry.payment_micro_usd
            self.burned += entry.stake_wei
            bond_burned = self._close_delivery(self._round(entry), True)
            entry.status = Status.TIMED_OUT
            self.consumed += entry.bid.epsilon_micros
            self.consumed_delta += MAX_DELTA_ATTO
            assert logged == {"jobId": entry.digest, "paymentMicroUsd": entry.payment_micro_usd,
                              "burnedStakeWei": entry.stake_wei, "burnedBondWei": bond_burned}

    # ---- time ----

    @rule(data=st.data())
    def advance_time(self, data: st.DataObject) -> None:
        self._advance(data.draw(st.sampled_from([None, 600, 1_800, 3_600,
                                                 *self._next_deadlines()])))

    def _next_deadlines(self) -> dict[str, int]:
        """The nearest delivery end of a future and verdict deadline of a job still ahead."""
        ahead = {TO_DELIVERY_END: [e.delivery_end for e in self._entries(Status.FUTURE)],
                 TO_VERDICT_DEADLINE: [e.verdict_deadline
                                       for e in self._entries(Status.REDEEMED)]}
        return {kind: min(t for t in times if t > self.clock)
                for kind, times in ahead.items() if any(t > self.clock for t in times)}

    def _advance(self, stretch: int | str | None) -> None:
        """By `stretch` seconds; (None) to just past the next phase boundary of any round (a
        phase's length once every round is final); or to just past the nearest delivery end or
        verdict deadline. Never to within the margin before a phase boundary or a deadline."""
        phases = sorted(b for r in self.rounds for b in r.boundaries() if b >= self.clock)
        if isinstance(stretch, str):
            target = self._next_deadlines()[stretch] + 2
            self._note(f"jumped past a {stretch}")
        elif stretch is None and phases:
            target = phases[0] + 2
        else:
            target = self.clock + (stretch or PHASE_SECONDS)
        deadlines = [t for r in self.rounds for t in r.delivery_deadlines() if t >= self.clock]
        for boundary in sorted([*phases, *deadlines]):
            if boundary - MARGIN_SECONDS < target < boundary + 2:
                target = boundary + 2
        self.clock = self.chain.advance_time(target - self.clock)
        self._tally("advance_time")

    # ---- invariants ----

    @invariant()
    def the_house_holds_its_credits_and_what_its_records_owe(self) -> None:
        books = self.books()
        owed = 0
        for record in books.records.values():
            if record.status in IN_PLAY:
                owed += record.deposit_micro_usd
                continue
            if record.status in ESCROWED:
                owed += record.payment_micro_usd
            if not record.refunded:
                owed += record.deposit_micro_usd - record.payment_micro_usd
        assert books.house_usd == sum(books.credits.values()) + owed == self.house_usd
        assert books.credits == self.credit

    @invariant()
    def the_records_are_as_the_model_derives(self) -> None:
        books = self.books()
        for digest, entry in self.entries.items():
            record = books.records[digest]
            assert (record.status, record.refunded, record.claimed, record.deposit_micro_usd,
                    record.payment_micro_usd, record.stake_wei, record.epsilon_micros,
                    record.provider_item) == (
                entry.status, entry.refunded, entry.claimed, entry.deposit_micro_usd,
                entry.payment_micro_usd, entry.stake_wei, entry.bid.epsilon_micros,
                entry.provider_item), digest.hex()

    @invariant()
    def each_datasets_epsilon_is_conserved(self) -> None:
        books = self.books()
        assert (sum(books.epsilon.values()) + books.reserved + books.consumed
                == BUDGET_MICRO_EPSILON)
        assert books.reserved == sum(r.epsilon_micros for r in books.records.values()
                                     if r.status in HOLDING)
        assert (books.epsilon, books.consumed) == (self.epsilon, self.consumed)

    @invariant()
    def each_job_on_the_dataset_holds_or_has_spent_its_delta_cap(self) -> None:
        books = self.books()
        holding = sum(r.status in HOLDING for r in books.records.values())
        assert books.reserved_delta == MAX_DELTA_ATTO * holding
        assert books.consumed_delta == self.consumed_delta

    @invariant()
    def each_bidders_locked_stake_is_what_its_records_hold(self) -> None:
        books = self.books()
        held: Counter[str] = Counter()
        for digest, entry in self.entries.items():
            if books.records[digest].status in HOLDING:
                held[entry.stake_holder.address] += books.records[digest].stake_wei
        assert {b.address: books.vault[b.address].locked_wei for b in self.bidders} == {
            b.address: held[b.address] for b in self.bidders}

    @invariant()
    def cst_is_conserved_and_bonds_are_what_rounds_hold(self) -> None:
        books = self.books()
        assert books.minted == books.supply + books.burned
        assert books.burned - self.burned_base == self.burned
        holds: Counter[str] = Counter()
        for r in self.rounds:
            holds.update(r.holds)
            assert books.provider_bonds[r.round_id] == ProviderBond(
                r.holds[self.provider.address], r.open_futures), r.round_id
        for account in (a.address for a in self.bonders):
            bonded, locked = books.vault[account].bonded_wei, books.vault[account].bond_locked_wei
            assert [bonded, locked] == self.bonds[account] and locked == holds[account], account

    @invariant()
    def a_finished_round_holds_only_what_its_bidders_may_withdraw(self) -> None:
        """Issue 16's property: once every future of a closed round is settled, voided,
        expired or timed out, what the escrow invariant counts for each of its records is what
        `refundOf` lets its bidder withdraw; no record holds stake or ε (the stake and budget
        invariants count none for it) and the round holds no bond (locked bond is what the
        rounds hold)."""
        books = self.books()
        for r in self.rounds:
            if not r.finished():
                continue
            for entry in r.entries:
                record = books.records[entry.digest]
                assert record.status not in HOLDING
                change = record.deposit_micro_usd - record.payment_micro_usd
                assert books.refunds[entry.digest] == (0 if record.refunded else change)
            assert books.provider_bonds[r.round_id] == ProviderBond(0, 0)
            assert not any(r.holds.values()), r.round_id


MODEL = ("rounds", "entries", "nonce", "credit", "house_usd", "epsilon", "consumed",
         "consumed_delta", "bonds", "burned_base", "burned", "clock")


def _prelude(machine: ClearingHouseMachine) -> None:
    """Nine rounds, so that every rule has something to act on from an example's first step
    (reserve prices are 1 USD a unit). Round 1, a day old and closed: its deliveries over, a
    future claimed and never redeemed, a job whose verdict is overdue. Then a round every 64
    minutes, each acted on as the next opens, so that at the end: round 2 closed and
    delivering, a future to redeem and a job redeemed; round 3 final and priced, one batch of
    futures issued (one claimed), the other batch and a loser left; round 4 final, its future
    issued and a loser left, not closed; round 5 in its pricing window; round 6 in its
    challenge phase, its post beatable three times over, a commitment left unrevealed; round 7
    to post, a bid revealed; round 8 revealing and round 9 committing, a commitment each."""
    buyer, rival = machine.bidders

    def bid(r: RoundModel, bidder: LocalAccount, bundle: Bundle) -> Entry:
        return machine._commit(r, bidder, [bundle], epsilon_micros=EPSILONS[0])

    def post(r: RoundModel, *entries: Entry, split: int = 0) -> None:
        machine._plan_post(r, [(e.bid, 0) for e in entries], split or len(entries),
                           (SolverStatus.OPTIMAL, 0))
        while r.versions[1].planned:
            machine._post(r)

    def reveal(*entries: Entry) -> None:
        for entry in entries:
            machine._reveal(entry, entry.bidder)

    old = machine._open()
    unredeemed = bid(old, buyer, Bundle((0,), (1,), 2 * USD))
    overdue = bid(old, rival, Bundle((0,), (1,), 2 * USD))
    machine._advance(None)
    reveal(unredeemed, overdue)
    machine._advance(None)
    post(old, unredeemed, overdue)
    while old.phase(machine.clock) is not Phase.FINAL:
        machine._advance(None)
    machine._finalise(old, 0)
    machine._close(old)
    machine._redeem(overdue, rival)
    machine._claim(unredeemed)
    machine._advance(VERDICT_WINDOW)

    # A phase and four minutes apart: when the next round opens, each has moved one phase on.
    gap = PHASE_SECONDS + PHASE_SECONDS // 15
    recent = machine._open()
    deliverable = bid(recent, buyer, Bundle((3,), (1,), 2 * USD))
    redeemed = bid(recent, rival, Bundle((1, 2), (1, 1), 4 * USD))
    machine._advance(gap)
    first = machine._open()
    a = machine._commit(first, buyer, [Bundle((0,), (2,), 5 * USD)])
    b = machine._commit(first, rival, [Bundle((1,), (1,), 3 * USD)])
    # 9 units of item 0 do not fit beside a's 2: the loser.
    lost = machine._commit(first, rival, [Bundle((0,), (9,), 10 * USD)])
    reveal(deliverable, redeemed)
    machine._advance(gap)
    closing = machine._open()
    kept = bid(closing, buyer, Bundle((1,), (2,), 4 * USD))
    dropped = bid(closing, rival, Bundle((2,), (1,), 2 * USD))
    reveal(a, b, lost)
    post(recent, deliverable, redeemed)
    machine._advance(gap)
    pricing = machine._open()
    priced = bid(pricing, rival, Bundle((2,), (2,), 4 * USD))
    reveal(kept, dropped)
    post(first, a, b, split=1)
    machine._advance(gap)
    second = machine._open()
    d = machine._commit(second, buyer, [Bundle((2,), (3,), 6 * USD)])
    e = machine._commit(second, rival, [Bundle((2, 3), (2, 2), 9 * USD)])
    f = machine._commit(second, rival, [Bundle((3,), (1,), 2 * USD)])
    machine._commit(second, buyer, [Bundle((1,), (1,), 2 * USD)])  # never revealed
    reveal(priced)
    post(closing, kept)
    machine._price(recent, [50, 50], rival)
    machine._finalise(recent, 0)
    machine._close(recent)
    machine._redeem(redeemed, rival)
    machine._advance(gap)
    third = machine._open()
    shown = bid(third, rival, Bundle((3,), (2,), 4 * USD))
    reveal(d, e, f)
    post(pricing, priced)
    machine._price(first, [50, 50], rival)
    machine._finalise(first, 0)
    (issued,) = [machine.entries[award.bid_digest] for award in first.result.batches[0]]
    machine._claim(issued)
    machine._advance(gap)
    fourth = machine._open()
    bid(fourth, buyer, Bundle((1,), (2,), 3 * USD))
    reveal(shown)
    # Only e (5 USD of welfare), claimed optimal: e and f (6 USD) win and slash the auctioneer,
    # then d and e (8 USD) beat that challenge, and all three (9 USD) beat that one.
    post(second, e)
    machine._advance(gap)
    fifth = machine._open()
    bid(fifth, buyer, Bundle((2,), (2,), 4 * USD))
    machine._finalise(closing, 0)
    machine._advance(OPEN_GAP_SECONDS)  # so that another round may open
    assert [r.phase(machine.clock) for r in machine.rounds] == [
        *[Phase.FINAL] * 4, Phase.PRICE, Phase.CHALLENGE, Phase.POST, Phase.REVEAL,
        Phase.COMMIT]
    assert [r.closed for r in machine.rounds] == [True, True, *[False] * 7]
    assert [machine._before(t) for t in (unredeemed.delivery_end, overdue.verdict_deadline,
                                         deliverable.delivery_end)] == [False, False, True]


@pytest.fixture(scope="module")
def start(market: Market) -> ClearingHouseMachine:
    """The settlement market with bond for eight rounds at once and for challenges, stake
    for a dozen bids at once per bidder, and the prelude played: every example starts here."""
    system, governance, chain = market.system, market.governance, market.chain
    fund_and_bond(system, governance, market.auctioneer, AUCTIONEER_TOP_UP)
    fund_and_bond(system, governance, market.provider, PROVIDER_TOP_UP)
    for bidder in market.bidders:
        fund_and_bond(system, governance, bidder, CHALLENGER_BONDED)
        chain.send(system.cst.functions.mint(bidder.address, EXTRA_STAKE), governance)
        chain.send(system.vault.functions.stake(EXTRA_STAKE), bidder)
    machine = ClearingHouseMachine(market)
    _prelude(machine)
    return machine


def test_most_steps_succeed_and_every_step_keeps_the_books_balanced(
    market: Market, start: ClearingHouseMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    TALLY.clear()
    PATHS.clear()
    # Derandomized, so the run is the same every time: the check below that every rule
    # succeeded cannot flake, and a change that leaves a rule unreachable fails it. Hypothesis
    # also mixes constants from every local module imported so far into its draws, which would
    # make the run depend on what else the worker ran first; without them it does not.
    monkeypatch.setattr(providers, "_get_local_constants", Constants)
    # Many short examples rather than a few long ones: Hypothesis switches a random share of
    # the rules off in each (swarm testing), and the prelude gives every rule something to act
    # on from the first step.
    run_state_machine_as_test(
        lambda: ClearingHouseMachine(market, start),
        settings=settings(max_examples=7, stateful_step_count=15, deadline=None,
                          derandomize=True, suppress_health_check=[HealthCheck.too_slow]),
    )
    succeeded = {name: TALLY[(name, "ok")] for name in RULES}
    refused = {f"{name} ({outcome})": n for (name, outcome), n in TALLY.items() if outcome != "ok"}
    print(f"\nsucceeded {sum(succeeded.values())}: {succeeded}"
          f"\nrefused {sum(refused.values())}: {refused}\npaths: {dict(PATHS)}")
    assert all(succeeded.values()), f"rules that never succeeded: {succeeded}"
    # Most steps that send a transaction succeed (time passing always does; it doesn't count).
    sent = sum(succeeded.values()) - succeeded["advance_time"]
    assert sum(refused.values()) * 4 <= sent, (succeeded, refused)
