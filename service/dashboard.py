"""The dashboard's reads of the index: the rounds, one round with its items and bids, the
prices and their index. Only the store is read, never the chain, so a page costs SQLite
queries alone and is as fresh as the indexer's last block."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

from chain.settlement import Phase, SolverStatus
from market.prices import price_index
from service.dashboard_models import (
    BidPublic,
    IndexPointPublic,
    ItemPublic,
    Outcome,
    PricePointPublic,
    PricesPublic,
    RoundPublic,
    RoundRowPublic,
    RoundsPublic,
)
from service.errors import RoundNotFound
from service.price_records import price_points
from service.store import meta_int

MAX_ROUNDS = 100

_ROUNDS = """
SELECT r.round_id, r.policy_id, r.commit_deadline, r.reveal_deadline, r.post_deadline,
       r.challenge_end, r.pricing_window_seconds, r.standing_version, r.welfare_micro_usd,
       r.solver_status, r.bound_micro_usd, r.priced_version, r.closed,
       (SELECT COUNT(*) FROM asks a WHERE a.round_id = r.round_id),
       (SELECT COUNT(*) FROM commitments c WHERE c.round_id = r.round_id),
       (SELECT COUNT(*) FROM commitments c JOIN revealed v ON v.digest = c.digest
        WHERE c.round_id = r.round_id),
       (SELECT COUNT(*) FROM awards w WHERE w.round_id = r.round_id
        AND w.version = r.standing_version)
FROM rounds r
"""
_ITEMS = """
SELECT a.item, a.label, a.resource, a.region, a.provider, a.capacity_units,
       a.reserve_price_micro_usd, p.price_micro_usd
FROM asks a LEFT JOIN item_prices p ON p.round_id = a.round_id AND p.item = a.item
WHERE a.round_id = ? ORDER BY a.item
"""
_AWARDED = """
SELECT w.digest, w.bundle_index, v.bundles FROM awards w
JOIN revealed v ON v.digest = w.digest WHERE w.round_id = ? AND w.version = ?
"""
_BIDS = """
SELECT c.digest, c.bidder, c.max_value_micro_usd, v.digest IS NOT NULL, f.payment_micro_usd,
       l.reason, l.bundle, l.item, l.detail
FROM commitments c
LEFT JOIN revealed v ON v.digest = c.digest
LEFT JOIN futures f ON f.future_id = c.digest
LEFT JOIN losses l ON l.digest = c.digest
WHERE c.round_id = ? ORDER BY c.committed_at, c.digest
"""


def phase_at(commit: int, reveal: int, post: int, challenge_end: int, pricing_window: int,
             priced: bool, standing_version: int, now: int) -> Phase:
    """The round's phase at `now`, as `ClearingHouse.phaseOf` decides it from the same facts."""
    if now <= commit:
        return Phase.COMMIT
    if now <= reveal:
        return Phase.REVEAL
    if now <= post:
        return Phase.POST
    if now <= challenge_end:
        return Phase.CHALLENGE
    if priced or standing_version == 0 or now > challenge_end + pricing_window:
        return Phase.FINAL
    return Phase.PRICE


