"""The dashboard's reads of the index: the rounds, one round with its items and bids, the
prices and their index, the futures, the oracle's verdicts, the safety vault's moves, the
datasets' privacy budgets, the market's health. Only
the store is read, never the chain, so a page costs SQLite queries alone and is as fresh as
the indexer's last block."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from chain.bid import purpose_name
from chain.exchange import Side
from chain.ledger import category_names
from chain.settlement import Phase, SolverStatus
from chain.verdict import Fault
from market.book import Entry, depth, ranked, why_dead
from market.errors import MarketError
from market.health import volatility
from market.price_history import PriceHistory
from market.prices import DEFAULT_WINDOW_SECONDS, Source
from service import orders
from service.dashboard_models import (
    AccountSafetyPublic,
    BidPublic,
    BookDepthPublic,
    BudgetOfferPublic,
    BudgetPointPublic,
    BudgetsPublic,
    DatasetBudgetPublic,
    FutureItemPublic,
    FuturePublic,
    FuturesPublic,
    FutureStatus,
    ItemHealthPublic,
    ItemPublic,
    MarketHealthPublic,
    Outcome,
    PricePointPublic,
    PricesPublic,
    RoundIdlePublic,
    RoundPublic,
    RoundRowPublic,
    RoundSolvePublic,
    RoundsPublic,
    SafetyPublic,
    VaultMovePublic,
    VerdictPublic,
    VerdictsPublic,
)
from service.errors import RoundNotFound, ServiceError
from service.models import ItemPricesPublic, LevelPublic, PriceIndexPublic, PriceRecordPublic
from service.price_records import price_history
from service.store import meta_int

T = TypeVar("T")
MAX_ROUNDS = 100
MAX_BOOKS = 20  # books whose depth the prices page shows, newest round first
DEPTH_LEVELS = 5
MAX_ROWS = 500  # rows of a long table on a page: futures, verdicts, prices, vault moves

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

# A future's status as the page names it (an unclaimed future is `won`), and who holds it:
# its redeemer, the token's holder, or the winner that has not claimed it.
_FUTURE_ROWS = """
SELECT f.future_id, f.round_id,
       CASE WHEN f.status != 'future' THEN f.status WHEN f.claimed THEN 'claimed' ELSE 'won' END
         AS status,
       COALESCE(f.redeemer, f.holder, CASE WHEN f.claimed = 0 THEN f.bidder END) AS holder,
       f.payment_micro_usd, f.delivery_end
FROM futures f
"""
_FUTURES_MATCHING = f"""
FROM ({_FUTURE_ROWS})
WHERE (:status IS NULL OR status = :status) AND (:holder IS NULL OR lower(holder) = :holder)
  AND (:round IS NULL OR round_id = :round)
"""
_FUTURES = f"SELECT * {_FUTURES_MATCHING} ORDER BY round_id DESC, future_id LIMIT :limit"
_FUTURE_ITEMS = """
SELECT fi.future_id, fi.item, a.label, fi.units FROM future_items fi
JOIN asks a ON a.round_id = fi.round_id AND a.item = fi.item
WHERE fi.future_id IN ({marks}) ORDER BY fi.item
"""
# The clauses learned only while they still prove the verdict's hash.
_VERDICTS = """
SELECT v.job_id, f.round_id, v.outcome, v.fault, v.clauses_hash, c.clauses, c.node, v.signers,
       v.paid, v.paid_micro_usd, v.stake_burned_wei, v.bond_burned_wei, v.decided_at
