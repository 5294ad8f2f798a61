"""The service's SQLite file: its tables, and which deployment they describe.

Every table is rebuilt from the chain except `orders`, which holds what makers posted to the
relay, and `verdict_clauses`, what oracle nodes said that the chain's hashes prove (asked
again after a rebuild). A store made for another deployment (another chain id, deploy block,
exchange, or a deploy block whose hash changed: a restarted dev node) is emptied and started
over, orders included, since their signatures bind the old exchange. Ids and hashes are
BLOBs, addresses EIP-55 text; amounts that may pass 2^63 (balances, allowances) decimal text.

A later table is added to `SCHEMA` (and its handlers to `service.handlers.HANDLERS`); a store
opened with a schema version it was not made with starts over, and the indexer refills it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from chain.config import rcm_home

SCHEMA_VERSION = "6"
DEFAULT_FILE = "market.sqlite"

SCHEMA = {
    "meta": "key TEXT PRIMARY KEY, value TEXT NOT NULL",
    # A round as `RoundOpened` gave it, and what later events changed: the result standing
    # (`BatchPosted` of the post, `ResultReplaced`), the solver's claim of the post, the priced
    # version, closing. With the policy's pricing window, the phase follows from the time.
    "rounds": "round_id INTEGER PRIMARY KEY, policy_id INTEGER NOT NULL,"
              " commit_deadline INTEGER NOT NULL, reveal_deadline INTEGER NOT NULL,"
              " post_deadline INTEGER NOT NULL, challenge_deadline INTEGER NOT NULL,"
              " challenge_end INTEGER NOT NULL, pricing_window_seconds INTEGER NOT NULL,"
              " opened_at INTEGER NOT NULL, standing_version INTEGER NOT NULL,"
              " welfare_micro_usd INTEGER, solver_status INTEGER, bound_micro_usd INTEGER,"
              " priced_version INTEGER, closed INTEGER NOT NULL",
    # The round's items as `AskPosted` gave them; `label` is `market.model.item_label`'s.
    "asks": "round_id INTEGER NOT NULL, item INTEGER NOT NULL, capacity_units INTEGER NOT NULL,"
            " delivery_end INTEGER NOT NULL, provider TEXT NOT NULL, label TEXT NOT NULL,"
            " resource TEXT NOT NULL, region TEXT NOT NULL,"
            " reserve_price_micro_usd INTEGER NOT NULL, PRIMARY KEY (round_id, item)",
    # Each commitment's public terms (`Committed`).
    "commitments": "digest BLOB PRIMARY KEY, round_id INTEGER NOT NULL, bidder TEXT NOT NULL,"
                   " max_value_micro_usd INTEGER NOT NULL, committed_at INTEGER NOT NULL",
    # Each revealed bid's bundles as JSON [[items], [quantities]]: what its future delivers.
    "revealed": "digest BLOB PRIMARY KEY, bundles TEXT NOT NULL",
    # Every result's awards (`BatchPosted`), in batch order and order within the batch.
    "awards": "round_id INTEGER NOT NULL, version INTEGER NOT NULL, batch INTEGER NOT NULL,"
              " position INTEGER NOT NULL, digest BLOB NOT NULL, bundle_index INTEGER NOT NULL,"
              " value_micro_usd INTEGER NOT NULL, reserve_micro_usd INTEGER NOT NULL,"
              " PRIMARY KEY (round_id, version, batch, position)",
    # The quorum's clearing price of each item of a priced round (`Priced`, its latest), and
    # where that event is in the chain: the price history lists records in the chain's order.
    "item_prices": "round_id INTEGER NOT NULL, item INTEGER NOT NULL,"
                   " price_micro_usd INTEGER NOT NULL, priced_at INTEGER NOT NULL,"
                   " block INTEGER NOT NULL, log_index INTEGER NOT NULL,"
                   " PRIMARY KEY (round_id, item)",
    # Why each losing bid of a closed round lost, as the auctioneer's own code finds it from
    # the chain's events (`market.outcome.round_losses`): the chain does not hold it.
    "losses": "digest BLOB PRIMARY KEY, round_id INTEGER NOT NULL, reason TEXT NOT NULL,"
              " bundle INTEGER, item TEXT, detail TEXT NOT NULL",
    # status: future | redeemed | settled | voided | timed_out | expired; holder: the token's,
    # once claimed (None when burned); redeemer: who turned it into an oracle job.
    "futures": "future_id BLOB PRIMARY KEY, round_id INTEGER NOT NULL, bidder TEXT NOT NULL,"
               " delivery_end INTEGER NOT NULL, status TEXT NOT NULL, claimed INTEGER NOT NULL,"
               " holder TEXT, payment_micro_usd INTEGER NOT NULL, redeemer TEXT",
    "future_items": "future_id BLOB NOT NULL, round_id INTEGER NOT NULL, item INTEGER NOT NULL,"
                    " units INTEGER NOT NULL, PRIMARY KEY (future_id, item)",
    # Each job's verdict: the quorum's (`VerdictAccepted`, its signers read from the bitmap
    # over the oracle's signer set at that block) and what `VerdictEnforced` moved, or a job
    # that `TimedOut` (outcome `timed_out`, no signer). Wei amounts may pass 2^63: text.
    "verdicts": "job_id BLOB PRIMARY KEY, outcome TEXT NOT NULL, fault INTEGER,"
                " clauses_hash BLOB, signers TEXT NOT NULL, paid TEXT,"
                " paid_micro_usd INTEGER, stake_burned_wei TEXT NOT NULL,"
                " bond_burned_wei TEXT NOT NULL, decided_at INTEGER NOT NULL",
    # The failed clauses of a violation as an oracle node gave them (`service.clauses`): the ids
    # hash to `clauses_hash`, the verdict's when stored; each reason is `node`'s word alone.
    # `clauses` is JSON [{"id", "reason"}], sorted by id.
    "verdict_clauses": "job_id BLOB PRIMARY KEY, clauses_hash BLOB NOT NULL,"
                       " clauses TEXT NOT NULL, node TEXT NOT NULL",
    # Every move of CST in the safety vault, one row per event: kind is one of
    # `service.handlers.VAULT_MOVES`; `ready_at` only for unbonding.
    "vault_moves": "block INTEGER NOT NULL, log_index INTEGER NOT NULL, timestamp INTEGER NOT NULL,"
                   " account TEXT NOT NULL, kind TEXT NOT NULL, amount_wei TEXT NOT NULL,"
                   " ready_at INTEGER, PRIMARY KEY (block, log_index)",
    # Each dataset as `DatasetRegistered` gave it: its whole ε budget, minted to its owner.
    "datasets": "dataset_id BLOB PRIMARY KEY, owner TEXT NOT NULL, content_hash BLOB NOT NULL,"
                " total_micro_epsilon INTEGER NOT NULL, categories INTEGER NOT NULL,"
                " registered_at INTEGER NOT NULL",
    # The owner's latest word on each purpose (`ConsentSet`).
    "consents": "dataset_id BLOB NOT NULL, purpose BLOB NOT NULL, consented INTEGER NOT NULL,"
                " PRIMARY KEY (dataset_id, purpose)",
    # Each seller's standing offer (`Offered`, less what `Bought` took). Any holder may offer
    # any uint64 amount at any uint64 price: decimal text.
    "budget_offers": "dataset_id BLOB NOT NULL, seller TEXT NOT NULL,"
                     " amount_micro_epsilon TEXT NOT NULL,"
                     " price_micro_usd_per_epsilon TEXT NOT NULL, PRIMARY KEY (dataset_id, seller)",
    # The ε a dataset's reserve gained or lost, one row per id of each event: kind `reserved`
    # (a burn), `released` (a mint by the clearing house) or `consumed` (`Consumed`).
    "budget_moves": "block INTEGER NOT NULL, log_index INTEGER NOT NULL,"
                    " position INTEGER NOT NULL, timestamp INTEGER NOT NULL,"
                    " dataset_id BLOB NOT NULL, kind TEXT NOT NULL,"
                    " amount_micro_epsilon INTEGER NOT NULL,"
                    " PRIMARY KEY (block, log_index, position)",
    "exchange_approvals": "owner TEXT PRIMARY KEY, approved INTEGER NOT NULL",
    "order_status": "order_hash BLOB PRIMARY KEY, status INTEGER NOT NULL",
    "counters": "maker TEXT PRIMARY KEY, counter INTEGER NOT NULL",
    "trades": "block INTEGER NOT NULL, log_index INTEGER NOT NULL, order_hash BLOB NOT NULL,"
              " future_id BLOB NOT NULL, seller TEXT NOT NULL, buyer TEXT NOT NULL,"
              " price_micro_usd INTEGER NOT NULL, fee_micro_usd INTEGER NOT NULL,"
              " tx BLOB NOT NULL, timestamp INTEGER NOT NULL, PRIMARY KEY (block, log_index)",
    # USD of the makers of buy orders, as of `block`: read at that block, not summed from
    # transfers, since the payment token's history may predate the deployment.
    "funds": "account TEXT PRIMARY KEY, balance_micro_usd TEXT NOT NULL,"
             " allowance_micro_usd TEXT NOT NULL, block INTEGER NOT NULL",
    # What makers posted; `sequence` is arrival order, the book's time priority.
    "orders": "sequence INTEGER PRIMARY KEY AUTOINCREMENT, order_hash BLOB NOT NULL UNIQUE,"
              " maker TEXT NOT NULL, side INTEGER NOT NULL, future_id BLOB, round_id INTEGER,"
              " item INTEGER, min_quantity INTEGER, price_micro_usd INTEGER NOT NULL,"
              " expires_at INTEGER NOT NULL, counter INTEGER NOT NULL, file TEXT NOT NULL",
}
# What a reorg of the same deployment leaves: the makers' orders, whose signatures bind the
# chain id and the exchange and which are judged again from the new index (dropped, every
# order would vanish at any reorg, however short), and whose USD is followed.
KEPT_ON_REORG = frozenset({"orders", "funds"})
INDEXES = (
    "CREATE INDEX IF NOT EXISTS commitments_by_round ON commitments (round_id)",
    "CREATE INDEX IF NOT EXISTS losses_by_round ON losses (round_id, reason)",
    "CREATE INDEX IF NOT EXISTS future_items_by_item ON future_items (round_id, item)",
    "CREATE INDEX IF NOT EXISTS trades_by_future ON trades (future_id)",
    "CREATE INDEX IF NOT EXISTS futures_by_status ON futures (status)",
    "CREATE INDEX IF NOT EXISTS vault_moves_by_account ON vault_moves (account)",
    "CREATE INDEX IF NOT EXISTS budget_moves_by_dataset ON budget_moves (dataset_id)",
    "CREATE INDEX IF NOT EXISTS orders_by_maker ON orders (maker, expires_at)",
    "CREATE INDEX IF NOT EXISTS orders_by_future ON orders (future_id)",
    "CREATE INDEX IF NOT EXISTS orders_by_criteria ON orders (round_id, item)",
)


def default_path() -> Path:
    return rcm_home() / DEFAULT_FILE


@dataclass(frozen=True)
class Deployment:
    """What a store's rows belong to."""

    chain_id: int
    deploy_block: int
    deploy_block_hash: bytes
    exchange: str

    def as_meta(self) -> dict[str, str]:
        return {"schema_version": SCHEMA_VERSION, "chain_id": str(self.chain_id),
                "deploy_block": str(self.deploy_block),
                "deploy_block_hash": self.deploy_block_hash.hex(), "exchange": self.exchange}


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) on a WAL file, so the
    relay reads while the indexer writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                 timeout=30.0)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def open_for(connection: sqlite3.Connection, deployment: Deployment,
             start_over: bool = False) -> bool:
    """Makes the tables for `deployment`; True when the store was emptied first (it described
    another deployment or schema, or `start_over`: the chain reorganised under the index, which
    keeps `KEPT_ON_REORG`)."""
    connection.execute(f"CREATE TABLE IF NOT EXISTS meta ({SCHEMA['meta']})")
    stored = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    wanted = deployment.as_meta()
    other = bool(stored) and any(stored.get(key) != value for key, value in wanted.items())
    stale = start_over or other
    connection.execute("BEGIN IMMEDIATE")
    try:
        if stale:
            for table in SCHEMA.keys() - (set() if other else KEPT_ON_REORG):
                connection.execute(f"DROP TABLE IF EXISTS {table}")
        for table, columns in SCHEMA.items():
            connection.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        for index in INDEXES:
            connection.execute(index)
        connection.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                               wanted.items())
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return stale


def meta_int(connection: sqlite3.Connection, key: str) -> int | None:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else int(row[0])


def set_meta(connection: sqlite3.Connection, key: str, value: int) -> None:
    connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))