class Dashboard:
    """Reads through `db`, a connection to the indexer's store."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def _head(self) -> tuple[int, int]:
        return meta_int(self.db, "last_block") or 0, meta_int(self.db, "head_timestamp") or 0

    def rounds(self) -> RoundsPublic:
        """The latest rounds, newest first."""
        block, now = self._head()
        rows = self.db.execute(_ROUNDS + " ORDER BY r.round_id DESC LIMIT ?", (MAX_ROUNDS,))
        return RoundsPublic(block=block, timestamp=now,
                            rounds=[_round_row(row, now) for row in rows])

    def round(self, round_id: int, reason: str | None = None) -> RoundPublic:
        """The round's items and its bids, of those that lost for `reason` when given."""
        block, now = self._head()
        row = self.db.execute(_ROUNDS + " WHERE r.round_id = ?", (round_id,)).fetchone()
        if row is None:
            raise RoundNotFound(f"no round {round_id} indexed", field="round")
        summary = _round_row(row, now)
        allocated: Counter[int] = Counter()
        won: dict[bytes, int] = {}
        for digest, bundle_index, bundles in self.db.execute(
                _AWARDED, (round_id, row[7])):
            items, quantities = json.loads(bundles)[bundle_index]
            allocated.update(dict(zip(items, quantities, strict=True)))
            won[digest] = bundle_index
        items = [ItemPublic(item=item, label=label, resource=resource, region=region,
                            provider=provider, capacity_units=capacity,
                            allocated_units=allocated[item], reserve_price_micro_usd=reserve,
                            clearing_price_micro_usd=price)
                 for item, label, resource, region, provider, capacity, reserve, price
                 in self.db.execute(_ITEMS, (round_id,))]
        bids = [_bid(bid, won) for bid in self.db.execute(_BIDS, (round_id,))]
        reasons = dict(sorted(Counter(b.reason for b in bids if b.reason).items()))
        shown = [b for b in bids if reason in (None, b.reason)]
        return RoundPublic(block=block, timestamp=now, round=summary, items=items,
                           reasons=reasons, reason=reason, bids=shown)

    def prices(self) -> PricesPublic:
        """Every clearing and trade price per unit, and the index of each resource and
        region."""
        block, now = self._head()
        points = price_points(self.db)
        markets = sorted({(p.resource, p.region) for p in points})
        index = sorted((i for market in markets for i in price_index(points, *market)),
                       key=lambda i: i.timestamp)
        return PricesPublic(
            block=block, timestamp=now,
            prices=[PricePointPublic(item=p.item, resource=p.resource, region=p.region,
                                     round=p.round_id, timestamp=p.timestamp,
                                     source=p.source.value,
                                     price_per_unit_micro_usd=p.price_per_unit_micro_usd,
                                     units=p.units) for p in points],
            index=[IndexPointPublic(resource=i.resource, region=i.region, timestamp=i.timestamp,
                                    index_micro_usd=i.index_micro_usd,
                                    clearing_micro_usd=i.clearing_micro_usd,
                                    trade_median_micro_usd=i.trade_median_micro_usd,
                                    trade_count=i.trade_count,
                                    excluded_trade_count=i.excluded_trade_count)
                   for i in index])


def _round_row(row: tuple[int, ...], now: int) -> RoundRowPublic:
    (round_id, policy, commit, reveal, post, challenge_end, window, standing, welfare, status,
     bound, priced_version, closed, items, committed, revealed, winners) = row
    phase = phase_at(commit, reveal, post, challenge_end, window, priced_version is not None,
                     standing, now)
    # A bound below the welfare bounds nothing: the auctioneer claimed none.
    gap = (None if welfare is None or bound is None or bound < welfare
           else (bound - welfare) / max(welfare, 1))
    return RoundRowPublic(
        round=round_id, phase="closed" if closed else phase.name.lower(), policy=policy,
        commit_deadline=commit, reveal_deadline=reveal, post_deadline=post,
        challenge_end=challenge_end, items=items, bids_committed=committed,
        bids_revealed=revealed, winners=winners,
        solver_status=None if status is None else SolverStatus(status).name.lower(),
        welfare_micro_usd=welfare, bound_micro_usd=bound, gap=gap,
        priced=priced_version is not None, closed=bool(closed))


def _bid(row: tuple[object, ...], won: dict[bytes, int]) -> BidPublic:
    """Won (in the standing result), lost (with its reason, once the round closed),
    unrevealed, or pending (revealed, in a round not closed yet)."""
    digest, bidder, max_value, revealed, payment, reason, bundle, item, detail = row
    assert isinstance(digest, bytes)
    outcome: Outcome = "pending"
    if digest in won:
        outcome, bundle = "won", won[digest]
    elif reason is not None:
        outcome = "lost"
    elif not revealed:
        outcome = "unrevealed"
    return BidPublic.model_validate(
        {"bid": "0x" + digest.hex(), "bidder": bidder, "max_value_micro_usd": max_value,
         "outcome": outcome, "bundle": bundle, "payment_micro_usd": payment, "reason": reason,
         "item": item, "detail": detail})
