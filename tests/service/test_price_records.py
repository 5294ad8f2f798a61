"""service/price_records.py: the index's price history is the one `market.price_history` reads
from the chain's logs — the same records, in the same order, and the same item labels — on the
chain of tests/market/test_price_history.py (a priced round, an unpriced one, three fills)."""

from __future__ import annotations

from pathlib import Path

from service.background import opened
from service.price_records import price_history
from tests.market.test_price_history import Traded
from tests.market.test_price_history import traded as traded  # the module's own chain


def test_the_index_holds_the_price_history_the_chain_does(traded: Traded,
                                                          tmp_path: Path) -> None:
    with opened(traded.market.system, tmp_path / "market.sqlite") as service:
        service.indexer.sync()
        indexed = price_history(service.indexer.db)
    assert indexed == traded.history
    assert len({point.source for point in indexed.points}) == 2
