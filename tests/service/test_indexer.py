"""The indexer follows the deployment into SQLite: whole blocks in one transaction, so a crash
mid-block or mid-span leaves nothing of the span and a restart resumes without a duplicate; a
store of another deployment, or one ahead of a reverted chain, starts over."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chain.contract import Event
from chain.errors import ChainError
from chain.exchange import Side
from service import handlers, indexer
from service.background import opened
from service.handlers import BlockContext
from service.store import SCHEMA, Deployment, connect, open_for
from tests.service.conftest import Scene

pytestmark = pytest.mark.usefixtures("snapshot")


def _rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return list(db.execute(f"SELECT * FROM {table}"))


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows but the meta table's, in a fixed order."""
    with sqlite3.connect(path) as db:
        return {table: sorted(db.execute(f"SELECT * FROM {table}"), key=repr)
                for table in SCHEMA if table != "meta"}


def _mine(scene: Scene) -> None:
    scene.market.chain.transfer_eth(scene.market.governance, scene.carol.address, 1)


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


def _crash_at_second(name: str) -> handlers.Handler:
    """A handler of the exchange's event `name` that writes its first event as the real one
    does, then crashes at the next."""
    real, calls = handlers.HANDLERS[("exchange", name)], []

    def crash(db: sqlite3.Connection, event: Event, block: BlockContext) -> None:
        calls.append(event)
        if len(calls) > 1:
            raise RuntimeError("killed")
        real(db, event, block)
    return crash


def test_a_crash_mid_span_leaves_none_of_its_blocks_and_the_restart_stores_each_once(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, fresh = tmp_path / "market.sqlite", tmp_path / "fresh.sqlite"
    with opened(scene.market.system, path) as service:
        service.indexer.sync()
        before = service.indexer.last_block
    _fill(scene, salt=1)
    for _ in range(2):
        scene.market.chain.send(scene.exchange.contract.functions.incrementCounter(), scene.carol)
    _mine(scene)
    # Both counter blocks and the fill's are in one span: the second counter's crash undoes
    # the fill's block and the first counter's too.
    monkeypatch.setitem(handlers.HANDLERS, ("exchange", "CounterIncremented"),
                        _crash_at_second("CounterIncremented"))
    with opened(scene.market.system, path) as service, pytest.raises(RuntimeError):
        service.indexer.sync()
    assert (_rows(path, "trades"), _rows(path, "counters")) == ([], [])
    monkeypatch.undo()
    with opened(scene.market.system, path) as service:
        assert service.indexer.last_block == before
        assert service.indexer.sync().first_block == before + 1
    with opened(scene.market.system, fresh) as service:
        service.indexer.sync()
    assert _tables(path) == _tables(fresh)
    assert _rows(path, "counters") == [(scene.carol.address, 2)]


def test_a_crash_in_a_later_span_keeps_the_spans_before_it(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, fresh = tmp_path / "market.sqlite", tmp_path / "fresh.sqlite"
    with opened(scene.market.system, path) as service:
        service.indexer.sync()
        before = service.indexer.last_block
    _mine(scene)
    for _ in range(3):
        scene.market.chain.send(scene.exchange.contract.functions.incrementCounter(), scene.carol)
    monkeypatch.setattr(indexer, "BLOCKS_PER_TRANSACTION", 2)
    monkeypatch.setitem(handlers.HANDLERS, ("exchange", "CounterIncremented"),
                        _crash_at_second("CounterIncremented"))
    # Spans of two blocks: the first (a transfer of ether, the first counter) is stored; the
    # second (the other two counters) crashes at its first block.
    with opened(scene.market.system, path) as service, pytest.raises(RuntimeError):
        service.indexer.sync()
    assert _rows(path, "counters") == [(scene.carol.address, 1)]
    monkeypatch.undo()
    monkeypatch.setattr(indexer, "BLOCKS_PER_TRANSACTION", 2)
    with opened(scene.market.system, path) as service:
        assert service.indexer.last_block == before + 2
        service.indexer.sync()
    with opened(scene.market.system, fresh) as service:
        service.indexer.sync()
    assert _tables(path) == _tables(fresh)
    assert _rows(path, "counters") == [(scene.carol.address, 3)]


def test_a_followed_makers_usd_is_read_at_the_last_block_of_its_span(
        scene: Scene, tmp_path: Path) -> None:
    chain, usd = scene.market.chain, scene.market.system.usd
    path = tmp_path / "market.sqlite"
    with opened(scene.market.system, path) as service:
        service.indexer.sync()
        service.indexer.follow_funds(scene.carol.address, 1)
        for amount in (1, 2):
            chain.send(usd.functions.mint(scene.carol.address, amount), scene.market.governance)
        _mine(scene)
        progress = service.indexer.sync()
    assert progress.last_block - progress.first_block == 2
    balance = usd.functions.balanceOf(scene.carol.address).call()
    allowance = usd.functions.allowance(scene.carol.address,
                                        scene.exchange.contract.address).call()
    assert _rows(path, "funds") == [
        (scene.carol.address, str(balance), str(allowance), progress.last_block)]


def test_a_reorg_below_the_last_block_of_a_span_starts_the_index_over(
        scene: Scene, tmp_path: Path) -> None:
    chain = scene.market.chain
    path = tmp_path / "market.sqlite"
    with opened(scene.market.system, path) as service:
        service.indexer.sync()
        _mine(scene)
        taken = chain.snapshot()
        _fill(scene, salt=1)
        _mine(scene)
        _mine(scene)
        height = service.indexer.sync().last_block
        # The fill's block, in the middle of the span just stored, is replaced; the new
        # branch is longer than the index.
        chain.revert_to(taken)
        again = _fill(scene, salt=2)
        for _ in range(3):
            _mine(scene)
        assert chain.block_number() > height
        progress = service.indexer.sync()
    assert progress.started_over
    (trade,) = _rows(path, "trades")
    assert trade[2] == again


def test_a_reorg_while_a_span_is_read_stores_none_of_it(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = scene.market.chain
    path, fresh = tmp_path / "market.sqlite", tmp_path / "fresh.sqlite"
    with opened(scene.market.system, path) as service:
        service.indexer.sync()
        before = service.indexer.last_block
        taken = chain.snapshot()
        _fill(scene, salt=1)
        _mine(scene)
        read = indexer.emitted_between

        def reorganised(*args: object) -> object:
            found = read(*args)  # type: ignore[arg-type]
            chain.revert_to(taken)
            _mine(scene)
            _fill(scene, salt=2)
            return found

        monkeypatch.setattr(indexer, "emitted_between", reorganised)
        with pytest.raises(ChainError, match="reorganised"):
            service.indexer.sync()
        assert (service.indexer.last_block, _rows(path, "trades")) == (before, [])
        monkeypatch.undo()
        service.indexer.sync()
    with opened(scene.market.system, fresh) as service:
        service.indexer.sync()
    assert _tables(path) == _tables(fresh)
