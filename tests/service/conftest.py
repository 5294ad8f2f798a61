"""The relay over a real deployment on the embedded chain: a closed round whose futures
Alice (the tests' `buyer`) and Bob (`rival`) won, two each, one of each item; Alice claimed
her first. Carol (`outsider`) holds USD and no future; all three approved the exchange.
Each test runs in a chain snapshot with a store of its own, indexed up to the head."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from chain.bid import Bid
from chain.connection import Chain
from chain.exchange import AnyOrder, Order, Side, exchange_domain, order_hash, sign_order
from service.app import create_app
from service.background import Service, opened
from service.relay import Limits
from tests.contracts import conftest as contracts
from tests.contracts.exchange_fixtures import Exchange, issue_futures
from tests.contracts.settlement_fixtures import USD, Market
from tests.service.market_fixtures import ClearedRound, JudgedJob, cleared_round, judged_job
from tokens.trade import OrderFile

auctioneer = contracts.auctioneer
buyer = contracts.buyer
chain = contracts.chain
data_owner = contracts.data_owner
governance = contracts.governance
market = contracts.market
oracle = contracts.oracle
oracle_nodes = contracts.oracle_nodes
outsider = contracts.outsider
provider = contracts.provider
regulator = contracts.regulator
rival = contracts.rival
clearing = contracts.clearing
system = contracts.system

CAROL_USD = 100 * USD
PRICE = 5 * USD
HOUR = 3_600


@dataclass(frozen=True)
class Scene:
    market: Market
    exchange: Exchange
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    bids: tuple[Bid, ...]  # alice's claimed (item 0), alice's (1), bob's (2), bob's (3)
    round_id: int

    @property
    def futures(self) -> list[int]:
        return [int.from_bytes(self.market.digest(bid), "big") for bid in self.bids]

    def order(self, maker: LocalAccount, side: Side, future: int, price: int = PRICE,
              **terms: Any) -> Order:
        return self.exchange.order(maker, side, future, price, salt=terms.pop("salt", 1),
                                   **terms)

    def signed(self, order: AnyOrder, signer: LocalAccount, chain_id: int | None = None
               ) -> OrderFile:
        domain = exchange_domain(chain_id or self.market.chain.chain_id,
                                 self.exchange.contract.address)
        return OrderFile.of(order, sign_order(signer, domain, order))

    def hash(self, order: AnyOrder) -> str:
        domain = exchange_domain(self.market.chain.chain_id, self.exchange.contract.address)
        return "0x" + order_hash(domain, order).hex()


@pytest.fixture(scope="module")
def scene(market: Market, buyer: LocalAccount, rival: LocalAccount,
          outsider: LocalAccount) -> Scene:
    bids = tuple(issue_futures(market, [buyer, rival], 2))
    chain, system = market.chain, market.system
    chain.send(system.clearing_house.functions.claim([market.digest(bids[0])]), buyer)
    chain.send(system.usd.functions.mint(outsider.address, CAROL_USD), market.governance)
    exchange = Exchange(market)
    exchange.approve(buyer, rival, outsider)
    round_id = market.record(market.digest(bids[0])).round_id
    return Scene(market, exchange, buyer, rival, outsider, bids, round_id)


@pytest.fixture(scope="module")
def cleared(market: Market, buyer: LocalAccount, rival: LocalAccount,
            outsider: LocalAccount) -> ClearedRound:
    """The dashboard's market: Alice (`buyer`) won, Bob (`rival`) lost twice, Carol
    (`outsider`) bought Alice's future."""
    return cleared_round(market, buyer, rival, outsider)


@pytest.fixture(scope="module")
def judged(cleared: ClearedRound, outsider: LocalAccount) -> JudgedJob:
    """The dashboard's market with a verdict: Carol redeemed the future she bought, and the
    quorum burned her stake. A test takes it before any snapshot it reverts."""
    return judged_job(cleared, outsider)


@pytest.fixture
def snapshot(chain: Chain, scene: Scene) -> Iterator[None]:
    taken = chain.snapshot()
    yield
    chain.revert_to(taken)


def open_service(scene: Scene, path: Path, limits: Limits | None = None
                 ) -> Iterator[tuple[Service, TestClient]]:
    with opened(scene.market.system, path, limits) as service:
        service.indexer.sync()
        with TestClient(create_app(service.relay)) as client:
            yield service, client


@pytest.fixture
def service(snapshot: None, scene: Scene, tmp_path: Path
            ) -> Iterator[tuple[Service, TestClient]]:
    yield from open_service(scene, tmp_path / "market.sqlite")


def post(client: TestClient, file: OrderFile) -> Any:
    return client.post("/orders", content=file.model_dump_json(exclude_none=True),
                       headers={"content-type": "application/json"})
