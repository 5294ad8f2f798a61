"""Pricing a round over HTTP, as `rcm round price` does: three oracle nodes served on loopback,
each recomputing the Ethical Pricing Function from the embedded chain, k matching signed reports
submitted; a node asked too early refuses, and a node outside the registered set is not
counted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from chain.bid import Bundle
from chain.clearing_house import Round
from chain.connection import Chain, connect
from chain.deploy import deploy_system
from chain.policy_oracle import OracleSet
from chain.settlement import Phase
from chain.times import unix_and_utc
from market.round_book import read_book
from market.settlement import submit_prices
from oracle.attester import new_enclave
from oracle.config import init_oracle_dir, read_node_config
from oracle.node.background import serving_all
from oracle.quorum import NoQuorum, choose_prices, collect_prices
from oracle.registration import register_oracle_set
from rcm.pricer import chain_pricer
from tests.contracts.settlement_fixtures import USD, Market, build_market

PASSWORD = "pricing"


@pytest.fixture(scope="module")
def chain() -> Chain:
    return connect()


@pytest.fixture(scope="module")
def market(chain: Chain) -> Market:
    """A round in its challenge phase: two bids posted, both winning."""
    governance, auctioneer, provider, owner, buyer, rival = (
        chain.dev_account(i) for i in range(6))
    system = deploy_system(chain, governance)
    nodes = [chain.dev_account(i) for i in range(6, 9)]
    market = build_market(system, governance, auctioneer, provider, owner, [buyer, rival], nodes)
    round_id = market.open_round()
    a = market.bid(buyer, round_id, Bundle((0, 1), (2, 3), 20 * USD))
    b = market.bid(rival, round_id, Bundle((2,), (4,), 12 * USD))
    for bid, who in ((a, buyer), (b, rival)):
        market.commit(bid, who)
    market.enter(round_id, Phase.REVEAL)
    for bid, who in ((a, buyer), (b, rival)):
        market.reveal(bid, who)
    market.enter(round_id, Phase.POST)
    market.post(round_id, (a, 0), (b, 0))
    market.enter(round_id, Phase.CHALLENGE)
    return market


@pytest.fixture(scope="module")
def urls(market: Market, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Three nodes registered as the oracle set (k = 2), pricing from the embedded chain."""
    work = tmp_path_factory.mktemp("pricer")
    root = work / "root.pem"
    root.write_text(new_enclave().cert_chain[-1])
    init_oracle_dir(work / "oracle", nodes=3, threshold=2, trust_roots=[root],
                    password=lambda: PASSWORD)
    registered = register_oracle_set(market.system, market.governance, work / "oracle")
    configs = [read_node_config(path) for path in registered.configs]
    with serving_all(configs, PASSWORD, chain_pricer(lambda: market.system)) as served:
        yield served


def test_a_node_asked_before_the_window_closes_refuses(market: Market, urls: list[str]) -> None:
    answers = collect_prices(1, urls)
    end = Round.read(market.system.clearing_house, 1).challenge_end_timestamp
    assert {answer.error for answer in answers} == {
        "422: pricing: round_id: round 1 is in its challenge phase; pricing needs the price "
        f"phase, which opens after {unix_and_utc(end)}"}


def test_the_quorum_prices_the_round_and_a_stranger_does_not_count(
    market: Market, urls: list[str]
) -> None:
    market.enter(1, Phase.PRICE)
    answers = collect_prices(1, urls)
    signers = OracleSet.read(market.system)
    assert signers.threshold == 2
    quorum = choose_prices(answers, signers)
    assert {tuple(answer.price.payments_micro_usd) for answer in answers if answer.price} == {
        quorum.report.payments_micro_usd}
    with pytest.raises(NoQuorum, match="fewer than k=2 matching price reports"):
        choose_prices(answers[:1], signers)
    with pytest.raises(NoQuorum, match="signature not from a registered signer"):
        choose_prices(answers, replace(signers, members=frozenset()))
    submit_prices(market.system, market.governance, quorum.report, quorum.signatures)
    state = Round.read(market.house, 1)
    assert (state.priced, read_book(market.system, 1).phase) == (True, Phase.FINAL)
