"""ClearingHouse, opening a round to forfeit: rounds pinned to the regulator's policy, bonded
asks, prepaid deposits, sealed commitments that escrow, stake and reserve in one record,
cancellations, reveals checked against the commitment and the policy — and the attacks on each.
Every refusal names its custom error and leaves every balance and record as it was."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.abi_codec import keccak
from chain.bid import (
    Bid,
    Bundle,
    bid_args,
    bid_domain,
    envelope_hash,
    purpose_id,
    recover_bid_signer,
    sign_bid,
    terms_args,
)
from chain.clearing_house import AskState, Round
from chain.connection import Chain
from chain.contract import Contract
from chain.ledger import Dataset, dataset_id
from chain.policy import ChainPolicy, rubric_hash_of
from chain.settlement import (
    MAX_DEPOSIT_MICRO_USD,
    POSTED_VERSION,
    STAKE_UNIT_WEI,
    Ask,
    Deadlines,
    Phase,
    Status,
    ask_from_event,
)
from tests.contracts.settlement_fixtures import (
    ASKS,
    BIDDER_USD,
    BUDGET_MICRO_EPSILON,
    CST,
    DECLARATION_HASH,
    FORFEIT_BPS,
    FORFEIT_FEE,
    GRANT_MICRO_EPSILON,
    HIGH_RISK_BPS,
    LOW_RISK_BPS,
    MAX_DELTA_ATTO,
    POLICY,
    PROVIDER_BOND_PER_UNIT,
    REENTER,
    RESEARCH,
    RESEARCH_MAX_EPSILON,
    USD,
    Market,
    contract_bidder,
    fund_and_bond,
    through,
)
from tests.support import event_args, reverts, role

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ZERO_ADDRESS = "0x" + "00" * 20
BPS = 10_000
MAX_ITEMS = 512
# Two bundles over the fixture's four items: 20 USD and 12 USD, so a deposit of 20 USD.
BUNDLES = (Bundle((0, 1), (2, 3), 20 * USD), Bundle((2,), (4,), 12 * USD))
PROVIDER_BOND = 10 * CST  # what build_market bonds the provider
# A second policy, stricter on every rule a round in flight must not see change.
STRICTER = ChainPolicy(
    replace(
        POLICY.rules,
        band_min_bps=(2_000, 3_000, 6_000),
        equity_class_count=1,
        equity_class_mask=0,
        rates=replace(
            POLICY.rules.rates,
            provider_bond_per_unit_wei=CST,
            forfeit_fee_micro_usd=0,
            forfeit_bps=BPS,
            max_items_per_provider=1,
        ),
    ),
    (("research", 1),),
    POLICY.pricing,
    b"\x5b" * 32,
)


@pytest.fixture(scope="module")
def round_id(market: Market) -> int:
    """A round in its commit phase, offering the fixture's four asks."""
    return market.open_round()


# ---- helpers ----


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def _name(field: str) -> str:
    """A bytes32 error argument holding a short ASCII name, as the decoder renders it."""
    return _hex(field.encode().ljust(32, b"\0"))


