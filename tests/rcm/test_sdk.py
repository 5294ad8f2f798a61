"""The library surface: `rcm.Market` and `rcm.Wallet` on the embedded chain. Every refusal
names its field as the API spells it and sends nothing; a named wallet asks for its key only
when it signs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

import rcm
from chain.keystore import KeystoreError
from chain.system import System
from chain.times import utc_text
from rcm.cli import cli
from rcm.errors import render
from rcm.sdk import Market, Sent
from tests.contracts.conftest import (
    buyer,
    chain,
    clearing,
    governance,
    oracle,
    provider,
    regulator,
    system,
)
from tokens import wallets
from tokens.errors import TokensError, UnknownWallet

# The deployment's fixtures, shared by name.
__all__ = ["buyer", "chain", "clearing", "governance", "oracle", "provider", "regulator", "system"]

CST = 10**18


@pytest.fixture
def market(system: System) -> Market:
    return Market(system)


def _refused(market: Market, account: LocalAccount, field: str | None, action: Callable[[], Any]
             ) -> rcm.RcmError:
    """`action` raises an RcmError naming `field`, and the account sent nothing."""
    eth = market.system.chain.w3.eth
    nonce = eth.get_transaction_count(account.address)
    with pytest.raises(rcm.RcmError) as raised:
        action()
    assert raised.value.field == field, raised.value
    assert eth.get_transaction_count(account.address) == nonce
    return raised.value


def test_the_package_exports_the_library() -> None:
    from chain.errors import RcmError
    from chain.settlement import Phase
    from rcm import sdk

    assert (rcm.Market, rcm.Wallet, rcm.RcmError, rcm.Phase) == (
        sdk.Market, sdk.Wallet, RcmError, Phase)


def test_a_wallet_stakes_bonds_and_reads_its_balances(market: Market, buyer: LocalAccount
                                                      ) -> None:
    wallet = market.wallet_of(buyer)
    before = wallet.balances()
    staked = wallet.stake("12.5")
    assert staked.amount_wei == 12.5 * CST
    assert isinstance(staked.sent, Sent) and staked.sent.tx.startswith("0x") and staked.sent.gas > 0
    wallet.bond(3)
    wallet.unstake("2.5")
    after = wallet.balances()
    assert after.staked_wei - before.staked_wei == 10 * CST
    assert after.bonded_wei - before.bonded_wei == 3 * CST
    assert before.cst_wei - after.cst_wei == 13 * CST


def test_refusals_name_the_field_and_send_nothing(market: Market, buyer: LocalAccount) -> None:
    wallet = market.wallet_of(buyer)
    held = wallet.balances().cst_wei
    error = _refused(market, buyer, "amount", lambda: wallet.transfer(buyer.address, held + 1))
    assert "exceeds the balance" in error.reason
    _refused(market, buyer, "amount", lambda: wallet.stake("0"))
    _refused(market, buyer, "token", lambda: wallet.transfer(buyer.address, 1, token="btc"))
    _refused(market, buyer, "to", lambda: wallet.transfer("0x1234", 1))
    _refused(market, buyer, "to", lambda: wallet.grant(1, "nobody", 1))
    _refused(market, buyer, "price_usd", lambda: wallet.offer(1, "1"))
    _refused(market, buyer, "price_usd", lambda: wallet.offer(1, "1", "three"))
    _refused(market, buyer, "content_hash", lambda: wallet.register_dataset(
        epsilon=1, delta="1e-5", purposes=["research"]))
    _refused(market, buyer, "round_id", lambda: wallet.post_asks(99, []))
    _refused(market, buyer, "bids[0].bundles", lambda: wallet.bid(1, {"bundles": "none"}))
    _refused(market, buyer, "future_id", lambda: wallet.redeem("0x12"))
    _refused(market, buyer, "round_id", lambda: market.round(99))


def test_a_withdrawal_before_the_unbonding_delay_says_when_it_is_ready(
        market: Market, buyer: LocalAccount) -> None:
    wallet = market.wallet_of(buyer)
    wallet.bond(3)
    unbonded = wallet.unbond(1)
    ready = wallet.balances().unbonding_ready_at
    assert (unbonded.unbonding_wei, unbonded.unbonding_ready_at) == (10**18, ready)  # it says
    error = _refused(market, buyer, None, wallet.withdraw)
    assert error.reason == (f"nothing to withdraw yet: 1 CST unbonds in 7 d, at {ready} "
                            f"({utc_text(ready)})")  # the vault's unbonding delay, readable


def test_a_mistyped_address_is_refused_by_every_method_that_pays_one(
        market: Market, buyer: LocalAccount, provider: LocalAccount) -> None:
    """Issue 18: mixed case that is not its EIP-55 checksum once received 1 CST."""
    mistyped = "0xB5f6E8eB1A846824b38a3f214F0CF487A9386617"
    wallet = market.wallet_of(buyer)
    before = wallet.balances()
    error = _refused(market, buyer, "to", lambda: wallet.transfer(mistyped, 1))
    assert error.reason == (
        f"{mistyped}: bad EIP-55 checksum (mixed case must match; did you mistype it?)")
    assert wallet.balances() == before
    _refused(market, buyer, "to", lambda: wallet.transfer_future(mistyped, "0x" + "00" * 32))
    _refused(market, buyer, "to", lambda: wallet.grant(1, mistyped, 1))
    _refused(market, buyer, "seller", lambda: wallet.buy(1, mistyped, 1, 1))
    unchecked = provider.address.lower()
    received = market.wallet_of(provider).balances().cst_wei
    wallet.transfer(unchecked, 1)
    assert market.wallet_of(provider).balances().cst_wei == received + CST


def test_a_named_wallet_is_unlocked_only_when_it_signs(
        market: Market, governance: LocalAccount) -> None:
    address = wallets.create("sdk-carol", "right")
    market.system.chain.send(market.system.cst.functions.mint(address, 5 * CST), governance)
    carol = market.wallet("sdk-carol", password="wrong")
    assert carol.address == address
    # Checks need only the address: refused for the amount, never for the password.
    with pytest.raises(TokensError) as raised:
        carol.transfer(address, 6)
    assert raised.value.field == "amount"
    market.system.chain.transfer_eth(governance, address, 10**17)
    with pytest.raises(KeystoreError, match="wrong password"):
        carol.transfer(governance.address, 1)
    market.wallet("sdk-carol", password="right").transfer(governance.address, 1)
    assert market.wallet_of(governance).balances().address == governance.address
    with pytest.raises(UnknownWallet):
        market.wallet("sdk-nobody")


@pytest.mark.parametrize("field, argv, shown", [
    ("content_hash", ["wallet", "budget", "register"], "--content-hash: bad"),
    ("dataset", ["wallet", "budget", "grant", "alice"], "DATASET: bad"),
    ("price_usd", ["wallet", "budget", "buy"], "--price: bad"),
    ("future_id", ["wallet", "claim"], "FUTURE_IDS: bad"),
    ("bids[0].bundles", ["wallet", "bid"], "bids[0].bundles: bad"),
    (None, ["wallet", "stake"], "bad"),
])
def test_the_cli_spells_a_field_as_the_commands_own_option(
        field: str | None, argv: list[str], shown: str) -> None:
    assert render(TokensError("bad", field=field), cli, argv) == shown


def test_the_cli_adds_the_command_that_fixes_an_error() -> None:
    shown = render(UnknownWallet("unknown wallet 'x'", field="name"), cli, ["wallet", "balance"])
    assert shown == "NAME: unknown wallet 'x' (see `rcm wallet list`)"
