"""A future's `riskBps` is a ceiling that travels with it: whoever redeems it declares the job it
will run, and the client scores that declaration with the round's rubric before sending. The
chain records the declaration's hash in `Redeemed`; a job above the ceiling, for another
purpose, or prohibited is refused with nothing sent."""

from __future__ import annotations

from typing import Any

import pytest

from chain.errors import RcmError
from chain.events import events
from chain.settlement import Phase
from market import settlement
from risk.declaration import Declaration, declaration_hash
from tests.market.test_settlement_service import PARAMS, Market, _bid_and_reveal
from tests.market.test_settlement_service import _isolated as _isolated  # each test reverts
from tests.market.test_settlement_service import market as market  # the module's own round
from tests.support import declaration

MEDIUM = declaration("diagnostics", "medium")  # 3,000 bps: the GPU future's ceiling
LOW = declaration("diagnostics", "low")  # 1,000 bps


def _futures(market: Market) -> tuple[str, str]:
    """The round finalised: the GPU job's future (buyers[0], staked for 3,000 bps) and the
    storage job's (buyers[2], 1,000 bps)."""
    big, _, storage = _bid_and_reveal(market)
    book = market.book()
    settlement.post(market.system, market.governance, book,
                    settlement.clear_round(book, PARAMS))
    market.enter(Phase.PRICE)
    market.price()
    settlement.settle(market.system, market.governance, market.book())
    return "0x" + big.hex(), "0x" + storage.hex()


def _declared(market: Market, future: str) -> bytes:
    (redeemed,) = events(market.system, market.system.clearing_house, "Redeemed",
                         futureId=bytes.fromhex(future[2:]))
    return bytes(redeemed.args["declarationHash"])


def _hash(job: dict[str, Any]) -> bytes:
    return declaration_hash(Declaration.model_validate(job))


def test_a_bidder_redeems_for_the_job_it_bid_for_unless_it_declares_another(market: Market
                                                                            ) -> None:
    big, storage = _futures(market)
    done = market.wallet(market.buyers[0]).redeem(big)
    assert _declared(market, big).hex() == done.declaration[2:] == _hash(MEDIUM).hex()
    smaller = market.wallet(market.buyers[2]).redeem(storage, Declaration.model_validate(LOW))
    assert _declared(market, storage) == _hash(LOW) == bytes.fromhex(smaller.declaration[2:])


def test_a_buyer_of_a_future_runs_its_own_job_under_the_ceiling_and_stakes_the_ceiling(
        market: Market) -> None:
    big, _ = _futures(market)
    seller, buyer = market.buyers[0], market.buyers[1]
    market.wallet(seller).transfer_future(buyer.address, big)
    wallet = market.wallet(buyer)
    nonce = market.nonce(buyer)
    with pytest.raises(RcmError) as refused:
        wallet.redeem(big)
    assert (refused.value.field, market.nonce(buyer)) == ("declaration", nonce)
    assert "give the declaration of the job this wallet will run" in refused.value.reason
    locked = wallet.balances().locked_wei
    wallet.redeem(big, Declaration.model_validate(LOW))
    assert _declared(market, big) == _hash(LOW)
    # The stake follows the future's 3,000 bps, not the smaller job's score.
    staked = market.book().records[bytes.fromhex(big[2:])].stake_wei
    assert wallet.balances().locked_wei - locked == staked > 0


@pytest.mark.parametrize(("job", "field", "reason"), [
    (declaration("diagnostics", "medium") | {"model_flop": 10**25},
     "declaration", "above the 1,000 bps the future was staked for"),
    (LOW | {"purpose": "research"}, "declaration.purpose",
     "'research' is not the purpose the future bought"),
    (LOW | {"practices": ["social_scoring"]}, "declaration.practices",
     "ineligible whatever the stake: social_scoring is prohibited"),
])
def test_a_job_the_future_does_not_cover_is_refused_before_sending(
        market: Market, job: dict[str, Any], field: str, reason: str) -> None:
    _, storage = _futures(market)
    owner = market.buyers[2]
    nonce = market.nonce(owner)
    with pytest.raises(RcmError) as refused:
        market.wallet(owner).redeem(storage, Declaration.model_validate(job))
    assert refused.value.field == field and reason in refused.value.reason
    assert market.nonce(owner) == nonce