def _stake_for(market: Market, bidder: str, risk_bps: int, notional: int) -> int:
    """What commit locks: the required stake rounded up to a whole 10^15 wei."""
    required = int(market.system.vault.functions.requiredStake(bidder, risk_bps, notional).call())
    return -(-required // STAKE_UNIT_WEI) * STAKE_UNIT_WEI


def _bond(market: Market, account: str) -> tuple[int, int]:
    """The account's bond in the vault: (bonded, bondLocked)."""
    balance = market.vault_balance(account)
    return balance.bonded_wei, balance.bond_locked_wei


def _reserved(market: Market) -> tuple[int, int]:
    """The dataset's reserve: (ε, δ)."""
    ledger = market.system.ledger.functions
    return ledger.reservedOf(market.dataset).call(), ledger.reservedDeltaOf(market.dataset).call()


def _books(market: Market, *accounts: str) -> dict[str, Any]:
    """Everything a refused call must leave as it was: each account's USD, credit, vault
    balance and ε budget; the clearing house's USD; the dataset's reserve of ε and δ; the round
    count."""
    return {
        "house": market.usd(market.house.address),
        "reserved": _reserved(market),
        "rounds": market.house.functions.roundCount().call(),
        **{
            account: (
                market.usd(account),
                market.credit(account),
                market.vault_balance(account),
                market.budget(account),
            )
            for account in accounts
        },
    }


def _plain(value: object) -> object:
    """An event's decoded struct as the tuples and lists the call encoders produce."""
    if isinstance(value, Mapping):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _forged(value: Any, **fields: object) -> Any:
    """`value` (a Bid or Bundle) with fields its Python type would refuse, as an attacker's
    client could send them."""
    for name, field_value in fields.items():
        object.__setattr__(value, name, field_value)
    return value


def _commit_call(market: Market, bid: Bid) -> Any:
    return market.house.functions.commit(terms_args(bid), envelope_hash(bid))


def _forfeit_call(market: Market, bid: Bid) -> Any:
    return market.house.functions.forfeit(terms_args(bid), envelope_hash(bid))


def _next_block_at(market: Market, timestamp: int) -> None:
    """Moves the clock so that the next transaction is mined at exactly `timestamp`."""
    market.chain.advance_time(timestamp - market.now())


def _mined_at(market: Market, receipt: Any) -> int:
    return int(market.chain.w3.eth.get_block(receipt.block_number)["timestamp"])


def _forfeit_fee(deposit: int) -> int:
    """The policy's forfeit: its fee plus its share of the deposit, at most the deposit."""
    return min(FORFEIT_FEE + deposit * FORFEIT_BPS // BPS, deposit)


# ---- opening rounds ----


def test_open_round_pins_the_current_policy_and_opens_the_commit_phase(
    chain: Chain, market: Market
) -> None:
    deadlines = Deadlines.after(market.now(), 10, 20, 30, 40)
    receipt = chain.send(market.house.functions.openRound(deadlines.as_args()), market.auctioneer)
    (opened,) = event_args(market.house, receipt, "RoundOpened")
    current = market.system.policies.functions.currentPolicyId().call()
    assert (opened["policyId"], tuple(opened["deadlines"].values())) == (
        current,
        deadlines.as_args(),
    )
    rules = POLICY.rules
    assert market.round(opened["roundId"]) == Round(
        deadlines,
        policy_id=current,
        item_count=0,
        min_risk_bps=rules.band_min_bps[0],
        equity_class_count=rules.equity_class_count,
        standing_version=0,
        version_count=POSTED_VERSION,
        challenge_end_timestamp=deadlines.challenge_timestamp,
        issued_count=0,
        priced=False,
        closed=False,
    )
    assert market.house.functions.roundCount().call() == opened["roundId"]
    assert market.phase(opened["roundId"]) is Phase.COMMIT


def test_open_round_is_refused_to_anyone_without_the_auctioneer_role(
    chain: Chain, market: Market, outsider: LocalAccount, buyer: LocalAccount
) -> None:
    deadlines = Deadlines.after(market.now(), 10, 10, 10, 10)
    before = _books(market)
    for caller in (outsider, buyer):
        with reverts(
            "AccessControlUnauthorizedAccount",
            caller.address,
            role(market.house, "AUCTIONEER_ROLE"),
        ):
            chain.send(market.house.functions.openRound(deadlines.as_args()), caller)
    assert _books(market) == before


@pytest.mark.parametrize(
    "field", ["commit_timestamp", "reveal_timestamp", "post_timestamp", "challenge_timestamp"]
)
def test_open_round_refuses_deadlines_that_are_not_strictly_ascending_from_now(
    chain: Chain, market: Market, field: str
) -> None:
    # The next block at `start`, each phase 10 s long: a deadline moved 10 s back falls on the
    # one before it (the commit deadline, on the block's own time).
    start = market.now() + 5
    deadlines = Deadlines.after(start, 10, 10, 10, 10)
    broken = replace(deadlines, **{field: getattr(deadlines, field) - 10})
    before = _books(market)
    _next_block_at(market, start)
    with reverts("InvalidDeadlines"):
        chain.send(market.house.functions.openRound(broken.as_args()), market.auctioneer)
    assert _books(market) == before
    receipt = chain.send(market.house.functions.openRound(deadlines.as_args()), market.auctioneer)
    assert _mined_at(market, receipt) == start


def test_open_round_reverts_no_policy_until_the_regulator_registers_one(
    chain: Chain, market: Market, governance: LocalAccount
) -> None:
    # A clearing house of its own, reading a registry no policy was ever set in.
    system, house = market.system, market.house
    registry = chain.deploy("PolicyRegistry", governance, governance.address)
    empty = chain.deploy(
        "ClearingHouse",
        governance,
        governance.address,
        system.vault.address,
        system.reputation.address,
        system.oracle.address,
        system.ledger.address,
        system.futures.address,
        system.usd.address,
        governance.address,
        registry.address,
        house.functions.results().call(),
        house.functions.delivery().call(),
    )
    chain.send(
        empty.functions.grantRole(role(empty, "AUCTIONEER_ROLE"), governance.address), governance
    )
    deadlines = Deadlines.after(market.now(), 10, 10, 10, 10)
    with reverts("NoPolicy"):
        chain.send(empty.functions.openRound(deadlines.as_args()), governance)
    assert empty.functions.roundCount().call() == 0
    chain.send(registry.functions.setPolicy(POLICY.as_args()), governance)
    chain.send(empty.functions.openRound(deadlines.as_args()), governance)
    assert Round.read(empty, 1).policy_id == 1


def test_a_policy_registered_after_open_round_leaves_the_rounds_rules_alone(
    chain: Chain,
    market: Market,
    round_id: int,
    governance: LocalAccount,
    buyer: LocalAccount,
    provider: LocalAccount,
) -> None:
    pinned = market.round(round_id)
    receipt = chain.send(market.system.policies.functions.setPolicy(STRICTER.as_args()), governance)
    (registered,) = event_args(market.system.policies, receipt, "PolicySet")
    assert market.round(round_id) == pinned
    # Its bids are still scored with the rubric its policy named.
    policies = market.system.policies
    assert rubric_hash_of(policies, pinned.policy_id) == POLICY.rubric_hash != STRICTER.rubric_hash
    # The round still takes a provider's fifth item (the new cap is one) at 0.1 CST of bond
    # a unit (the new rate is 1 CST), the lowest band and equity class 2.
    bonded, bond_locked = _bond(market, provider.address)
    chain.send(market.house.functions.postAsks(round_id, [ASKS[0].as_args()]), provider)
    locked_wei = ASKS[0].capacity * PROVIDER_BOND_PER_UNIT
    assert _bond(market, provider.address) == (bonded - locked_wei, bond_locked + locked_wei)
    kept = market.bid(buyer, round_id, *BUNDLES, risk_bps=LOW_RISK_BPS, equity_class=2)
    assert market.record(market.commit(kept, buyer)).status is Status.COMMITTED
    # A round opened now pins the new policy, and refuses what the old one allowed.
    later = market.open_round(asks=())
    assert market.round(later).policy_id == registered["policyId"] == pinned.policy_id + 1
    assert rubric_hash_of(policies, market.round(later).policy_id) == STRICTER.rubric_hash
    stricter = STRICTER.rules
    before = _books(market, buyer.address)
    with reverts("RiskOutsideBands", LOW_RISK_BPS, stricter.band_min_bps[0], BPS):
        market.commit(market.bid(buyer, later, *BUNDLES), buyer)
    with reverts("UnknownCode", _name("equityClass"), 1):
        market.commit(
            market.bid(buyer, later, *BUNDLES, risk_bps=HIGH_RISK_BPS, equity_class=1), buyer
        )
    assert _books(market, buyer.address) == before


def test_the_epsilon_limit_and_forfeit_of_a_round_are_its_policys_not_the_current(
    chain: Chain,
    market: Market,
    round_id: int,
    governance: LocalAccount,
    buyer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    revealed = market.bid(buyer, round_id, *BUNDLES)
    sealed = market.bid(buyer, round_id, *BUNDLES, nonce=1)
    market.commit(revealed, buyer)
    sealed_digest = market.commit(sealed, buyer)
    chain.send(market.system.policies.functions.setPolicy(STRICTER.as_args()), governance)
    market.enter(round_id, Phase.REVEAL)
    # 1 ε under the round's policy, above the new one's limit of a millionth.
    market.reveal(revealed, buyer)
    assert market.record(market.digest(revealed)).status is Status.REVEALED
    market.enter(round_id, Phase.POST)
    receipt = chain.send(_forfeit_call(market, sealed), outsider)
    fee = _forfeit_fee(sealed.max_value_micro_usd)
    assert event_args(market.house, receipt, "Forfeited")[0]["feeMicroUsd"] == fee
    assert market.record(sealed_digest).payment_micro_usd == fee < sealed.max_value_micro_usd


# ---- asks ----


def test_post_asks_numbers_items_in_order_and_locks_the_providers_bond_per_unit(
    chain: Chain, market: Market, provider: LocalAccount
) -> None:
    round_id = market.open_round(asks=())
    before = market.vault_balance(provider.address)
    post = market.house.functions.postAsks
    assert post(round_id, [a.as_args() for a in ASKS[:3]]).call(provider.address) == 0
    chain.send(post(round_id, [a.as_args() for a in ASKS[:3]]), provider)
    assert post(round_id, [ASKS[3].as_args()]).call(provider.address) == 3
    receipt = chain.send(post(round_id, [ASKS[3].as_args()]), provider)
    (posted,) = event_args(market.house, receipt, "AskPosted")
    assert (posted["roundId"], posted["item"], posted["provider"]) == (
        round_id,
        3,
        provider.address,
    )
    assert ask_from_event(posted["ask"]) == ASKS[3]
    assert [AskState.read(market.house, round_id, i) for i in range(4)] == [
        AskState(provider.address, a.capacity, a.reserve_price_micro_usd, a.tier, a.kind,
                 a.slot_start_timestamp + a.slot_seconds)
        for a in ASKS
    ]
    assert market.round(round_id).item_count == len(ASKS)
    assert event_args(market.system.vault, receipt, "BondLocked") == [
        {"account": provider.address, "amount": ASKS[3].capacity * PROVIDER_BOND_PER_UNIT}
    ]
    # Only bond moves, from bonded to locked: stake and unbonding CST are not touched.
    locked_wei = sum(a.capacity for a in ASKS) * PROVIDER_BOND_PER_UNIT
    assert market.vault_balance(provider.address) == replace(
        before, bonded_wei=before.bonded_wei - locked_wei,
        bond_locked_wei=before.bond_locked_wei + locked_wei)


@pytest.mark.parametrize(
    "bad, error",
    [
        (replace(ASKS[1], capacity=0), ("ZeroCapacity", 1)),
        (replace(ASKS[1], tier=3), ("UnknownCode", _name("tier"), 3)),
        (replace(ASKS[1], kind=3), ("UnknownCode", _name("kind"), 3)),
    ],
    ids=["zero-capacity", "tier-3", "kind-3"],
)
def test_post_asks_refuses_an_ask_with_no_capacity_or_an_unknown_code(
    chain: Chain,
    market: Market,
    round_id: int,
    provider: LocalAccount,
    bad: Ask,
    error: tuple[Any, ...],
) -> None:
    before = _books(market, provider.address), market.round(round_id)
    with reverts(*error):
        chain.send(
            market.house.functions.postAsks(round_id, [ASKS[0].as_args(), bad.as_args()]), provider
        )
    assert (_books(market, provider.address), market.round(round_id)) == before
    assert AskState.read(market.house, round_id, len(ASKS)).provider == ZERO_ADDRESS


def test_post_asks_refuses_a_slot_that_ends_before_the_round_can_be_final(
    chain: Chain, market: Market, round_id: int, provider: LocalAccount
) -> None:
    """Its futures would expire before anyone could redeem them (a round's futures are
    redeemable once it closes): the provider would be paid for nothing delivered."""
    rates = POLICY.rules.rates
    latest_final = (market.round(round_id).deadlines.challenge_timestamp
                    + rates.max_extension_seconds + rates.pricing_window_seconds)
    early = replace(ASKS[0], slot_start_timestamp=latest_final - ASKS[0].slot_seconds)
    before = _books(market, provider.address), market.round(round_id)
    with reverts("SlotEndsBeforeFinal", 1, latest_final, latest_final):
        chain.send(market.house.functions.postAsks(
            round_id, [ASKS[0].as_args(), early.as_args()]), provider)
    assert (_books(market, provider.address), market.round(round_id)) == before
    later = replace(early, slot_start_timestamp=early.slot_start_timestamp + 1)
    chain.send(market.house.functions.postAsks(round_id, [later.as_args()]), provider)
    assert AskState.read(market.house, round_id, len(ASKS)).delivery_end_timestamp == (
        latest_final + 1)


def test_post_asks_takes_a_provider_up_to_the_policys_item_cap_and_no_further(
    chain: Chain, market: Market, round_id: int, provider: LocalAccount
) -> None:
    cap = POLICY.rules.rates.max_items_per_provider
    one_unit = replace(ASKS[0], capacity=1)
    over = [one_unit.as_args()] * (cap - len(ASKS) + 1)
    before = _books(market, provider.address), market.round(round_id)
    with reverts("TooManyItemsOfProvider", round_id, provider.address, cap + 1, cap):
        chain.send(market.house.functions.postAsks(round_id, over), provider)
    assert (_books(market, provider.address), market.round(round_id)) == before
    chain.send(market.house.functions.postAsks(round_id, over[1:]), provider)
    assert market.round(round_id).item_count == cap
    with reverts("TooManyItemsOfProvider", round_id, provider.address, cap + 1, cap):
        chain.send(market.house.functions.postAsks(round_id, [one_unit.as_args()]), provider)


def test_post_asks_refuses_a_round_beyond_512_items(
    chain: Chain, market: Market, round_id: int, provider: LocalAccount
) -> None:
    count = MAX_ITEMS - len(ASKS) + 1
    before = _books(market, provider.address), market.round(round_id)
    with reverts("TooManyItems", round_id, MAX_ITEMS + 1, MAX_ITEMS):
        chain.send(market.house.functions.postAsks(round_id, [ASKS[0].as_args()] * count), provider)
    assert (_books(market, provider.address), market.round(round_id)) == before


def test_post_asks_short_of_bond_by_one_unit_is_refused_by_the_vault(
    chain: Chain,
    market: Market,
    round_id: int,
    provider: LocalAccount,
    outsider: LocalAccount,
    governance: LocalAccount,
) -> None:
    free_bond, _ = _bond(market, provider.address)
    assert free_bond == PROVIDER_BOND - sum(a.capacity for a in ASKS) * PROVIDER_BOND_PER_UNIT
    too_big = replace(ASKS[0], capacity=free_bond // PROVIDER_BOND_PER_UNIT + 1)
    before = _books(market, provider.address, outsider.address), market.round(round_id)
    with reverts(
        "InsufficientBond", provider.address, free_bond + PROVIDER_BOND_PER_UNIT, free_bond
    ):
        chain.send(market.house.functions.postAsks(round_id, [too_big.as_args()]), provider)
    with reverts(
        "InsufficientBond", outsider.address, ASKS[0].capacity * PROVIDER_BOND_PER_UNIT, 0
    ):
        chain.send(market.house.functions.postAsks(round_id, [ASKS[0].as_args()]), outsider)
    assert (_books(market, provider.address, outsider.address), market.round(round_id)) == before
    fund_and_bond(market.system, governance, outsider, ASKS[0].capacity * PROVIDER_BOND_PER_UNIT)
    chain.send(market.house.functions.postAsks(round_id, [ASKS[0].as_args()]), outsider)
    assert AskState.read(market.house, round_id, len(ASKS)).provider == outsider.address
    assert _bond(market, outsider.address) == (0, ASKS[0].capacity * PROVIDER_BOND_PER_UNIT)


def test_post_asks_is_refused_outside_the_commit_phase(
    chain: Chain, market: Market, round_id: int, provider: LocalAccount
) -> None:
    asks = [ASKS[0].as_args()]
    with reverts("WrongPhase", round_id + 1, Phase.COMMIT, Phase.NONE):
        chain.send(market.house.functions.postAsks(round_id + 1, asks), provider)
    market.enter(round_id, Phase.REVEAL)
    before = _books(market, provider.address), market.round(round_id)
    with reverts("WrongPhase", round_id, Phase.COMMIT, Phase.REVEAL):
        chain.send(market.house.functions.postAsks(round_id, asks), provider)
    assert (_books(market, provider.address), market.round(round_id)) == before


# ---- deposits ----


def test_a_deposit_moves_payment_tokens_into_the_callers_credit(
    chain: Chain, market: Market, buyer: LocalAccount
) -> None:
    receipt = chain.send(market.house.functions.deposit(25 * USD), buyer)
    assert event_args(market.house, receipt, "Deposited") == [
        {"account": buyer.address, "amountMicroUsd": 25 * USD}
    ]
    assert (market.credit(buyer.address), market.usd(buyer.address)) == (
        25 * USD,
        BIDDER_USD - 25 * USD,
    )
    assert market.usd(market.house.address) == 25 * USD


def test_a_zero_or_unfunded_deposit_is_refused(
    chain: Chain, market: Market, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    before = _books(market, buyer.address, outsider.address)
    with reverts("ZeroAmount"):
        chain.send(market.house.functions.deposit(0), buyer)
    with reverts("ERC20InsufficientBalance", buyer.address, BIDDER_USD, BIDDER_USD + 1):
        chain.send(market.house.functions.deposit(BIDDER_USD + 1), buyer)
    with reverts("ERC20InsufficientAllowance", market.house.address, 0, 1):
        chain.send(market.house.functions.deposit(1), outsider)
    assert _books(market, buyer.address, outsider.address) == before


def test_withdraw_pays_out_an_unspent_credit_once(
    chain: Chain, market: Market, buyer: LocalAccount
) -> None:
    chain.send(market.house.functions.deposit(3 * USD), buyer)
    receipt = chain.send(market.house.functions.withdraw([]), buyer)
    assert event_args(market.house, receipt, "Withdrawn") == [
        {"account": buyer.address, "amountMicroUsd": 3 * USD, "bids": []}
    ]
    assert (market.credit(buyer.address), market.usd(buyer.address)) == (0, BIDDER_USD)
    before = _books(market, buyer.address)
    with reverts("NothingToWithdraw", buyer.address):
        chain.send(market.house.functions.withdraw([]), buyer)
    assert _books(market, buyer.address) == before


# ---- commit ----


def test_bid_digest_is_the_typed_data_the_bidder_signs(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    on_chain = market.house.functions.bidDigest(terms_args(bid), envelope_hash(bid)).call()
    assert bytes(on_chain) == market.digest(bid)
    signature = sign_bid(buyer, market.domain, bid)
    assert recover_bid_signer(signature, market.domain, bid) == buyer.address


def test_commit_escrows_locks_the_stake_and_reserves_epsilon_in_one_record(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    stake = _stake_for(market, buyer.address, bid.risk_bps, bid.max_value_micro_usd)
    free, locked = market.free_stake(buyer.address), market.locked(buyer.address)
    dataset = Dataset.read(market.system.ledger, market.dataset)
    remaining = dataset.total_micro_epsilon - dataset.consumed_micro_epsilon
    receipt = chain.send(_commit_call(market, bid), buyer)
    digest = market.digest(bid)
    (committed,) = event_args(market.house, receipt, "Committed")
    # The terms and envelope hash are all `forfeit` needs: anyone rebuilds it from the event.
    assert tuple(committed.pop("terms").values()) == terms_args(bid)
    assert committed == {
        "digest": digest,
        "roundId": round_id,
        "bidder": buyer.address,
        "envelopeHash": envelope_hash(bid),
        "datasetRemainingMicros": remaining,
    }
    assert remaining == BUDGET_MICRO_EPSILON
    assert event_args(market.system.vault, receipt, "StakeLocked") == [
        {"account": buyer.address, "amount": stake}
    ]
    record = market.record(digest)
    assert (record.status, record.round_id, record.stake_wei) == (Status.COMMITTED, round_id, stake)
    assert (record.deposit_micro_usd, record.epsilon_micros, record.risk_bps) == (
        bid.max_value_micro_usd,
        bid.epsilon_micros,
        bid.risk_bps,
    )
    assert (record.payment_micro_usd, record.flags, record.bidder) == (0, 0, ZERO_ADDRESS)
    assert market.usd(market.house.address) == bid.max_value_micro_usd
    assert market.usd(buyer.address) == BIDDER_USD - bid.max_value_micro_usd
    assert market.free_stake(buyer.address) == free - stake
    assert market.locked(buyer.address) == locked + stake
    # δ is charged at the dataset's cap, whatever the bid's own δ below it.
    assert bid.delta_atto < MAX_DELTA_ATTO
    assert _reserved(market) == (bid.epsilon_micros, MAX_DELTA_ATTO)
    assert market.budget(buyer.address) == GRANT_MICRO_EPSILON - bid.epsilon_micros


def test_commit_spends_the_credit_before_pulling_the_rest(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    chain.send(market.house.functions.deposit(25 * USD), buyer)
    receipt = chain.send(_commit_call(market, market.bid(buyer, round_id, *BUNDLES)), buyer)
    assert event_args(market.system.usd, receipt, "Transfer") == []  # 20 USD, all from credit
    assert (market.credit(buyer.address), market.usd(buyer.address)) == (
        5 * USD,
        BIDDER_USD - 25 * USD,
    )
    second = market.bid(buyer, round_id, BUNDLES[1], nonce=1)  # 12 USD: 5 credited, 7 pulled
    receipt = chain.send(_commit_call(market, second), buyer)
    (pulled,) = event_args(market.system.usd, receipt, "Transfer")
    assert (pulled["from"], pulled["to"], pulled["value"]) == (
        buyer.address,
        market.house.address,
        7 * USD,
    )
    assert (market.credit(buyer.address), market.usd(buyer.address)) == (0, BIDDER_USD - 32 * USD)
    assert market.usd(market.house.address) == 32 * USD


def test_the_stake_is_locked_rounded_up_to_a_whole_unit(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    # At 10^12 wei per micro-USD: 10 % of 20 USD is 2 USD at risk, 2,000 units exactly; 10 % of
    # 20.00001 USD is 2.000001 USD, 2,000.001 units, locked as 2,001.
    exact = market.bid(buyer, round_id, BUNDLES[1], max_value_micro_usd=20 * USD)
    odd = market.bid(buyer, round_id, BUNDLES[1], max_value_micro_usd=20_000_010, nonce=1)
    required = market.system.vault.functions.requiredStake(
        buyer.address, LOW_RISK_BPS, 20_000_010
    ).call()
    assert required == 2_000_001 * 10**12
    assert market.stake_of(market.commit(exact, buyer)) == 2_000 * STAKE_UNIT_WEI
    assert market.record(market.commit(odd, buyer)).stake_milli_cst == 2_001


@pytest.mark.parametrize(
    "terms, error",
    [
        ({"risk_bps": LOW_RISK_BPS - 1}, ("RiskOutsideBands", LOW_RISK_BPS - 1, LOW_RISK_BPS, BPS)),
        ({"risk_bps": BPS + 1}, ("RiskOutsideBands", BPS + 1, LOW_RISK_BPS, BPS)),
        ({"max_value_micro_usd": 0}, ("ZeroAmount",)),
        (
            {"max_value_micro_usd": MAX_DEPOSIT_MICRO_USD + 1},
            ("DepositAboveMax", MAX_DEPOSIT_MICRO_USD + 1, MAX_DEPOSIT_MICRO_USD),
        ),
        ({"equity_class": 3}, ("UnknownCode", _name("equityClass"), 3)),
    ],
    ids=[
        "risk-below-the-bands",
        "risk-above-10000",
        "zero-value",
        "deposit-above-48-bits",
        "unknown-equity-class",
    ],
)
def test_commit_refuses_terms_the_rounds_policy_does_not_allow(
    market: Market,
    round_id: int,
    buyer: LocalAccount,
    terms: dict[str, int],
    error: tuple[Any, ...],
) -> None:
    bid = _forged(market.bid(buyer, round_id, *BUNDLES), **terms)
    before = _books(market, buyer.address)
    with reverts(*error):
        market.commit(bid, buyer)
    assert market.record(market.digest(bid)).status is Status.NONE
    assert _books(market, buyer.address) == before


def test_commit_refuses_a_bid_that_expires_before_the_round_clears(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    clearing = market.round(round_id).deadlines.reveal_timestamp
    expiring = market.bid(buyer, round_id, *BUNDLES, expiry_timestamp=clearing - 1)
    before = _books(market, buyer.address)
    with reverts("BidExpired", clearing - 1, clearing):
        market.commit(expiring, buyer)
    assert market.record(market.digest(expiring)).status is Status.NONE
    assert _books(market, buyer.address) == before
    lasting = market.bid(buyer, round_id, *BUNDLES, expiry_timestamp=clearing)
    assert market.record(market.commit(lasting, buyer)).status is Status.COMMITTED


def test_commit_accepts_the_edges_of_the_policy(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    edges = [
        market.bid(buyer, round_id, *BUNDLES, risk_bps=LOW_RISK_BPS, nonce=1),
        market.bid(buyer, round_id, *BUNDLES, risk_bps=BPS, nonce=2),
        market.bid(
            buyer, round_id, *BUNDLES, equity_class=POLICY.rules.equity_class_count - 1, nonce=3
        ),
    ]
    digests = [market.commit(bid, buyer) for bid in edges]
    assert [market.record(d).status for d in digests] == [Status.COMMITTED] * 3
    assert market.record(digests[1]).stake_wei == _stake_for(market, buyer.address, BPS, 20 * USD)


def test_commit_needs_the_bidder_the_commit_phase_and_a_new_digest(
    market: Market, round_id: int, buyer: LocalAccount, rival: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    before = _books(market, buyer.address, rival.address)
    with reverts("NotBidder", rival.address, buyer.address):
        market.commit(bid, rival)
    unopened = market.bid(buyer, round_id + 1, *BUNDLES)
    with reverts("WrongPhase", round_id + 1, Phase.COMMIT, Phase.NONE):
        market.commit(unopened, buyer)
    assert _books(market, buyer.address, rival.address) == before
    digest = market.commit(bid, buyer)
    committed = _books(market, buyer.address), market.record(digest)
    with reverts("BidExists", _hex(digest)):
        market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    late = market.bid(buyer, round_id, *BUNDLES, nonce=1)
    with reverts("WrongPhase", round_id, Phase.COMMIT, Phase.REVEAL):
        market.commit(late, buyer)
    assert (_books(market, buyer.address), market.record(digest)) == committed


def test_a_stake_beyond_the_records_field_is_refused(
    chain: Chain, market: Market, round_id: int, rival: LocalAccount
) -> None:
    # All of the largest deposit at risk: ~2.8 × 10^8 CST, more than 2^32 − 1 milli-CST.
    stake = _stake_for(market, rival.address, BPS, MAX_DEPOSIT_MICRO_USD)
    chain.send(market.system.cst.functions.mint(rival.address, stake), market.governance)
    chain.send(market.system.vault.functions.stake(stake), rival)
    largest = market.bid(
        rival, round_id, BUNDLES[1], max_value_micro_usd=MAX_DEPOSIT_MICRO_USD, risk_bps=BPS
    )
    before = _books(market, rival.address)
    with reverts("StakeAboveMax", stake, (2**32 - 1) * STAKE_UNIT_WEI):
        market.commit(largest, rival)
    assert market.record(market.digest(largest)).status is Status.NONE
    assert _books(market, rival.address) == before


@pytest.mark.parametrize("short", ["stake", "budget", "payment", "credit"])
def test_a_bidder_short_by_one_unit_cannot_commit(
    chain: Chain,
    market: Market,
    round_id: int,
    rival: LocalAccount,
    outsider: LocalAccount,
    short: str,
) -> None:
    system = market.system
    bid = market.bid(rival, round_id, *BUNDLES)
    stake = _stake_for(market, rival.address, bid.risk_bps, bid.max_value_micro_usd)
    if short == "stake":
        free = market.free_stake(rival.address)
        chain.send(system.vault.functions.unstake(free - stake + 1), rival)
        expected: tuple[Any, ...] = ("InsufficientStake", rival.address, stake, stake - 1)
    elif short == "budget":
        away = GRANT_MICRO_EPSILON - bid.epsilon_micros + 1
        transfer = system.ledger.functions.safeTransferFrom(
            rival.address, outsider.address, market.dataset, away, b""
        )
        chain.send(transfer, rival)
        expected = (
            "ERC1155InsufficientBalance",
            rival.address,
            bid.epsilon_micros - 1,
            bid.epsilon_micros,
            market.dataset,
        )
    elif short == "payment":
        away = BIDDER_USD - bid.max_value_micro_usd + 1
        chain.send(system.usd.functions.transfer(outsider.address, away), rival)
        expected = (
            "ERC20InsufficientBalance",
            rival.address,
            bid.max_value_micro_usd - 1,
            bid.max_value_micro_usd,
        )
    else:
        # A credit one unit short, and nothing left to pull the unit from.
        chain.send(market.house.functions.deposit(bid.max_value_micro_usd - 1), rival)
        rest = market.usd(rival.address)
        chain.send(system.usd.functions.transfer(outsider.address, rest), rival)
        expected = ("ERC20InsufficientBalance", rival.address, 0, 1)
    before = _books(market, rival.address)
    with reverts(*expected):
        market.commit(bid, rival)
    assert market.record(market.digest(bid)).status is Status.NONE
    assert _books(market, rival.address) == before


def test_commit_refuses_epsilon_for_a_purpose_or_delta_the_dataset_does_not_allow(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    training = purpose_id("training")
    unconsented = market.bid(buyer, round_id, *BUNDLES, purpose=training)
    loose = market.bid(buyer, round_id, *BUNDLES, delta_atto=MAX_DELTA_ATTO + 1)
    before = _books(market, buyer.address)
    with reverts("PurposeNotConsented", market.dataset, _hex(training)):
        market.commit(unconsented, buyer)
    with reverts("DeltaAboveCap", market.dataset, MAX_DELTA_ATTO + 1, MAX_DELTA_ATTO):
        market.commit(loose, buyer)
    assert _books(market, buyer.address) == before



def test_commit_is_refused_once_the_datasets_delta_budget_is_reserved_and_cancel_returns_it(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    """A dataset with δ for two jobs: bids with no ε still take a job's δ each."""
    content = b"\xd2" * 32
    register = market.system.ledger.functions.register(
        content, GRANT_MICRO_EPSILON, MAX_DELTA_ATTO, 2 * MAX_DELTA_ATTO, [RESEARCH], 0
    )
    chain.send(register, market.owner)
    small = dataset_id(market.owner.address, content)
    first, second, third = (
        market.bid(buyer, round_id, *BUNDLES, dataset_id=small, epsilon_micros=0, nonce=n)
        for n in (1, 2, 3)
    )
    reserved_delta = market.system.ledger.functions.reservedDeltaOf(small).call
    market.commit(first, buyer)
    market.commit(second, buyer)
    before = _books(market, buyer.address), reserved_delta()
    assert before[1] == 2 * MAX_DELTA_ATTO
    with reverts("DeltaBudgetExhausted", small, MAX_DELTA_ATTO, 0):
        market.commit(third, buyer)
    assert (_books(market, buyer.address), reserved_delta()) == before
    assert market.record(market.digest(third)).status is Status.NONE
    market.cancel(first, buyer)
    assert reserved_delta() == MAX_DELTA_ATTO
    market.commit(third, buyer)
    assert market.record(market.digest(third)).status is Status.COMMITTED


# ---- cancel ----


def test_a_bidder_cancels_in_the_commit_phase_and_gets_everything_back(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    before = _books(market, buyer.address)
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    stake = market.stake_of(digest)
    receipt = market.cancel(bid, buyer)
    assert event_args(market.house, receipt, "Cancelled") == [
        {"digest": digest, "roundId": round_id}
    ]
    assert event_args(market.system.vault, receipt, "StakeReleased") == [
        {"account": buyer.address, "amount": stake}
    ]
    record = market.record(digest)
    assert (record.status, record.refunded, record.payment_micro_usd) == (Status.CANCELLED, True, 0)
    assert market.vault_balance(buyer.address) == before[buyer.address][2]
    assert (market.budget(buyer.address), _reserved(market)) == (before[buyer.address][3], (0, 0))
    # The whole deposit is the bidder's credit, with nothing owed through the record.
    assert market.credit(buyer.address) == bid.max_value_micro_usd
    assert market.house.functions.refundOf(digest).call() == 0
    chain.send(market.house.functions.withdraw([digest]), buyer)
    assert _books(market, buyer.address) == before


def test_a_cancelled_bid_is_replaced_from_its_credit(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    market.commit(bid, buyer)
    market.cancel(bid, buyer)
    changed = market.bid(buyer, round_id, BUNDLES[1], nonce=1)
    receipt = chain.send(_commit_call(market, changed), buyer)
    assert event_args(market.system.usd, receipt, "Transfer") == []
    assert market.credit(buyer.address) == bid.max_value_micro_usd - changed.max_value_micro_usd


def test_only_the_bidder_cancels_only_its_own_commitment_only_once(
    market: Market,
    round_id: int,
    buyer: LocalAccount,
    rival: LocalAccount,
    outsider: LocalAccount,
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.commit(market.bid(rival, round_id, *BUNDLES, nonce=1), rival)
    before = _books(market, buyer.address, rival.address), market.record(digest)
    for caller in (outsider, rival):
        with reverts("NotBidder", caller.address, buyer.address):
            market.cancel(bid, caller)
    # Naming itself in the buyer's terms makes another digest, which no one committed.
    posing = replace(bid, bidder=rival.address)
    with reverts("UnexpectedStatus", _hex(market.digest(posing)), Status.COMMITTED, Status.NONE):
        market.cancel(posing, rival)
    assert (_books(market, buyer.address, rival.address), market.record(digest)) == before
    market.cancel(bid, buyer)
    cancelled = _books(market, buyer.address), market.record(digest)
    with reverts("UnexpectedStatus", _hex(digest), Status.COMMITTED, Status.CANCELLED):
        market.cancel(bid, buyer)
    assert (_books(market, buyer.address), market.record(digest)) == cancelled
    assert market.credit(buyer.address) == bid.max_value_micro_usd


def test_a_commitment_cannot_be_cancelled_after_the_commit_phase(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    before = _books(market, buyer.address), market.record(digest)
    with reverts("WrongPhase", round_id, Phase.COMMIT, Phase.REVEAL):
        market.cancel(bid, buyer)
    assert (_books(market, buyer.address), market.record(digest)) == before


def test_a_cancelled_bid_is_neither_revealed_forfeited_nor_filled(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.cancel(bid, buyer)
    cancelled = _books(market, buyer.address), market.record(digest)
    market.enter(round_id, Phase.REVEAL)
    with reverts("UnexpectedStatus", _hex(digest), Status.COMMITTED, Status.CANCELLED):
        market.reveal(bid, buyer)
    market.enter(round_id, Phase.POST)
    with reverts("UnexpectedStatus", _hex(digest), Status.REVEALED, Status.CANCELLED):
        market.post(round_id, (bid, 1))
    with reverts("UnexpectedStatus", _hex(digest), Status.COMMITTED, Status.CANCELLED):
        chain.send(_forfeit_call(market, bid), buyer)
    assert (_books(market, buyer.address), market.record(digest)) == cancelled


# ---- reveal ----


def test_anyone_holding_the_signed_bid_reveals_it_in_the_reveal_phase(
    market: Market, round_id: int, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    with reverts("WrongPhase", round_id, Phase.REVEAL, Phase.COMMIT):
        market.reveal(bid, buyer, outsider)
    market.enter(round_id, Phase.REVEAL)
    before = _books(market, buyer.address, outsider.address)
    receipt = market.reveal(bid, buyer, outsider)
    (revealed,) = event_args(market.house, receipt, "Revealed")
    assert (revealed["digest"], revealed["roundId"]) == (digest, round_id)
    assert _plain(revealed["bid"]) == bid_args(bid)
    record = market.record(digest)
    assert (record.status, record.bidder, record.dataset_id) == (
        Status.REVEALED,
        buyer.address,
        market.dataset,
    )
    # Revealing moves no money, stake or ε.
    assert _books(market, buyer.address, outsider.address) == before
    with reverts("UnexpectedStatus", _hex(digest), Status.COMMITTED, Status.REVEALED):
        market.reveal(bid, buyer)
    market.enter(round_id, Phase.POST)
    with reverts("WrongPhase", round_id, Phase.REVEAL, Phase.POST):
        market.reveal(bid, buyer)
    assert market.record(digest) == record


def test_a_reveal_not_matching_its_commitment_is_refused(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    altered = replace(bid, bundles=(replace(BUNDLES[0], value_micro_usd=19 * USD), BUNDLES[1]))
    resalted = replace(bid, salt=b"\x5b" * 32)
    before = _books(market, buyer.address), market.record(digest)
    for forgery in (altered, resalted):
        with reverts(
            "UnexpectedStatus", _hex(market.digest(forgery)), Status.COMMITTED, Status.NONE
        ):
            market.reveal(forgery, buyer)
    assert (_books(market, buyer.address), market.record(digest)) == before


def test_a_declaration_changed_after_the_commit_does_not_reveal(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    receipt = chain.send(market.house.functions.commit(terms_args(bid), envelope_hash(bid)), buyer)
    (committed,) = event_args(market.house, receipt, "Committed")
    assert committed["terms"]["declarationHash"] == DECLARATION_HASH  # on chain from the commit
    digest = market.digest(bid)
    market.enter(round_id, Phase.REVEAL)
    # The same bid, signed by its bidder, for a larger job than the one it staked for.
    redeclared = replace(bid, declaration_hash=bytes(keccak(b"a larger training run")))
    before = _books(market, buyer.address), market.record(digest)
    with reverts(
        "UnexpectedStatus", _hex(market.digest(redeclared)), Status.COMMITTED, Status.NONE
    ):
        market.reveal(redeclared, buyer)
    assert (_books(market, buyer.address), market.record(digest)) == before
    market.reveal(bid, buyer)
    assert market.record(digest).status is Status.REVEALED


def test_forged_and_high_s_signatures_are_refused(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, rival: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    before = market.record(digest)
    with reverts("InvalidSignature", _hex(digest), rival.address):
        market.reveal(bid, rival, buyer)
    signature = sign_bid(buyer, market.domain, bid)
    s = int.from_bytes(signature[32:64], "big")
    # (r, n − s) with the other recovery id is the same signature, malleated to high s.
    malleable = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    with reverts("MalleableSignature", _hex(digest)):
        chain.send(market.house.functions.reveal(bid_args(bid), malleable), buyer)
    assert market.record(digest) == before


@pytest.mark.parametrize("where", ["chain", "contract"])
def test_a_bid_signed_for_another_chain_or_contract_does_not_reveal(
    chain: Chain,
    market: Market,
    round_id: int,
    buyer: LocalAccount,
    outsider: LocalAccount,
    where: str,
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    other = (
        bid_domain(1, market.house.address)
        if where == "chain"
        else bid_domain(chain.chain_id, outsider.address)
    )
    signature = sign_bid(buyer, other, bid)
    recovered = recover_bid_signer(signature, market.domain, bid)
    before = market.record(digest)
    with reverts("InvalidSignature", _hex(digest), recovered):
        chain.send(market.house.functions.reveal(bid_args(bid), signature), buyer)
    assert market.record(digest) == before


def test_a_signature_from_one_round_does_not_reveal_the_same_bid_in_another(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount
) -> None:
    other_round = market.open_round()
    first = market.bid(buyer, round_id, *BUNDLES)
    replayed = replace(first, round_id=other_round)
    market.commit(first, buyer)
    digest = market.commit(replayed, buyer)
    market.enter(other_round, Phase.REVEAL)
    signature = sign_bid(buyer, market.domain, first)
    recovered = recover_bid_signer(signature, market.domain, replayed)
    before = market.record(digest)
    with reverts("InvalidSignature", _hex(digest), recovered):
        chain.send(market.house.functions.reveal(bid_args(replayed), signature), buyer)
    assert market.record(digest) == before


def test_a_contract_bidder_commits_and_reveals_by_erc1271(
    chain: Chain, market: Market, round_id: int, outsider: LocalAccount, rival: LocalAccount
) -> None:
    wallet = contract_bidder(market, outsider)
    act = through(chain, wallet, outsider)
    bid = market.bid(wallet, round_id, *BUNDLES)
    act(_commit_call(market, bid))
    digest = market.digest(bid)
    assert market.record(digest).stake_wei == _stake_for(
        market, wallet.address, bid.risk_bps, bid.max_value_micro_usd
    )
    market.enter(round_id, Phase.REVEAL)
    before = market.record(digest)
    # Its owner signs for it; anyone else's signature is one the wallet refuses.
    with reverts("InvalidSignature", _hex(digest), ZERO_ADDRESS):
        market.reveal(bid, rival)
    assert market.record(digest) == before
    market.reveal(bid, outsider, rival)
    assert (market.record(digest).status, market.record(digest).bidder) == (
        Status.REVEALED,
        wallet.address,
    )


def test_epsilon_returned_on_cancel_runs_no_receiver_hook_to_reenter(
    chain: Chain, market: Market, round_id: int, outsider: LocalAccount
) -> None:
    wallet: Contract = contract_bidder(market, outsider)
    act = through(chain, wallet, outsider)
    bid = market.bid(wallet, round_id, *BUNDLES)
    act(_commit_call(market, bid))
    cancel = market.house.functions.cancel(terms_args(bid), envelope_hash(bid))
    chain.send(
        wallet.functions.arm(REENTER, market.house.address, cancel.data),
        outsider,
    )
    act(cancel)
    assert wallet.functions.reentered().call() is False
    assert market.budget(wallet.address) == GRANT_MICRO_EPSILON
    assert market.credit(wallet.address) == bid.max_value_micro_usd
    assert market.record(market.digest(bid)).status is Status.CANCELLED


def test_reveal_refuses_epsilon_above_the_purposes_limit(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, data_owner: LocalAccount
) -> None:
    ledger = market.system.ledger.functions
    more = ledger.safeTransferFrom(
        data_owner.address, buyer.address, market.dataset, RESEARCH_MAX_EPSILON, b""
    )
    chain.send(more, data_owner)  # enough ε for both bids at and above the limit
    greedy = market.bid(buyer, round_id, *BUNDLES, epsilon_micros=RESEARCH_MAX_EPSILON + 1)
    at_limit = market.bid(buyer, round_id, *BUNDLES, epsilon_micros=RESEARCH_MAX_EPSILON, nonce=1)
    # A purpose the policy does not list may use no private data, even where a dataset consents.
    training = purpose_id("training")
    chain.send(ledger.setConsent(market.dataset, training, True), data_owner)
    unlisted = market.bid(buyer, round_id, *BUNDLES, purpose=training, epsilon_micros=1, nonce=2)
    digests = [market.commit(bid, buyer) for bid in (greedy, at_limit, unlisted)]
    market.enter(round_id, Phase.REVEAL)
    before = _books(market, buyer.address), [market.record(d) for d in digests]
    with reverts(
        "EpsilonAboveLimit", _hex(RESEARCH), RESEARCH_MAX_EPSILON + 1, RESEARCH_MAX_EPSILON
    ):
        market.reveal(greedy, buyer)
    with reverts("EpsilonAboveLimit", _hex(training), 1, 0):
        market.reveal(unlisted, buyer)
    assert (_books(market, buyer.address), [market.record(d) for d in digests]) == before
    market.reveal(at_limit, buyer)
    assert market.record(digests[1]).status is Status.REVEALED


def _malformed(
    market: Market, bidder: LocalAccount, round_id: int
) -> list[tuple[Bid, tuple[Any, ...]]]:
    """Bids whose envelopes the auctioneer could not read, each with the error reveal gives."""
    good = BUNDLES[1]
    no_items = _forged(Bundle((3,), (1,), USD), items=(), quantities=())
    lopsided = _forged(Bundle((3,), (1,), USD), quantities=(1, 2))
    base = market.bid(bidder, round_id, *BUNDLES)
    cases: list[tuple[dict[str, Any], tuple[Any, ...]]] = [
        ({"bundles": ()}, ("MalformedEnvelope", 0)),
        ({"bundles": (good,) * 257}, ("MalformedEnvelope", 257)),
        ({"bundles": (good, no_items)}, ("MalformedBundle", 1)),
        ({"bundles": (good, lopsided)}, ("MalformedBundle", 1)),
        ({"bundles": (good, Bundle((1, 1), (1, 1), USD))}, ("MalformedBundle", 1)),
        ({"bundles": (good, Bundle((2, 1), (1, 1), USD))}, ("MalformedBundle", 1)),
        ({"bundles": (good, Bundle((1, 2), (1, 0), USD))}, ("MalformedBundle", 1)),
        (
            {"bundles": (good, Bundle((0, len(ASKS)), (1, 1), USD))},
            ("UnknownItem", round_id, len(ASKS)),
        ),
        ({"max_value_micro_usd": 12 * USD}, ("BundleAboveMaxValue", 0, 20 * USD, 12 * USD)),
    ]
    return [
        (_forged(replace(base, nonce=n), **fields), error)
        for n, (fields, error) in enumerate(cases, start=1)
    ]


def test_reveal_refuses_every_malformed_envelope_or_bundle(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    cases = _malformed(market, buyer, round_id)
    digests = [market.commit(bid, buyer) for bid, _ in cases]
    market.enter(round_id, Phase.REVEAL)
    before = _books(market, buyer.address), [market.record(d) for d in digests]
    for bid, error in cases:
        with reverts(*error):
            market.reveal(bid, buyer)
    assert (_books(market, buyer.address), [market.record(d) for d in digests]) == before


def test_reveal_accepts_the_largest_envelope_and_the_last_item(
    market: Market, round_id: int, buyer: LocalAccount
) -> None:
    widest = market.bid(buyer, round_id, *(BUNDLES[1],) * 256)
    last = market.bid(buyer, round_id, Bundle((0, len(ASKS) - 1), (1, 1), USD), nonce=1)
    digests = [market.commit(widest, buyer), market.commit(last, buyer)]
    market.enter(round_id, Phase.REVEAL)
    market.reveal(widest, buyer)
    market.reveal(last, buyer)
    assert [market.record(d).status for d in digests] == [Status.REVEALED] * 2


# ---- phase boundaries ----


def test_each_phase_includes_its_deadline_and_the_next_starts_one_second_later(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    deadlines = market.round(round_id).deadlines
    on_time = market.bid(buyer, round_id, *BUNDLES)
    sealed = market.bid(buyer, round_id, *BUNDLES, nonce=1)
    too_late = market.bid(buyer, round_id, *BUNDLES, nonce=2)
    market.commit(sealed, buyer)
    _next_block_at(market, deadlines.commit_timestamp)
    assert _mined_at(market, chain.send(_commit_call(market, on_time), buyer)) == (
        deadlines.commit_timestamp
    )
    with reverts("WrongPhase", round_id, Phase.COMMIT, Phase.REVEAL):
        market.commit(too_late, buyer)
    _next_block_at(market, deadlines.reveal_timestamp)
    with reverts("WrongPhase", round_id, Phase.POST, Phase.REVEAL):
        chain.send(_forfeit_call(market, sealed), outsider)
    assert _mined_at(market, market.reveal(on_time, buyer)) == deadlines.reveal_timestamp
    receipt = chain.send(_forfeit_call(market, sealed), outsider)
    assert _mined_at(market, receipt) == deadlines.reveal_timestamp + 1
    assert market.phase(round_id) is Phase.POST


# ---- forfeit ----


def test_an_unrevealed_commitment_forfeits_the_fee_and_a_share_of_its_deposit(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    free = market.free_stake(buyer.address) + market.stake_of(digest)
    forfeit = _forfeit_call(market, bid)
    before = _books(market, buyer.address), market.record(digest)
    with reverts("WrongPhase", round_id, Phase.POST, Phase.COMMIT):
        chain.send(forfeit, outsider)
    market.enter(round_id, Phase.REVEAL)
    with reverts("WrongPhase", round_id, Phase.POST, Phase.REVEAL):
        chain.send(forfeit, outsider)
    assert (_books(market, buyer.address), market.record(digest)) == before
    market.enter(round_id, Phase.POST)
    fee = _forfeit_fee(bid.max_value_micro_usd)
    assert fee == FORFEIT_FEE + USD  # 2 USD and 5 % of 20 USD
    receipt = chain.send(forfeit, outsider)
    assert event_args(market.house, receipt, "Forfeited") == [
        {"digest": digest, "roundId": round_id, "feeMicroUsd": fee}
    ]
    record = market.record(digest)
    assert (record.status, record.payment_micro_usd, record.bidder, record.dataset_id) == (
        Status.FORFEITED,
        fee,
        buyer.address,
        market.dataset,
    )
    assert (market.locked(buyer.address), market.free_stake(buyer.address)) == (0, free)
    assert (market.budget(buyer.address), _reserved(market)) == (GRANT_MICRO_EPSILON, (0, 0))
    assert market.credit(market.governance.address) == fee  # governance is the treasury
    assert market.house.functions.refundOf(digest).call() == bid.max_value_micro_usd - fee
    chain.send(market.house.functions.withdraw([digest]), buyer)
    assert market.usd(buyer.address) == BIDDER_USD - fee
    forfeited = _books(market, buyer.address), market.record(digest)
    with reverts("UnexpectedStatus", _hex(digest), Status.COMMITTED, Status.FORFEITED):
        chain.send(forfeit, outsider)
    assert (_books(market, buyer.address), market.record(digest)) == forfeited


def test_a_forfeit_never_takes_more_than_the_deposit(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    small = market.bid(buyer, round_id, Bundle((3,), (1,), USD + USD // 2))
    digest = market.commit(small, buyer)
    assert FORFEIT_FEE + small.max_value_micro_usd * FORFEIT_BPS // BPS > small.max_value_micro_usd
    market.enter(round_id, Phase.POST)
    receipt = chain.send(_forfeit_call(market, small), outsider)
    assert event_args(market.house, receipt, "Forfeited")[0]["feeMicroUsd"] == (
        small.max_value_micro_usd
    )
    assert market.house.functions.refundOf(digest).call() == 0
    assert market.credit(market.governance.address) == small.max_value_micro_usd
    before = _books(market, buyer.address)
    with reverts("NothingToWithdraw", buyer.address):
        chain.send(market.house.functions.withdraw([digest]), buyer)
    assert _books(market, buyer.address) == before
    chain.send(market.house.functions.withdraw([]), market.governance)
    assert market.credit(market.governance.address) == 0


def test_a_revealed_bid_cannot_be_forfeited(
    chain: Chain, market: Market, round_id: int, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    digest = market.commit(bid, buyer)
    market.enter(round_id, Phase.REVEAL)
    market.reveal(bid, buyer)
    market.enter(round_id, Phase.POST)
    before = _books(market, buyer.address, market.governance.address), market.record(digest)
    with reverts("UnexpectedStatus", _hex(digest), Status.COMMITTED, Status.REVEALED):
        chain.send(_forfeit_call(market, bid), outsider)
    assert (
        _books(market, buyer.address, market.governance.address),
        market.record(digest),
    ) == before


def test_a_records_refund_goes_only_to_its_bidder(
    chain: Chain,
    market: Market,
    round_id: int,
    buyer: LocalAccount,
    rival: LocalAccount,
    outsider: LocalAccount,
) -> None:
    bid = market.bid(buyer, round_id, *BUNDLES)
    held = market.bid(rival, round_id, *BUNDLES)
    digest, held_digest = market.commit(bid, buyer), market.commit(held, rival)
    market.enter(round_id, Phase.POST)
    chain.send(_forfeit_call(market, bid), outsider)
    before = _books(market, buyer.address, rival.address), market.record(digest)
    with reverts("NotBidder", rival.address, buyer.address):
        chain.send(market.house.functions.withdraw([digest]), rival)
    # A record still in play owes nothing and is skipped, so nothing is left to pay.
    with reverts("NothingToWithdraw", rival.address):
        chain.send(market.house.functions.withdraw([held_digest]), rival)
    assert (_books(market, buyer.address, rival.address), market.record(digest)) == before
    receipt = chain.send(market.house.functions.withdraw([held_digest, digest]), buyer)
    refund = bid.max_value_micro_usd - _forfeit_fee(bid.max_value_micro_usd)
    assert event_args(market.house, receipt, "Withdrawn") == [
        {"account": buyer.address, "amountMicroUsd": refund, "bids": [held_digest, digest]}
    ]
    assert market.record(digest).refunded is True
    assert market.record(held_digest).status is Status.COMMITTED
