"""The indexer follows the deployment into SQLite: each block in one transaction, so a crash
mid-block leaves nothing of it and a restart resumes without a duplicate; a store of another
deployment, or one ahead of a reverted chain, starts over."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chain.contract import Event
from chain.exchange import Side
from service import handlers
from service.background import opened
from service.handlers import BlockContext
from service.store import Deployment, connect, open_for
from tests.service.conftest import Scene

pytestmark = pytest.mark.usefixtures("snapshot")


def _rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return list(db.execute(f"SELECT * FROM {table}"))


def _fill(scene: Scene, salt: int) -> bytes:
    """Carol buys Alice's claimed future; the order's hash."""
    order = scene.order(scene.alice, Side.SELL, scene.futures[0], salt=salt)
    scene.exchange.fill(order, scene.exchange.sign(order, scene.alice), scene.carol)
    return scene.exchange.hash(order)


def test_the_index_holds_the_rounds_futures_and_their_holders(scene: Scene, tmp_path: Path
                                                              ) -> None:
    path = tmp_path / "market.sqlite"
    with opened(scene.market.system, path) as service:
        service.indexer.sync()
    futures = {int.from_bytes(row[0], "big"): row for row in _rows(path, "futures")}
    assert set(futures) == set(scene.futures)
    claimed = futures[scene.futures[0]]
    assert (claimed[4], claimed[5], claimed[6]) == ("future", 1, scene.alice.address)
    unclaimed = futures[scene.futures[3]]
    assert (unclaimed[2], unclaimed[5], unclaimed[6]) == (scene.bob.address, 0, None)
    items = {(int.from_bytes(f, "big"), item, units)
             for f, _, item, units in _rows(path, "future_items")}
    assert items == {(future, item, 1) for item, future in enumerate(scene.futures)}


def test_a_crash_mid_block_leaves_nothing_of_it_and_the_restart_stores_it_once(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "market.sqlite"
    with opened(scene.market.system, path) as service:
        service.indexer.sync()
        before = service.indexer.last_block
    _fill(scene, salt=1)

    def crash(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
        raise RuntimeError("killed")

    # The fill's block: the ERC-1155 transfer is written before the trade, then the crash.
    monkeypatch.setitem(handlers.HANDLERS, ("exchange", "Traded"), crash)
    with opened(scene.market.system, path) as service, pytest.raises(RuntimeError):
        service.indexer.sync()
    assert _rows(path, "trades") == []
    holders = {row[6] for row in _rows(path, "futures") if row[6] is not None}
    assert holders == {scene.alice.address}
    monkeypatch.undo()
    with opened(scene.market.system, path) as service:
        assert service.indexer.last_block == before
        progress = service.indexer.sync()
        assert (progress.first_block, progress.started_over) == (before + 1, False)
        service.indexer.sync()
    assert len(_rows(path, "trades")) == 1
    assert {row[6] for row in _rows(path, "futures") if row[6]} == {scene.carol.address}


def test_a_store_of_another_deployment_starts_over(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "market.sqlite"
    db = connect(path)
    open_for(db, Deployment(1, 0, bytes(32), scene.exchange.contract.address))
    db.execute("INSERT INTO counters VALUES ('0x' || 'ab', 9)")
    db.close()
    with opened(scene.market.system, path) as service:
        assert service.indexer.started_over
        service.indexer.sync()
    assert _rows(path, "counters") == []


def test_a_chain_reverted_below_the_index_starts_it_over(scene: Scene, tmp_path: Path) -> None:
    chain = scene.market.chain
    taken = chain.snapshot()
    _fill(scene, salt=1)
    path = tmp_path / "market.sqlite"
    with opened(scene.market.system, path) as service:
        service.indexer.sync()
        assert len(_rows(path, "trades")) == 1
        chain.revert_to(taken)
        progress = service.indexer.sync()
    assert progress.started_over
    assert _rows(path, "trades") == []


def test_a_chain_reverted_and_mined_again_to_the_same_height_starts_it_over(
        scene: Scene, tmp_path: Path) -> None:
    chain = scene.market.chain
    taken = chain.snapshot()
    _fill(scene, salt=1)
    path = tmp_path / "market.sqlite"
    with opened(scene.market.system, path) as service:
        service.indexer.sync()
        height = service.indexer.last_block
        chain.revert_to(taken)
        again = _fill(scene, salt=2)
        assert chain.block_number() == height
        progress = service.indexer.sync()
    assert progress.started_over
    (trade,) = _rows(path, "trades")
    assert trade[2] == again


def test_with_two_confirmations_the_last_two_blocks_wait_for_two_more(
        scene: Scene, tmp_path: Path) -> None:
    chain = scene.market.chain

    def mine() -> None:
        chain.transfer_eth(scene.market.governance, scene.carol.address, 1)

    path = tmp_path / "market.sqlite"
    with opened(scene.market.system, path, confirmations=2) as service:
        _fill(scene, salt=1)
        filled = chain.block_number()
        mine()
        assert service.indexer.sync().last_block == filled - 1
        assert _rows(path, "trades") == []
        mine()
        assert service.indexer.sync().last_block == filled
        assert len(_rows(path, "trades")) == 1
