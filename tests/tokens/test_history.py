"""tokens/history.py on the embedded chain: a wallet's history, rebuilt from events, tells each
thing that happened to it once, oldest first, in its unit."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import Bundle
from chain.settlement import Phase
from tests.contracts.settlement_fixtures import CST, USD, Market
from tokens import futures, operations
from tokens.history import CST_WEI, FUTURES, MICRO_USD, Entry, history

pytestmark = pytest.mark.usefixtures("snapshot")


@pytest.fixture(scope="module")
def round_won(market: Market, buyer: LocalAccount, rival: LocalAccount) -> tuple[bytes, bytes]:
    """The buyer's bid won, the rival's lost; the round is closed."""
    round_id = market.open_round()
    won = market.bid(buyer, round_id, Bundle((0,), (2,), 20 * USD))
    lost = market.bid(rival, round_id, Bundle((3,), (1,), 1 * USD))
    market.commit_and_reveal(round_id, (won, buyer), (lost, rival))
    market.post(round_id, (won, 0))
    market.enter(round_id, Phase.PRICE)
    market.price(round_id, market.report(round_id, payments=[10 * USD]))
    market.finalise(round_id)
    market.release(round_id, [market.digest(lost)])
    market.close(round_id)
    return market.digest(won), market.digest(lost)


def _about(entries: list[Entry], ref: str) -> list[str]:
    return [entry.what for entry in entries if entry.ref == ref]


def test_a_won_bid_reads_from_commitment_to_transfer(
    market: Market, buyer: LocalAccount, rival: LocalAccount, round_won: tuple[bytes, bytes]
) -> None:
    won, _ = round_won
    futures.claim(market.system, buyer, [won])
    futures.transfer(market.system, buyer, rival.address, won)
    entries = history(market.system, buyer.address)
    assert _about(entries, "0x" + won.hex()) == [
        "bid committed", "bid revealed", "future won", "future claimed", "future sent"]
    assert [e.block for e in entries] == sorted(e.block for e in entries)
    committed = next(e for e in entries if e.what == "bid committed")
    assert (committed.amount, committed.unit) == (20 * USD, MICRO_USD)
    sent = entries[-1]
    assert (sent.amount, sent.unit, sent.counterparty) == (1, FUTURES, rival.address)
    assert _about(history(market.system, rival.address), "0x" + won.hex()) == ["future received"]


def test_a_lost_bid_is_released_and_its_deposit_never_shows_as_a_transfer(
    market: Market, rival: LocalAccount, round_won: tuple[bytes, bytes]
) -> None:
    _, lost = round_won
    entries = history(market.system, rival.address)
    assert _about(entries, "0x" + lost.hex()) == ["bid committed", "bid revealed",
                                                   "bid released"]
    house = market.system.clearing_house.address
    assert all(entry.counterparty != house for entry in entries)


def test_stake_and_plain_transfers_in_their_units_with_times(
    market: Market, outsider: LocalAccount, buyer: LocalAccount
) -> None:
    system = market.system
    before = len(history(system, outsider.address))
    system.chain.send(system.cst.functions.mint(outsider.address, 5 * CST), market.governance)
    operations.stake(system, outsider, 2 * CST)
    operations.transfer(system, outsider, buyer.address, CST, "cst")
    entries = history(system, outsider.address)[before:]
    assert [(e.what, e.amount, e.unit) for e in entries] == [
        ("CST minted", 5 * CST, CST_WEI), ("staked", 2 * CST, CST_WEI),
        ("CST sent", CST, CST_WEI)]
    assert entries[-1].counterparty == buyer.address
    latest = system.chain.latest_timestamp()
    assert all(0 < e.timestamp <= latest and e.tx.startswith("0x") for e in entries)
