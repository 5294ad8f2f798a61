"""SafetyVault: free stake, account locks, their release and slash, reputation bonds and the
clearing role's locks on them, required stake."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from chain.connection import Chain
from chain.deploy import Parameters
from chain.system import System
from tests.support import event_args, reverts, role

CST = 10**18
MILLI_CST = 10**15


def _balance(system: System, who: LocalAccount) -> tuple[int, int, int, int, int, int]:
    """(free, locked, bonded, unbonding, unbondingReadyAt, bondLocked)."""
    return tuple(system.vault.functions.balanceOf(who.address).call())  # type: ignore[return-value]


def _stake(chain: Chain, system: System, who: LocalAccount, amount: int) -> None:
    chain.send(system.vault.functions.stake(amount), who)


# ---- free stake ----


def test_stake_moves_cst_into_free_stake_and_unstake_back(
    chain: Chain, system: System, buyer: LocalAccount
) -> None:
    before = system.cst.functions.balanceOf(buyer.address).call()
    receipt = chain.send(system.vault.functions.stake(40 * CST), buyer)
    assert event_args(system.vault, receipt, "Staked") == [
        {"account": buyer.address, "amount": 40 * CST}
    ]
    assert _balance(system, buyer)[0] == 40 * CST
    receipt = chain.send(system.vault.functions.unstake(15 * CST), buyer)
    assert event_args(system.vault, receipt, "Unstaked")[0]["amount"] == 15 * CST
    assert _balance(system, buyer)[0] == 25 * CST
    assert system.cst.functions.balanceOf(buyer.address).call() == before - 25 * CST


def test_unstake_more_than_free_reverts(chain: Chain, system: System, buyer: LocalAccount) -> None:
    _stake(chain, system, buyer, 10 * CST)
    with reverts("InsufficientStake", buyer.address, 10 * CST + 1, 10 * CST):
        chain.send(system.vault.functions.unstake(10 * CST + 1), buyer)


@pytest.mark.parametrize("method", ["stake", "unstake", "bond", "unbond"])
def test_zero_amounts_revert(
    chain: Chain, system: System, buyer: LocalAccount, method: str
) -> None:
    with reverts("ZeroAmount"):
        chain.send(getattr(system.vault.functions, method)(0), buyer)


def test_stake_above_cst_balance_reverts_in_the_token(
    chain: Chain, system: System, buyer: LocalAccount
) -> None:
    held = system.cst.functions.balanceOf(buyer.address).call()
    with reverts("ERC20InsufficientBalance", buyer.address, held, held + 1):
        chain.send(system.vault.functions.stake(held + 1), buyer)


# ---- account locks ----


def test_lock_stake_locks_the_required_stake_rounded_up_with_no_record_of_its_own(
    chain: Chain, system: System, buyer: LocalAccount, clearing: LocalAccount
) -> None:
    _stake(chain, system, buyer, 30 * CST)
    lock_stake = system.vault.functions.lockStake
    # Half of 40.000003 USD at risk is 20.0000015 USD, floored to the micro-USD: 20.000001 CST,
    # locked as 20.001 CST (a whole milli-CST).
    assert system.vault.functions.requiredStake(buyer.address, 5_000, 40_000_003).call() == (
        20_000_001 * 10**12
    )
    call = lock_stake(buyer.address, 5_000, 40_000_003, MILLI_CST)
    assert call.call(clearing.address) == 20_001 * MILLI_CST
    receipt = chain.send(call, clearing)
    assert event_args(system.vault, receipt, "StakeLocked") == [
        {"account": buyer.address, "amount": 20_001 * MILLI_CST}
    ]
    assert _balance(system, buyer)[:2] == (9_999 * MILLI_CST, 20_001 * MILLI_CST)
    # No risk, no stake: nothing is locked and nothing emitted.
    receipt = chain.send(lock_stake(buyer.address, 0, 40_000_003, MILLI_CST), clearing)
    assert event_args(system.vault, receipt, "StakeLocked") == []
    assert _balance(system, buyer)[:2] == (9_999 * MILLI_CST, 20_001 * MILLI_CST)


def test_lock_stake_refuses_short_stake_bad_risk_and_a_zero_unit(
    chain: Chain, system: System, buyer: LocalAccount, clearing: LocalAccount
) -> None:
    _stake(chain, system, buyer, 10 * CST)
    lock_stake = system.vault.functions.lockStake
    # 10 CST + 1 milli-CST needed, 10 CST free: short by one unit.
    with reverts("InsufficientStake", buyer.address, 10 * CST + MILLI_CST, 10 * CST):
        chain.send(lock_stake(buyer.address, 10_000, 10_000_001, MILLI_CST), clearing)
    with reverts("InvalidRiskBps", 10_001):
        chain.send(lock_stake(buyer.address, 10_001, 1, MILLI_CST), clearing)
    with reverts("ZeroAmount"):
        chain.send(lock_stake(buyer.address, 10_000, 1, 0), clearing)
    assert _balance(system, buyer)[:2] == (10 * CST, 0)


def test_release_and_slash_stake_by_account_never_exceed_what_is_locked(
    chain: Chain,
    system: System,
    buyer: LocalAccount,
    clearing: LocalAccount,
    oracle: LocalAccount,
) -> None:
    _stake(chain, system, buyer, 20 * CST)
    vault = system.vault.functions
    # Two bids' locks, 6 and 4 CST: the vault sees only their total.
    for notional_micro_usd in (6_000_000, 4_000_000):
        lock = vault.lockStake(buyer.address, 10_000, notional_micro_usd, MILLI_CST)
        chain.send(lock, clearing)
    receipt = chain.send(vault.releaseStake(buyer.address, 2 * CST), oracle)
    assert event_args(system.vault, receipt, "StakeReleased") == [
        {"account": buyer.address, "amount": 2 * CST}
    ]
    supply = system.cst.functions.totalSupply().call()
    receipt = chain.send(vault.slashStake(buyer.address, 3 * CST), oracle)
    assert event_args(system.vault, receipt, "StakeSlashed") == [
        {"account": buyer.address, "burned": 3 * CST}
    ]
    assert system.cst.functions.totalSupply().call() == supply - 3 * CST
    assert _balance(system, buyer)[:2] == (12 * CST, 5 * CST)
    with reverts("ExceedsLocked", buyer.address, 5 * CST + 1, 5 * CST):
        chain.send(vault.releaseStake(buyer.address, 5 * CST + 1), oracle)
    with reverts("ExceedsLocked", buyer.address, 5 * CST + 1, 5 * CST):
        chain.send(vault.slashStake(buyer.address, 5 * CST + 1), oracle)
    for method in (vault.releaseStake, vault.slashStake):
        with reverts("ZeroAmount"):
            chain.send(method(buyer.address, 0), oracle)


@pytest.mark.parametrize(
    "method, args, required_role",
    [
        ("lockStake", ("buyer", 1, 1, 1), "CLEARING_ROLE"),
        ("releaseStake", ("buyer", 1), "ORACLE_ROLE"),
        ("slashStake", ("buyer", 1), "ORACLE_ROLE"),
        ("lockBond", ("buyer", 1), "CLEARING_ROLE"),
        ("releaseBond", ("buyer", 1), "CLEARING_ROLE"),
        ("seizeLockedBond", ("buyer", 1, "buyer"), "CLEARING_ROLE"),
        ("setParameters", (1, 1), "REGULATOR_ROLE"),
    ],
)
def test_role_bypass_is_rejected(
    chain: Chain,
    system: System,
    buyer: LocalAccount,
    outsider: LocalAccount,
    clearing: LocalAccount,
    oracle: LocalAccount,
    method: str,
    args: tuple[object, ...],
    required_role: str,
) -> None:
    def fill(value: object) -> object:
        return buyer.address if value == "buyer" else value

    # Outsiders and the buyer hold no role; the clearing and oracle roles hold only their own.
    holders = {"CLEARING_ROLE": clearing, "ORACLE_ROLE": oracle}
    others = tuple(h for name, h in holders.items() if name != required_role)
    for caller in (outsider, buyer, *others):
        with reverts(
            "AccessControlUnauthorizedAccount", caller.address, role(system.vault, required_role)
        ):
            chain.send(getattr(system.vault.functions, method)(*[fill(a) for a in args]), caller)


# ---- reputation bonds ----


def test_bond_unbond_and_withdraw_after_the_delay(
    chain: Chain, system: System, provider: LocalAccount
) -> None:
    chain.send(system.vault.functions.bond(50 * CST), provider)
    receipt = chain.send(system.vault.functions.unbond(20 * CST), provider)
    (started,) = event_args(system.vault, receipt, "UnbondingStarted")
    _free, _locked, bonded, unbonding, ready_at, bond_locked = _balance(system, provider)
    assert (bonded, unbonding, ready_at, bond_locked) == (30 * CST, 20 * CST, started["readyAt"], 0)
    with reverts("UnbondingNotReady", provider.address, ready_at):
        chain.send(system.vault.functions.withdraw(), provider)
    chain.advance_time(Parameters().unbonding_delay_seconds)
    before = system.cst.functions.balanceOf(provider.address).call()
    receipt = chain.send(system.vault.functions.withdraw(), provider)
    assert event_args(system.vault, receipt, "Withdrawn")[0]["amount"] == 20 * CST
    assert system.cst.functions.balanceOf(provider.address).call() == before + 20 * CST
    with reverts("NothingToWithdraw", provider.address):
        chain.send(system.vault.functions.withdraw(), provider)


def test_unbond_more_than_bonded_reverts(
    chain: Chain, system: System, provider: LocalAccount
) -> None:
    chain.send(system.vault.functions.bond(5 * CST), provider)
    with reverts("InsufficientBond", provider.address, 5 * CST + 1, 5 * CST):
        chain.send(system.vault.functions.unbond(5 * CST + 1), provider)


# ---- locked bonds ----


def _bonded(chain: Chain, system: System, who: LocalAccount, amount: int) -> None:
    chain.send(system.vault.functions.bond(amount), who)


def test_lock_bond_moves_bond_into_the_locked_bond_and_release_moves_it_back(
    chain: Chain, system: System, provider: LocalAccount, clearing: LocalAccount
) -> None:
    _bonded(chain, system, provider, 10 * CST)
    vault = system.vault.functions
    receipt = chain.send(vault.lockBond(provider.address, 8 * CST), clearing)
    assert event_args(system.vault, receipt, "BondLocked") == [
        {"account": provider.address, "amount": 8 * CST}
    ]
    assert _balance(system, provider) == (0, 0, 2 * CST, 0, 0, 8 * CST)
    receipt = chain.send(vault.releaseBond(provider.address, 3 * CST), clearing)
    assert event_args(system.vault, receipt, "BondReleased") == [
        {"account": provider.address, "amount": 3 * CST}
    ]
    assert _balance(system, provider) == (0, 0, 5 * CST, 0, 0, 5 * CST)
    # Locking moves no CST: the vault holds the whole bond throughout.
    assert system.cst.functions.balanceOf(system.vault.address).call() == 10 * CST


def test_lock_bond_takes_only_bonded_cst_not_unbonding_nor_stake(
    chain: Chain, system: System, provider: LocalAccount, clearing: LocalAccount
) -> None:
    _bonded(chain, system, provider, 10 * CST)
    _stake(chain, system, provider, 5 * CST)
    chain.send(system.vault.functions.unbond(4 * CST), provider)
    before = _balance(system, provider)
    lock_bond = system.vault.functions.lockBond
    with reverts("InsufficientBond", provider.address, 6 * CST + 1, 6 * CST):
        chain.send(lock_bond(provider.address, 6 * CST + 1), clearing)
    with reverts("ZeroAmount"):
        chain.send(lock_bond(provider.address, 0), clearing)
    assert _balance(system, provider) == before
    chain.send(lock_bond(provider.address, 6 * CST), clearing)
    assert _balance(system, provider)[2::3] == (0, 6 * CST)


def test_release_and_seize_take_at_most_what_is_locked(
    chain: Chain,
    system: System,
    provider: LocalAccount,
    buyer: LocalAccount,
    clearing: LocalAccount,
) -> None:
    """The vault keeps only the account's locked total, and what a lock was held for must still
    end: a release or seizure beyond what is locked moves what is left, and says how much."""
    _bonded(chain, system, provider, 10 * CST)
    vault = system.vault.functions
    chain.send(vault.lockBond(provider.address, 4 * CST), clearing)
    held = system.cst.functions.balanceOf(buyer.address).call()
    seize = vault.seizeLockedBond(provider.address, 3 * CST, buyer.address)
    assert seize.call(clearing.address) == 3 * CST
    receipt = chain.send(seize, clearing)
    assert event_args(system.vault, receipt, "LockedBondSeized")[0]["amount"] == 3 * CST
    release = vault.releaseBond(provider.address, 2 * CST)
    assert release.call(clearing.address) == CST
    receipt = chain.send(release, clearing)
    assert event_args(system.vault, receipt, "BondReleased")[0]["amount"] == CST
    assert _balance(system, provider)[2::3] == (7 * CST, 0)
    assert system.cst.functions.balanceOf(buyer.address).call() == held + 3 * CST
    assert vault.releaseBond(buyer.address, 1).call(clearing.address) == 0
    before = _balance(system, provider), system.cst.functions.balanceOf(buyer.address).call()
    for call in (
        vault.releaseBond(provider.address, 0),
        vault.seizeLockedBond(provider.address, 0, buyer.address),
    ):
        with reverts("ZeroAmount"):
            chain.send(call, clearing)
    assert (
        _balance(system, provider),
        system.cst.functions.balanceOf(buyer.address).call(),
    ) == before


def test_a_seizure_reaches_only_locked_bond_not_free_bond_unbonding_or_stake(
    chain: Chain,
    system: System,
    provider: LocalAccount,
    buyer: LocalAccount,
    clearing: LocalAccount,
) -> None:
    """The clearing role can take only what it locked: the rest of the account's bond, what it is
    unbonding and its stake stay out of reach however much a seizure asks for."""
    _bonded(chain, system, provider, 10 * CST)
    _stake(chain, system, provider, 5 * CST)
    vault = system.vault.functions
    chain.send(vault.unbond(2 * CST), provider)
    chain.send(vault.lockBond(provider.address, 3 * CST), clearing)
    before = _balance(system, provider)
    assert before[:4] + before[5:] == (5 * CST, 0, 5 * CST, 2 * CST, 3 * CST)
    held = system.cst.functions.balanceOf(buyer.address).call()
    seize = vault.seizeLockedBond(provider.address, 10 * CST, buyer.address)
    assert seize.call(clearing.address) == 3 * CST
    receipt = chain.send(seize, clearing)
    assert event_args(system.vault, receipt, "LockedBondSeized") == [
        {"account": provider.address, "amount": 3 * CST, "recipient": buyer.address}
    ]
    after = (*before[:5], 0)
    assert _balance(system, provider) == after
    assert system.cst.functions.balanceOf(buyer.address).call() == held + 3 * CST
    # Nothing is locked any more: a second seizure takes nothing.
    receipt = chain.send(seize, clearing)
    assert event_args(system.vault, receipt, "LockedBondSeized")[0]["amount"] == 0
    assert _balance(system, provider) == after
    assert system.cst.functions.balanceOf(buyer.address).call() == held + 3 * CST


def test_a_seized_locked_bond_is_paid_to_its_recipient_in_cst(
    chain: Chain,
    system: System,
    provider: LocalAccount,
    buyer: LocalAccount,
    clearing: LocalAccount,
) -> None:
    _bonded(chain, system, provider, 10 * CST)
    chain.send(system.vault.functions.lockBond(provider.address, 4 * CST), clearing)
    held = system.cst.functions.balanceOf(buyer.address).call()
    supply = system.cst.functions.totalSupply().call()
    call = system.vault.functions.seizeLockedBond(provider.address, 3 * CST, buyer.address)
    receipt = chain.send(call, clearing)
    assert event_args(system.vault, receipt, "LockedBondSeized") == [
        {"account": provider.address, "amount": 3 * CST, "recipient": buyer.address}
    ]
    assert _balance(system, provider)[2::3] == (6 * CST, CST)
    assert system.cst.functions.balanceOf(buyer.address).call() == held + 3 * CST
    assert system.cst.functions.balanceOf(system.vault.address).call() == 7 * CST
    assert system.cst.functions.totalSupply().call() == supply


def test_a_locked_bond_seized_to_no_one_is_burned(
    chain: Chain, system: System, provider: LocalAccount, clearing: LocalAccount
) -> None:
    _bonded(chain, system, provider, 10 * CST)
    chain.send(system.vault.functions.lockBond(provider.address, 4 * CST), clearing)
    supply = system.cst.functions.totalSupply().call()
    burned = system.cst.functions.totalBurned().call()
    zero = "0x" + "00" * 20
    call = system.vault.functions.seizeLockedBond(provider.address, 4 * CST, zero)
    receipt = chain.send(call, clearing)
    assert event_args(system.vault, receipt, "LockedBondSeized") == [
        {"account": provider.address, "amount": 4 * CST, "recipient": zero}
    ]
    assert _balance(system, provider)[2::3] == (6 * CST, 0)
    assert system.cst.functions.totalSupply().call() == supply - 4 * CST
    assert system.cst.functions.totalBurned().call() == burned + 4 * CST


def test_a_locked_bond_cannot_be_unbonded_or_withdrawn(
    chain: Chain, system: System, provider: LocalAccount, clearing: LocalAccount
) -> None:
    _bonded(chain, system, provider, 10 * CST)
    chain.send(system.vault.functions.lockBond(provider.address, 8 * CST), clearing)
    before = _balance(system, provider)
    with reverts("InsufficientBond", provider.address, 3 * CST, 2 * CST):
        chain.send(system.vault.functions.unbond(3 * CST), provider)
    with reverts("NothingToWithdraw", provider.address):
        chain.send(system.vault.functions.withdraw(), provider)
    assert _balance(system, provider) == before


# ---- required stake and parameters ----


def test_required_stake_scales_with_risk_and_falls_with_reputation(
    chain: Chain, system: System, buyer: LocalAccount, oracle: LocalAccount
) -> None:
    rate = Parameters().cst_wei_per_micro_usd
    required = system.vault.functions.requiredStake
    assert required(buyer.address, 5_000, 40_000_000).call() == 20_000_000 * rate
    assert required(buyer.address, 10_000, 40_000_000).call() == 40_000_000 * rate
    assert required(buyer.address, 0, 40_000_000).call() == 0
    # Four audits, each worth a quarter of the half-discount score: 25 % off at the default
    # 50 % maximum.
    quarter = Parameters().half_discount_micro_usd // 4
    for counterparty in (chain.dev_account(20 + i).address for i in range(4)):
        audit = system.reputation.functions.recordAudit(buyer.address, counterparty, True, quarter)
        chain.send(audit, oracle)
    assert required(buyer.address, 5_000, 40_000_000).call() == 15_000_000 * rate
    with reverts("InvalidRiskBps", 10_001):
        required(buyer.address, 10_001, 1).call()


def test_regulator_sets_rate_and_delay(
    chain: Chain, system: System, regulator: LocalAccount, buyer: LocalAccount
) -> None:
    receipt = chain.send(system.vault.functions.setParameters(2, 60), regulator)
    assert event_args(system.vault, receipt, "ParametersSet") == [
        {"cstWeiPerMicroUsd": 2, "unbondingDelaySeconds": 60}
    ]
    assert system.vault.functions.requiredStake(buyer.address, 10_000, 7).call() == 14
    with reverts("InvalidParameters"):
        chain.send(system.vault.functions.setParameters(0, 60), regulator)
