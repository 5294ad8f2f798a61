"""tokens/futures.py on the embedded chain: a round driven through the ClearingHouse produces
won futures; the wallet lists, claims, transfers and redeems them, and every check refuses
before anything is sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import Bundle
from chain.connection import Chain
from chain.contract import ZERO_ADDRESS
from chain.errors import RcmError
from chain.policy_oracle import register, submit
from chain.settlement import Phase
from chain.verdict import Fault, Verdict, clauses_hash, sign_verdict, verdict_domain
from tests.contracts.settlement_fixtures import CST, DECLARATION_HASH, LOW_RISK_BPS, USD, Market
from tokens import futures
from tokens.errors import TokensError

pytestmark = pytest.mark.usefixtures("snapshot")
PAYMENT = 10 * USD


@dataclass(frozen=True)
class Won:
    """A round settled and closed: the buyer's and the rival's bids won, the rival's second bid
    lost."""

    round_id: int
    a: bytes  # the buyer's future: 2 units of item 0 and 3 of item 1
    b: bytes  # the rival's future: 4 units of item 2
    lost: bytes
    config_digest: bytes


@pytest.fixture(scope="module")
def won(
    market: Market,
    buyer: LocalAccount,
    rival: LocalAccount,
    governance: LocalAccount,
    oracle_nodes: list[LocalAccount],
) -> Won:
    round_id = market.open_round()
    a = market.bid(buyer, round_id, Bundle((0, 1), (2, 3), 20 * USD))
    b = market.bid(rival, round_id, Bundle((2,), (4,), 12 * USD))
    lost = market.bid(rival, round_id, Bundle((3,), (1,), 1 * USD), nonce=1)
    market.commit_and_reveal(round_id, (a, buyer), (b, rival), (lost, rival))
    market.post(round_id, (a, 0), (b, 0))
    market.enter(round_id, Phase.PRICE)
    market.price(round_id, market.report(round_id, payments=[PAYMENT, PAYMENT]))
    market.finalise(round_id)
    market.release(round_id, [market.digest(lost)])
    market.close(round_id)
    # Verdicts are judged by a 3-of-4 set registered once the round is priced.
    config = register(market.system, governance, [n.address for n in oracle_nodes[:4]], 3)
    return Won(round_id, market.digest(a), market.digest(b), market.digest(lost), config)


def _statuses(market: Market, account: LocalAccount) -> dict[bytes, str]:
    return {
        bytes.fromhex(v.id[2:]): v.status for v in futures.futures(market.system, account.address)
    }


def _refused(chain: Chain, sender: LocalAccount, match: str, action: Callable[[], Any]) -> None:
    """`action` raises an RcmError matching `match`, and the sender sent nothing."""
    nonce = chain.w3.eth.get_transaction_count(sender.address)
    with pytest.raises(RcmError, match=match):
        action()
    assert chain.w3.eth.get_transaction_count(sender.address) == nonce


def _holds(market: Market, account: LocalAccount, future_id: bytes) -> int:
    token = int.from_bytes(future_id, "big")
    return int(market.system.futures.functions.balanceOf(account.address, token).call())


def test_ids_parse_from_hex_or_decimal() -> None:
    assert futures.parse_future_id("0x01") == futures.parse_future_id("1") == b"\0" * 31 + b"\1"
    for text in ("0xzz", "0", hex(2**256)):
        with pytest.raises(TokensError, match=r"future_id: .* is not a future id"):
            futures.parse_future_id(text)
    with pytest.raises(TokensError, match="hex needs its 0x: 0x3f2a9c01"):
        futures.parse_future_id("3f2a9c01")


# ---- listing ----


def test_a_won_future_lists_unclaimed_with_its_bundle_epsilon_risk_and_payment(
    market: Market, won: Won, buyer: LocalAccount
) -> None:
    (view,) = futures.futures(market.system, buyer.address)
    assert (view.id, view.round, view.status, view.bidder) == (
        "0x" + won.a.hex(),
        won.round_id,
        "unclaimed",
        buyer.address,
    )
    assert [(i.item, i.quantity_units, i.kind, i.region, i.unit, i.tier)
            for i in view.items] == [
        (0, 2, "gpu", "us-east", "gpu-hour", "certified"),
        (1, 3, "gpu", "us-east", "gpu-hour", "certified"),
    ]
    assert (view.epsilon_micro_eps, view.risk_bps, view.payment_micro_usd) == (
        10**6, LOW_RISK_BPS, PAYMENT)
    assert view.dataset == f"0x{market.dataset:064x}"


# ---- claim ----


def test_claim_mints_the_token_and_the_future_is_held(
    market: Market, won: Won, buyer: LocalAccount
) -> None:
    futures.claim(market.system, buyer, [won.a])
    assert _holds(market, buyer, won.a) == 1
    assert _statuses(market, buyer) == {won.a: "held"}


@pytest.mark.parametrize(
    "case, match",
    [
        ("won by another", "future_id: future 0x.* was won by 0x.*, not this wallet"),
        ("already claimed", "future_id: future 0x.* is already claimed"),
        ("unknown", "future_id: no future 0x.* on this deployment"),
        ("lost", r"future_id: 0x.* is not a won future \(its bid is released\)"),
        ("listed twice", "future_id: a future is listed twice"),
    ],
)
def test_claim_refuses_before_sending(
    chain: Chain, market: Market, won: Won, buyer: LocalAccount, case: str, match: str
) -> None:
    ids = {
        "won by another": [won.b],
        "already claimed": [won.a],
        "unknown": [b"\x77" * 32],
        "lost": [won.lost],
        "listed twice": [won.a, won.a],
    }[case]
    if case == "already claimed":
        futures.claim(market.system, buyer, [won.a])
    _refused(chain, buyer, match, lambda: futures.claim(market.system, buyer, ids))


def test_a_refusal_names_the_winner_by_the_wallet_here_that_holds_it(
    chain: Chain, market: Market, won: Won, buyer: LocalAccount, rival: LocalAccount,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCM_HOME", str(tmp_path))
    (tmp_path / "keystores").mkdir()
    (tmp_path / "keystores" / "lab.json").write_text(
        json.dumps({"address": rival.address.removeprefix("0x").lower()}))
    _refused(chain, buyer, rf"future_id: future 0x.* was won by lab \({rival.address}\), not "
                           "this wallet", lambda: futures.claim(market.system, buyer, [won.b]))


# ---- transfer ----


def test_transfer_claims_an_unclaimed_future_first_then_moves_it(
    market: Market, won: Won, buyer: LocalAccount, outsider: LocalAccount
) -> None:
    futures.transfer(market.system, buyer, outsider.address, won.a)
    assert (_holds(market, buyer, won.a), _holds(market, outsider, won.a)) == (0, 1)
    assert _statuses(market, outsider) == {won.a: "held"}


@pytest.mark.parametrize(
    "case, match",
    [
        ("to the zero address", "to: the zero address cannot hold a future"),
        ("to itself", "to: is this wallet itself"),
        ("not won", "future_id: future 0x.* was won by 0x.*, not this wallet"),
        ("not held", "future_id: this wallet does not hold future 0x"),
        ("redeemed", "future_id: future 0x.* was already redeemed"),
    ],
)
def test_transfer_refuses_before_sending(
    chain: Chain,
    market: Market,
    won: Won,
    buyer: LocalAccount,
    rival: LocalAccount,
    case: str,
    match: str,
) -> None:
    sender, to, future_id = buyer, rival.address, won.a
    if case == "to the zero address":
        to = ZERO_ADDRESS
    elif case == "to itself":
        to = buyer.address
    elif case == "not won":
        future_id = won.b
    elif case == "not held":
        futures.claim(market.system, rival, [won.b])
        future_id = won.b
        futures.transfer(market.system, rival, buyer.address, won.b)
        sender, to = rival, buyer.address
    else:
        futures.redeem(market.system, buyer, won.a, DECLARATION_HASH)
    _refused(chain, sender, match, lambda: futures.transfer(market.system, sender, to, future_id))


# ---- redeem ----


def test_a_holder_who_is_not_the_bidder_redeems_only_with_enough_free_stake(
    chain: Chain,
    market: Market,
    won: Won,
    buyer: LocalAccount,
    outsider: LocalAccount,
    governance: LocalAccount,
) -> None:
    system = market.system
    futures.transfer(system, buyer, outsider.address, won.a)
    # 20 USD deposit × 10% risk (the low band's minimum) × 1 CST per USD, no reputation
    # discount: 2 CST.
    _refused(
        chain,
        outsider,
        r"redeeming in the bidder's place needs 2 CST of free stake, the wallet has 0: "
        r"stake 2 more",
        lambda: futures.redeem(system, outsider, won.a, DECLARATION_HASH),
    )
    chain.send(system.cst.functions.mint(outsider.address, 2 * CST), governance)
    chain.send(system.cst.functions.approve(system.vault.address, 2 * CST), outsider)
    chain.send(system.vault.functions.stake(2 * CST), outsider)
    futures.redeem(system, outsider, won.a, DECLARATION_HASH)
    assert _holds(market, outsider, won.a) == 0
    assert _statuses(market, outsider) == {won.a: "redeemed"}
    _refused(
        chain,
        outsider,
        "future_id: future 0x.* was already redeemed",
        lambda: futures.redeem(system, outsider, won.a, DECLARATION_HASH),
    )


def test_a_winner_redeems_unclaimed_and_a_voided_future_lists_voided_and_is_refused(
    chain: Chain,
    market: Market,
    won: Won,
    rival: LocalAccount,
    oracle_nodes: list[LocalAccount],
) -> None:
    system = market.system
    futures.redeem(system, rival, won.b, DECLARATION_HASH)
    verdict = Verdict(
        won.b, False, Fault.BUYER, clauses_hash(["regulator.epsilon_claim"]), won.config_digest
    )
    domain = verdict_domain(chain.chain_id, system.oracle.address)
    signatures = [(n.address, sign_verdict(n, domain, verdict)) for n in oracle_nodes[:3]]
    submit(system, market.governance, verdict, signatures)
    assert _statuses(market, rival) == {won.b: "voided"}
    _refused(chain, rival, "future_id: future 0x.* was voided",
             lambda: futures.redeem(system, rival, won.b, DECLARATION_HASH))