FROM verdicts v JOIN futures f ON f.future_id = v.job_id
LEFT JOIN verdict_clauses c ON c.job_id = v.job_id AND c.clauses_hash = v.clauses_hash
ORDER BY v.decided_at DESC, v.job_id LIMIT ?
"""
_DATASETS = """
SELECT dataset_id, owner, content_hash, total_micro_epsilon, categories, registered_at
FROM datasets ORDER BY registered_at, dataset_id
"""
_BUDGET_MOVES = """
SELECT timestamp, dataset_id, kind, amount_micro_epsilon FROM budget_moves
ORDER BY block, log_index, position
"""
# Each (round, item) with an unexpired order listed under it: the books a spread may come from.
_BOOKS = """
SELECT DISTINCT COALESCE(fi.round_id, o.round_id), COALESCE(fi.item, o.item), a.label
FROM orders o LEFT JOIN future_items fi ON fi.future_id = o.future_id
JOIN asks a ON a.round_id = COALESCE(fi.round_id, o.round_id) AND a.item = COALESCE(fi.item, o.item)
WHERE o.expires_at >= ?
"""
_CLOSED_ASKS = """
SELECT a.round_id, a.item, a.label, a.capacity_units FROM asks a
WHERE a.round_id IN (SELECT round_id FROM rounds WHERE closed = 1 ORDER BY round_id DESC LIMIT ?)
ORDER BY a.round_id DESC, a.item
"""
_VAULT_MOVES = """
SELECT block, timestamp, account, kind, amount_wei, ready_at FROM vault_moves
ORDER BY block, log_index
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
        self._cache: dict[str, tuple[tuple[int, str | None], Any]] = {}

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
        allocated, won = self._allocated(round_id, row[7])
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

    def _allocated(self, round_id: int, version: int) -> tuple[Counter[int], dict[bytes, int]]:
        """The units of each item the round's result `version` allocates, and the bundle each
        of its winners won."""
        allocated: Counter[int] = Counter()
        won: dict[bytes, int] = {}
        for digest, bundle_index, bundles in self.db.execute(_AWARDED, (round_id, version)):
            items, quantities = json.loads(bundles)[bundle_index]
            allocated.update(dict(zip(items, quantities, strict=True)))
            won[digest] = bundle_index
        return allocated, won

    def _per_block(self, name: str, work: Callable[[], T]) -> T:
        """`work()`'s answer, worked out once per indexed block: for the views that read a
        whole history (the index, every vault move), which only a new block changes."""
        block, _ = self._head()
        stored_hash = self.db.execute(
            "SELECT value FROM meta WHERE key = 'last_block_hash'").fetchone()
        key = (block, None if stored_hash is None else str(stored_hash[0]))
        held = self._cache.get(name)
        if held is None or held[0] != key:
            held = self._cache[name] = key, work()
        return cast(T, held[1])

    def prices(self) -> PricesPublic:
        """Every clearing and trade price per unit, the index of each resource and region,
        and the depth of the relay's books (judged now: orders come and expire between
        blocks)."""
        history = self._per_block("prices", self._worked_out_prices)
        return history.model_copy(update={"books": self._depths(self._head()[1])})

    def _worked_out_prices(self) -> PricesPublic:
        block, now = self._head()
        history = self.price_history()
        points, index = history.points, history.index()
        return PricesPublic(
            block=block, timestamp=now,
            prices=[PricePointPublic(item=p.item, resource=p.resource, region=p.region,
                                     round=p.round_id, timestamp=p.timestamp,
                                     source=p.source.value,
                                     price_per_unit_micro_usd=p.price_per_unit_micro_usd,
                                     units=p.units) for p in points],
            index=index)

    def price_history(self) -> PriceHistory:
        """Every price record indexed and the label of every item offered, read once per
        indexed block."""
        return self._per_block("price_history", lambda: price_history(self.db))

    def item_prices(self, item: str) -> ItemPricesPublic:
        """The price records of the item `item` names (its label, or `ROUND:INDEX`), oldest
        first: what `rcm market prices` reads from the chain."""
        history = self.price_history()
        try:
            label = history.label_of(item)
        except MarketError as exc:
            raise ServiceError(exc.reason, field=exc.field) from None
        return ItemPricesPublic(item=label, prices=[PriceRecordPublic.of(point)
                                                    for point in history.series(label)])

    def price_index(self, resource: str | None = None, region: str | None = None
                    ) -> PriceIndexPublic:
        """The index of each resource and region (of `resource`, in `region`, when given) in
        time order: what `rcm market index` reads from the chain."""
        try:
            series = self.price_history().index(resource, region)
        except MarketError as exc:
            raise ServiceError(exc.reason, field=exc.field) from None
        return PriceIndexPublic(window_seconds=DEFAULT_WINDOW_SECONDS, index=series)

    def futures(self, holder: str | None = None, status: FutureStatus | None = None,
                round_id: int | None = None) -> FuturesPublic:
        """The latest `MAX_ROWS` futures, of `holder`, in `status` and of round `round_id` when
        given, and how many match: a round's futures are all listed however many later
        rounds issued."""
        block, now = self._head()
        statuses = dict(self.db.execute(
            f"SELECT status, COUNT(*) FROM ({_FUTURE_ROWS}) GROUP BY status ORDER BY status"))
        wanted = {"status": status, "round": round_id, "limit": MAX_ROWS,
                  "holder": None if holder is None else holder.lower()}
        (matching,) = self.db.execute(f"SELECT COUNT(*) {_FUTURES_MATCHING}", wanted).fetchone()
        rows = self.db.execute(_FUTURES, wanted).fetchall()
        items: dict[bytes, list[FutureItemPublic]] = defaultdict(list)
        marks = ",".join("?" * len(rows))
        for future_id, item, label, units in self.db.execute(
                _FUTURE_ITEMS.format(marks=marks), [row[0] for row in rows]):
            items[future_id].append(FutureItemPublic(item=item, label=label, units=units))
        futures = [FuturePublic.model_validate(
            {"future": "0x" + future_id.hex(), "round": future_round, "status": shown_status,
             "holder": shown_holder, "items": items[future_id], "payment_micro_usd": payment,
             "delivery_end": delivery_end})
            for future_id, future_round, shown_status, shown_holder, payment, delivery_end
            in rows]
        return FuturesPublic(block=block, timestamp=now, holder=holder, status=status,
                             round=round_id, statuses=statuses, matching=matching,
                             futures=futures)

    def verdicts(self) -> VerdictsPublic:
        """The latest verdicts (and time-outs) on redeemed futures, newest first."""
        block, now = self._head()
        verdicts = [VerdictPublic.model_validate(
            {"job": "0x" + job_id.hex(), "round": round_id, "outcome": outcome,
             "fault": None if fault is None else Fault(fault).name.lower(),
             "clauses_hash": None if clauses is None else "0x" + clauses.hex(),
             "failed_clauses": [] if outcome == "compliant" else (
                 None if learned is None else json.loads(learned)),
             "clauses_from": node, "signers": json.loads(signers), "paid": paid,
             "paid_micro_usd": paid_micro_usd, "stake_burned_wei": int(stake),
             "provider_slash_wei": int(bond), "decided_at": decided_at})
            for job_id, round_id, outcome, fault, clauses, learned, node, signers, paid,
            paid_micro_usd, stake, bond, decided_at in self.db.execute(_VERDICTS, (MAX_ROWS,))]
        return VerdictsPublic(block=block, timestamp=now, verdicts=verdicts)

    def safety(self) -> SafetyPublic:
        """Every move of CST through the safety vault, and each account's total per kind."""
        return self._per_block("safety", self._worked_out_safety)

    def _worked_out_safety(self) -> SafetyPublic:
        block, now = self._head()
        moves = [VaultMovePublic(block=number, timestamp=timestamp, account=account, kind=kind,
                                 amount_wei=int(amount), ready_at=ready_at)
                 for number, timestamp, account, kind, amount, ready_at
                 in self.db.execute(_VAULT_MOVES)]
        totals: dict[str, Counter[str]] = defaultdict(Counter)
        for move in moves:
            totals[move.account][move.kind] += move.amount_wei
        accounts = [AccountSafetyPublic(account=account, totals_wei=dict(sorted(kinds.items())))
                    for account, kinds in sorted(totals.items())]
        return SafetyPublic(block=block, timestamp=now, accounts=accounts, moves=moves)


    def budgets(self) -> BudgetsPublic:
        """Every dataset's ε registered, held, reserved and consumed, now and after each move
        of its reserve; its consents, categories and open offers."""
        block, now = self._head()
        datasets = self.db.execute(_DATASETS).fetchall()
        purposes: dict[bytes, list[str]] = defaultdict(list)
        for dataset, purpose in self.db.execute(
                "SELECT dataset_id, purpose FROM consents WHERE consented = 1"):
            purposes[dataset].append(purpose_name(purpose))
        offers: dict[bytes, list[BudgetOfferPublic]] = defaultdict(list)
        for dataset, seller, amount, price in self.db.execute(
                "SELECT * FROM budget_offers ORDER BY seller"):
            if int(amount) > 0:
                offers[dataset].append(BudgetOfferPublic(
                    seller=seller, amount_micro_epsilon=int(amount),
                    price_micro_usd_per_epsilon=int(price)))
        total = {row[0]: row[3] for row in datasets}
        reserved: Counter[bytes] = Counter()
        consumed: Counter[bytes] = Counter()

        def point(dataset: bytes, timestamp: int) -> BudgetPointPublic:
            return BudgetPointPublic(
                dataset="0x" + dataset.hex(), timestamp=timestamp,
                held_micro_epsilon=total[dataset] - reserved[dataset] - consumed[dataset],
                reserved_micro_epsilon=reserved[dataset],
                consumed_micro_epsilon=consumed[dataset])

        history = [point(row[0], row[5]) for row in datasets]
        for timestamp, dataset, kind, amount in self.db.execute(_BUDGET_MOVES):
            reserved[dataset] += amount if kind == "reserved" else -amount
            consumed[dataset] += amount if kind == "consumed" else 0
            history.append(point(dataset, timestamp))
        shown = [DatasetBudgetPublic(
            **point(dataset, now).model_dump(exclude={"timestamp"}), owner=owner,
            content_hash="0x" + content.hex(), registered_at=registered_at,
            registered_micro_epsilon=registered, purposes=sorted(purposes[dataset]),
            categories=sorted(category_names(categories)),
            offers=sorted(offers[dataset], key=lambda o: o.price_micro_usd_per_epsilon))
            for dataset, owner, content, registered, categories, registered_at in datasets]
        return BudgetsPublic(block=block, timestamp=now, datasets=shown,
                             history=sorted(history, key=lambda p: p.timestamp))

    def market(self) -> MarketHealthPublic:
        """Per item label: its clearing prices' volatility, its book's spread, its idle
        capacity; and how often the auctioneer claimed an optimal solve."""
        block, now = self._head()
        clearing: dict[str, list[int]] = defaultdict(list)
        for p in self.price_history().points:
            if p.source is Source.CLEARING:
                clearing[p.item].append(p.price_per_unit_micro_usd)
        idle = self._idle()
        offered: Counter[str] = Counter()
        allocated: Counter[str] = Counter()
        for row in idle:
            offered[row.label] += row.offered_units
            allocated[row.label] += row.allocated_units
        sides = self._best_sides(now)
        listed = {label for (label,) in self.db.execute(
            "SELECT DISTINCT label FROM asks WHERE round_id IN"
            " (SELECT round_id FROM rounds ORDER BY round_id DESC LIMIT ?)", (MAX_ROUNDS,))}
        labels = sorted({*listed, *clearing, *offered, *sides})
        items = []
        for label in labels:
            bid, ask = sides.get(label, (None, None))
            items.append(ItemHealthPublic(
                label=label, prices=len(clearing[label]), volatility=volatility(clearing[label]),
                best_bid_micro_usd=bid, best_ask_micro_usd=ask,
                spread_micro_usd=None if bid is None or ask is None else ask - bid,
                offered_units=offered[label], allocated_units=allocated[label],
                idle_units=offered[label] - allocated[label]))
        claimed = [_round_row(row, now) for row in self.db.execute(
            _ROUNDS + " WHERE r.solver_status IS NOT NULL ORDER BY r.round_id DESC LIMIT ?",
            (MAX_ROUNDS,))]
        optimal_status = SolverStatus.OPTIMAL.name.lower()
        optimal = sum(r.solver_status == optimal_status for r in claimed)
        return MarketHealthPublic(
            block=block, timestamp=now, items=items, claimed_rounds=len(claimed),
            optimal_share=optimal / len(claimed) if claimed else None,
            not_optimal=[RoundSolvePublic(round=r.round, solver_status=r.solver_status, gap=r.gap)
                         for r in claimed if r.solver_status not in (None, optimal_status)],
            idle=idle)

    def _idle(self) -> list[RoundIdlePublic]:
        """Each item of the latest closed rounds: units offered, and allocated by the result
        that stood at closing."""
        standing = dict(self.db.execute("SELECT round_id, standing_version FROM rounds"))
        allocated: dict[int, Counter[int]] = {}
        rows = []
        for round_id, item, label, capacity in self.db.execute(_CLOSED_ASKS, (MAX_ROUNDS,)
                                                               ).fetchall():
            if round_id not in allocated:
                allocated[round_id] = self._allocated(round_id, standing[round_id])[0]
            units = allocated[round_id][item]
            rows.append(RoundIdlePublic(round=round_id, label=label, offered_units=capacity,
                                        allocated_units=units, idle_units=capacity - units))
        return rows

    def _live_books(self, now: int) -> Iterator[tuple[int, int, str, list[Entry]]]:
        """Each (round, item) the relay holds orders for, newest round first, with its label
        and its live entries as the relay's book judges them."""
        for round_id, item, label in sorted(self.db.execute(_BOOKS, (now,)).fetchall(),
                                            reverse=True):
            yield round_id, item, label, [
                found.entry for found in orders.listed(self.db, round_id, item, now)
                if why_dead(found.facts, now) is None]

    def _best_sides(self, now: int) -> dict[str, tuple[int, int]]:
        """Per label, the best live bid's and ask's prices as the relay's book ranks them, of
        the newest round whose book has both."""
        best: dict[str, tuple[int, int]] = {}
        for _, _, label, live in self._live_books(now):
            if label in best:
                continue
            bids = _best(live, Side.BUY)
            asks = _best(live, Side.SELL)
            if bids is not None and asks is not None:
                best[label] = (bids.price_micro_usd, asks.price_micro_usd)
        return best

    def _depths(self, now: int) -> list[BookDepthPublic]:
        """The depth of the newest `MAX_BOOKS` books with live orders, newest round first:
        what the prices page shows beside the prices the book's fills will add to. Books past
        those are never judged."""
        found: list[BookDepthPublic] = []
        for round_id, item, label, live in self._live_books(now):
            if len(found) == MAX_BOOKS:
                break
            if not live:
                continue
            held = depth(live, DEPTH_LEVELS)
            found.append(BookDepthPublic(
                round=round_id, item=item, label=label,
                bids=[LevelPublic.of(level) for level in held.bids],
                asks=[LevelPublic.of(level) for level in held.asks]))
        return found



def _round_row(row: tuple[int, ...], now: int) -> RoundRowPublic:
    (round_id, policy, commit, reveal, post, challenge_end, window, standing, welfare, status,
     bound, priced_version, closed, items, committed, revealed, winners) = row
    phase = phase_at(commit, reveal, post, challenge_end, window, priced_version is not None,
                     standing, now)
    # A claim of optimal makes the bound the welfare, as the clearing house reads it; any
    # other bound below the welfare bounds nothing: the auctioneer claimed none.
    if status == SolverStatus.OPTIMAL:
        bound = welfare
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


def _best(entries: list[Entry], side: Side) -> Entry | None:
    return next(iter(ranked(e for e in entries if e.side is side)), None)
