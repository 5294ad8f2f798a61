"""A primal heuristic for winner determination: iterated local search over the packing problem.

The moves are those of the weighted-independent-set local searches (Andrade, Resende & Werneck,
"Fast local search for the maximum independent set problem", J. Heuristics 2012; Nogueira,
Pinheiro & Subramanian's ILS-VND, Optim. Letters 2018), generalised from a conflict graph to
the rows of `presolve.Problem`, so that XOR bids, multi-unit capacities, costlier supply steps,
equity reservations and risk caps all hold:

- insertion, the (ω,1)-swap: fill a bundle and empty, in each row it overfills, the bundles
  that free the needed units at the least value per unit, if that gains welfare. Where every
  row holds one unit (a CATS good, an XOR) this empties exactly its neighbours in the conflict
  graph, as in the papers;
- the (1,2)-swap: empty one bundle and fill two or more of the bundles that then fit, if that
  gains welfare;
- perturbation: force one bundle in, most often one near the last bundle forced in, since a
  change far from the last one undoes nothing the local search just settled; then local search
  only around what changed, and keep the result if it is no worse, undoing it otherwise. After
  `_PATIENCE` perturbations without a new best, two bundles are forced in and the result is
  kept whatever it is worth, to leave a local optimum the single moves cannot. After
  `_RETURN` perturbations without a new best the search goes back to the best packing: the
  kept perturbations had drifted 800-2,600 USD below it on CATS arbitrary.

Given a seed and an iteration budget the search is deterministic; a deadline, if it comes
first, cuts it short.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from market.presolve import Problem

_NEAR = 0.5  # share of perturbations that force in a bundle near the last one forced in
_PATIENCE = 50  # iterations without a new best before a stronger perturbation is kept anyway
_RETURN = 1_000  # iterations without a new best before the search goes back to the best
_SWAP_FIRSTS = 8  # columns a (1,2)-swap tries first: keeps it linear in the candidates


@dataclass(frozen=True)
class Packing:
    columns: list[int]  # filled columns of the problem, ascending
    welfare: int  # their net value minus the premiums of the costlier supply they need


def iterated_local_search(problem: Problem, seed: int, iterations: int,
                          seconds: float = float("inf"), start: list[int] | None = None,
                          improved: Callable[[Packing], None] | None = None) -> Packing:
    """The best packing found in `iterations` perturbations (or `seconds`) from `start`, which
    must be feasible (default: nothing filled, grown by insertions into a local optimum).
    `improved` is told each new best as it is found."""
    deadline = time.monotonic() + seconds
    search = _Search(problem, random.Random(seed))
    for j in start or []:
        search.add(j)
    search.descend(search.by_density())
    best = Packing(sorted(search.chosen), search.welfare)
    if improved is not None:
        improved(best)
    stale = since_best = 0
    for _ in range(iterations):
        if time.monotonic() > deadline:
            break
        before = search.welfare
        search.journal.clear()
        strong = stale >= _PATIENCE
        forced: set[int] = set()
        evicted: set[int] = set()
        for _ in range(2 if strong else 1):
            if len(search.chosen) == len(search.net):
                break
            j = search.pick()
            forced.add(j)
            evicted |= search.force(j)
        if not forced:
            break  # every column is filled
        search.descend(sorted(search.neighbours(evicted) | forced))
        if search.welfare > best.welfare:
            best = Packing(sorted(search.chosen), search.welfare)
            if improved is not None:
                improved(best)
            stale = since_best = 0
            continue
        stale = 0 if strong else stale + 1
        since_best += 1
        if since_best >= _RETURN:
            search.restore(best.columns)
            stale = since_best = 0
        elif search.welfare < before and not strong:
            search.rollback(0)
    return best


class _Search:
    """A packing and the moves on it; every change is journaled so that it can be undone."""

    def __init__(self, problem: Problem, rng: random.Random) -> None:
        self.rows = problem.rows
        self.net = [column.net for column in problem.columns]
        self.capacity = [row.capacity for row in problem.rows]
        self.rows_of: list[list[tuple[int, int]]] = [[] for _ in problem.columns]
        for r, row in enumerate(problem.rows):
            for j, units in row.terms.items():
                self.rows_of[j].append((r, units))
        # columns whose every row holds at most one filled column (a CATS good, an XOR): to
        # fill one, empty every filled column it shares a row with. The rule below, without
        # its bookkeeping: the same search, 2.2-2.5 times the perturbations a second on CATS
        at_most_one = [row.is_at_most_one for row in problem.rows]
        self.exclusive_rows: list[list[int] | None] = [
            [r for r, _ in rows] if all(at_most_one[r] for r, _ in rows) else None
            for rows in self.rows_of]
        # the at-most-one rows of each column as the bits of one integer, and the bits of those
        # holding a filled column: an exclusive column fits when it shares none, one AND in
        # place of a look at each of its rows (CATS arbitrary 1000×20000 asks 44,000 times a
        # perturbation)
        self.row_bits = [sum(1 << r for r, _ in rows if at_most_one[r]) for rows in self.rows_of]
        self.held = 0
        self.used = [0] * len(problem.rows)
        self.members: list[set[int]] = [set() for _ in problem.rows]  # filled columns per row
        self.chosen: set[int] = set()
        self.stepped = any(row.steps for row in problem.rows)
        self.welfare = 0
        self.journal: list[tuple[bool, int]] = []  # (filled, column), oldest first
        self.last = -1  # the column last forced in
        self.rng = rng
        # each column's place in the order most valuable first (ties: lowest index), so that
        # sorting by it calls no Python function per column
        by_value = sorted(range(len(self.net)), key=lambda k: (-self.net[k], k))
        self.value_rank = [0] * len(self.net)
        for place, k in enumerate(by_value):
            self.value_rank[k] = place

    # Changes

    def add(self, j: int) -> None:
        for r, units in self.rows_of[j]:
            if self.rows[r].steps:
                self.welfare -= self.rows[r].premium(self.used[r], units)
            self.used[r] += units
            self.members[r].add(j)
        self.held |= self.row_bits[j]
        self.welfare += self.net[j]
        self.chosen.add(j)
        self.journal.append((True, j))

    def remove(self, j: int) -> None:
        for r, units in self.rows_of[j]:
            self.used[r] -= units
            self.members[r].discard(j)
            if self.rows[r].steps:
                self.welfare += self.rows[r].premium(self.used[r], units)
        self.held &= ~self.row_bits[j]
        self.welfare -= self.net[j]
        self.chosen.discard(j)
        self.journal.append((False, j))

    def rollback(self, mark: int) -> None:
        """Undoes the changes journaled since `mark`, the journal's length then."""
        for filled, j in reversed(self.journal[mark:]):
            if filled:
                self.remove(j)
            else:
                self.add(j)
        del self.journal[mark:]

    def restore(self, columns: list[int]) -> None:
        """Makes `columns` the packing."""
        wanted = set(columns)
        for j in sorted(self.chosen - wanted):
            self.remove(j)
        for j in sorted(wanted - self.chosen):
            self.add(j)

    # Moves

    def evictions(self, j: int, worth: float = float("inf")) -> list[int] | None:
        """The filled columns to empty so that `j` fits: in each row it overfills, those that
        free the units at the least value per unit. None once they are worth more than
        `worth`, where no supply step's premium could make up for it."""
        exclusive = self.exclusive_rows[j]
        if exclusive is not None:
            blocking: set[int] = set()
            lost = 0
            for r in exclusive:
                for k in self.members[r]:
                    if k not in blocking:
                        blocking.add(k)
                        lost += self.net[k]
                        if lost >= worth and not self.stepped:
                            return None
            return list(blocking)
        freed: dict[int, int] = {}
        evicted: list[int] = []
        lost = 0
        for r, units in self.rows_of[j]:
            over = self.used[r] - freed.get(r, 0) + units - self.capacity[r]
            if over <= 0:
                continue
            terms, members = self.rows[r].terms, self.members[r]
            for k in members if len(members) == 1 else sorted(
                    (k for k in members if k not in evicted),
                    key=lambda k: (self.net[k] / terms[k], k)):
                evicted.append(k)
                lost += self.net[k]
                for r2, units2 in self.rows_of[k]:
                    freed[r2] = freed.get(r2, 0) + units2
                over -= terms[k]
                if over <= 0:
                    break
            if lost >= worth and not self.stepped:
                return None
        return evicted

    def insertion_gain(self, j: int, evicted: list[int]) -> int:
        premiums = 0
        if self.stepped:
            change: dict[int, int] = {}
            for k in evicted:
                for r, units in self.rows_of[k]:
                    change[r] = change.get(r, 0) - units
            for r, units in self.rows_of[j]:
                change[r] = change.get(r, 0) + units
            premiums = sum(self.rows[r].premium(0, self.used[r] + delta)
                           - self.rows[r].premium(0, self.used[r])
                           for r, delta in change.items() if self.rows[r].steps)
        return self.net[j] - sum(self.net[k] for k in evicted) - premiums

    def try_insert(self, j: int) -> bool:
        """The (ω,1)-swap: fills `j` if that gains welfare."""
        evicted = self.evictions(j, self.net[j])
        if evicted is None or self.insertion_gain(j, evicted) <= 0:
            return False
        for k in evicted:
            self.remove(k)
        self.add(j)
        return True

    def try_swap(self, u: int) -> bool:
        """The (1,2)-swap: empties `u` and fills two or more of the columns that then fit, if
        that gains welfare. Each of the most valuable few that fit is tried as the first, the
        rest filled greedily after it: greedy alone misses the pair when the best single
        column blocks it."""
        before = self.welfare
        mark = len(self.journal)
        self.remove(u)
        fitting = self.most_valuable_first(
            k for k in self.neighbours({u}) if k != u and self._fits(k))
        best: list[int] = []
        best_welfare = before
        for first in fitting[:_SWAP_FIRSTS]:
            inner = len(self.journal)
            filled = self.fill([first, *fitting])
            if len(filled) >= 2 and self.welfare > best_welfare:
                best, best_welfare = filled, self.welfare
            self.rollback(inner)
        if not best:
            self.rollback(mark)
            return False
        for k in best:
            self.add(k)
        return True

    def force(self, j: int) -> set[int]:
        """Fills `j` whatever it costs: the perturbation. The columns emptied."""
        evicted = self.evictions(j) or []
        for k in evicted:
            self.remove(k)
        self.add(j)
        self.last = j
        return set(evicted)

    def fill(self, candidates: list[int]) -> list[int]:
        """Fills, in the order given, the candidates that fit without emptying anything and pay
        for the costlier supply they need; those filled."""
        return [k for k in candidates if self._fits(k) and self._fill(k)]

    def descend(self, queue: list[int]) -> None:
        """Insertions and (1,2)-swaps until neither gains. Around each change, the columns that
        fit outright are filled first, most valuable first: an (ω,1)-swap tried before them
        would put back the large bundle a perturbation just took out, before the smaller ones
        that beat it together had a chance. Only the neighbours of emptied columns go back in
        the queue, with the filled ones: a filled column only makes its neighbours harder to
        fill."""
        self.fill(self.most_valuable_first(queue))
        pending = deque(queue)
        queued = set(queue)
        while pending:
            j = pending.popleft()
            queued.discard(j)
            mark = len(self.journal)
            if not (self.try_swap(j) if j in self.chosen else self.try_insert(j)):
                continue
            changes = self.journal[mark:]
            near = self.most_valuable_first(
                self.neighbours({k for filled, k in changes if not filled}))
            self.fill(near)
            for k in [*near, *(k for filled, k in changes if filled)]:
                if k not in queued:
                    queued.add(k)
                    pending.append(k)

    # Choices

    def pick(self) -> int:
        """An empty column to force in: near the last one forced in, or anywhere."""
        if self.last >= 0 and self.rng.random() < _NEAR:
            near = sorted(self.neighbours({self.last}) - self.chosen)
            if near:
                return self.rng.choice(near)
        while True:
            j = self.rng.randrange(len(self.net))
            if j not in self.chosen:
                return j

    def neighbours(self, columns: set[int]) -> set[int]:
        """The columns sharing a row with any of `columns`, those included."""
        near = set(columns)
        for j in columns:
            for r, _ in self.rows_of[j]:
                near.update(self.rows[r].terms)
        return near

    def most_valuable_first(self, columns: Iterable[int]) -> list[int]:
        return sorted(columns, key=self.value_rank.__getitem__)

    def by_density(self) -> list[int]:
        """The empty columns, by net value per share of the capacity they take, highest
        first: the order greedy packing uses."""
        share = [sum(units / max(self.capacity[r], 1) for r, units in rows)
                 for rows in self.rows_of]
        return sorted((j for j in range(len(self.net)) if j not in self.chosen),
                      key=lambda j: (-self.net[j] / max(share[j], 1e-9), j))

    def _fits(self, k: int) -> bool:
        if k in self.chosen:
            return False
        if self.exclusive_rows[k] is not None:
            return not self.held & self.row_bits[k]
        return all(self.used[r] + units <= self.capacity[r] for r, units in self.rows_of[k])

    def _fill(self, k: int) -> bool:
        """Fills `k` if it pays for the costlier supply it needs."""
        if self.insertion_gain(k, []) <= 0:
            return False
        self.add(k)
        return True
