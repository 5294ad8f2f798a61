"""Winner determination as a packing problem, and the reductions a specialist applies before
searching: limits in their smallest units, parallel limits merged, limits that can never bind
(alone, or held by the limits within them, as an aggregate risk cap by its tiers' caps),
bundles dominated by a cheaper subset, and independent components solved apart.

A column is one eligible bundle; a row is a limit some columns share: an item's capacity, its
share open to non-equity classes, a risk cap, or the XOR of one bid's bundles. An item whose
asks have different reserve prices gets costlier supply steps on its capacity row: units beyond
the cheapest ask's are bought at a premium, which keeps welfare exact with one variable per
price level instead of one per ask.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from itertools import accumulate

import numpy as np
import scipy.sparse as sparse
from scipy.sparse import csgraph

from market.eligibility import Screening
from market.model import Market, Tier, step_cost


@dataclass(frozen=True)
class Column:
    bid: int  # index into market.bids
    bundle: int  # index into the bid's bundles
    net: int  # value minus the cost of its units at each item's cheapest reserve price


@dataclass(frozen=True)
class Step:
    premium: int  # micro-USD per unit above the item's cheapest reserve price
    units: int


# A row's supply as runs of (premium per unit, units): free units first, then each costlier
# step. Premiums never fall (asks are taken cheapest first), so the function is convex.
Supply = list[tuple[int, int]]


@dataclass(frozen=True)
class Row:
    name: str
    terms: dict[int, int]  # column -> units (or risk load) it takes
    limit: int
    steps: tuple[Step, ...] = ()  # costlier supply that raises the limit
    is_xor: bool = False  # the row that lets a bid take at most one of its bundles

    @property
    def capacity(self) -> int:
        return self.limit + sum(step.units for step in self.steps)

    @property
    def supply(self) -> Supply:
        return [(0, self.limit), *((step.premium, step.units) for step in self.steps)]

    def premium(self, taken: int, units: int) -> int:
        """What `units` more cost above the cheapest price once `taken` are used."""
        return step_cost(self.supply, taken, units)

    @property
    def is_at_most_one(self) -> bool:
        """Each of its columns fits alone but no two together, so `sum(x) <= 1` says all of
        it. (A column that does not fit alone, which screening keeps out of a market's
        problems, made `sum(x) <= 1` let it in: the portfolio's check caught that.)"""
        if self.steps or len(self.terms) < 2:
            return False
        first, second = sorted(self.terms.values())[:2]
        return first + second > self.limit and max(self.terms.values()) <= self.limit


@dataclass(frozen=True)
class Problem:
    columns: list[Column]
    rows: list[Row]


@dataclass(frozen=True)
class Presolved:
    free: list[Column]  # columns no row constrains: always filled
    components: list[Problem]  # independent parts, smallest first
    dominated: int
    redundant_rows: int
    merged_rows: int  # limits on the same bundles in the same proportions, kept as one


def packing_problem(market: Market, screening: Screening) -> Problem:
    """Columns for the eligible bundles, rows for every limit they share."""
    columns: list[Column] = []
    item_terms: dict[str, dict[int, int]] = defaultdict(dict)
    for index, numbers in screening.eligible.items():
        for number in numbers:
            bundle = market.bids[index].bundles[number]
            cheapest = sum(quantity * market.supply_curve[item_id][0][0]
                           for item_id, quantity in bundle.items.items())
            for item_id, quantity in bundle.items.items():
                item_terms[item_id][len(columns)] = quantity
            columns.append(Column(index, number, bundle.value - cheapest))
    rows = [row for item_id, terms in item_terms.items()
            for row in _item_rows(market, columns, item_id, terms)]
    return Problem(columns, [*rows, *_risk_rows(market, columns), *_xor_rows(columns)])


def _item_rows(market: Market, columns: list[Column], item_id: str, terms: dict[int, int]
               ) -> list[Row]:
    (cheapest, units), *costlier = market.supply_curve[item_id]
    rows = [Row(f"capacity:{item_id}", terms, units,
                tuple(Step(price - cheapest, more) for price, more in costlier))]
    capacity = market.capacity[item_id]
    reserved = market.policy.reserved_units(capacity)
    if reserved:
        open_terms = {j: quantity for j, quantity in terms.items()
                      if market.bids[columns[j].bid].equity_class
                      not in market.policy.equity_classes}
        rows.append(Row(f"unreserved:{item_id}", open_terms, capacity - reserved))
    return rows


def _risk_rows(market: Market, columns: list[Column]) -> list[Row]:
    policy = market.policy
    caps: list[tuple[str, Tier | None, int]] = [
        (f"risk:{tier}", tier, cap) for tier, cap in policy.tier_risk_caps.items()]
    if policy.aggregate_risk_cap is not None:
        caps.append(("risk:aggregate", None, policy.aggregate_risk_cap))
    rows = []
    for name, tier, cap in caps:
        loads = {j: market.risk_load(market.bids[c.bid], market.bids[c.bid].bundles[c.bundle],
                                     tier) for j, c in enumerate(columns)}
        rows.append(Row(name, {j: load for j, load in loads.items() if load}, cap))
    return rows


def _xor_rows(columns: list[Column]) -> list[Row]:
    by_bid: dict[int, list[int]] = defaultdict(list)
    for j, column in enumerate(columns):
        by_bid[column.bid].append(j)
    return [Row(f"xor:{bid}", dict.fromkeys(members, 1), 1, is_xor=True)
            for bid, members in by_bid.items() if len(members) > 1]


def presolve(problem: Problem) -> Presolved:
    """Puts every row in its smallest units and merges parallel ones, drops rows that cannot
    bind and dominated columns until neither finds more, then splits what is left into
    independent components."""
    columns = problem.columns
    normalised = merge_parallel([in_smallest_units(row) for row in problem.rows])
    rows = _binding(normalised, columns)
    redundant = len(normalised) - len(rows)
    alive = set(range(len(columns)))
    dominated = 0
    while losers := _dominated_columns(columns, rows):
        dominated += len(losers)
        alive -= losers
        shrunk = [row if losers.isdisjoint(row.terms) else _without(row, losers) for row in rows]
        rows = _binding(shrunk, columns)
        redundant += len(shrunk) - len(rows)
    constrained = {j for row in rows for j in row.terms}
    free = [columns[j] for j in sorted(alive - constrained)]
    return Presolved(free, _components(columns, rows), dominated, redundant,
                     len(problem.rows) - len(normalised))


def in_smallest_units(row: Row) -> Row:
    """The row divided by the greatest common divisor g of its terms: every bundle takes a
    multiple of g units, so only multiples of g are ever used, and the limit rounds down to
    one (a Chvátal-Gomory cut: 8-GPU nodes against 1,000 GPUs are at most 125 nodes). A unit
    of g that straddles a step boundary costs the premiums of the units it spans, so welfare
    stays exact at every whole allocation."""
    scale = reduce(math.gcd, row.terms.values(), 0)
    if scale <= 1 or row.is_xor:
        return row
    supply: Supply = []
    boundaries = list(accumulate(units for _, units in row.supply))
    unit = 1  # the next unit of g, numbered from 1
    while unit * scale <= row.capacity:
        taken = (unit - 1) * scale
        premium = row.premium(taken, scale)
        step_end = next(end for end in boundaries if end > taken)
        last = max(unit, step_end // scale)  # units wholly inside this step cost the same
        supply.append((premium, last - unit + 1))
        unit = last + 1
    return _row_from_supply(row.name, {j: units // scale for j, units in row.terms.items()},
                            supply)


def merge_parallel(rows: list[Row]) -> list[Row]:
    """Rows with the same terms (in smallest units, as GPUs and the power they draw) as one
    row: it holds the smaller supply, and each unit costs the premiums of both."""
    merged: dict[tuple[tuple[int, int], ...], Row] = {}
    kept: list[Row] = []
    for row in rows:
        if row.is_xor:
            kept.append(row)
            continue
        key = tuple(sorted(row.terms.items()))
        if (twin := merged.get(key)) is None:
            merged[key] = row
        else:
            merged[key] = _row_from_supply(f"{twin.name}+{row.name}", row.terms,
                                           _added(twin.supply, row.supply))
    return [*merged.values(), *kept]


def _added(first: Supply, second: Supply) -> Supply:
    """Unit by unit sum of two supplies, as long as both have units."""
    total: Supply = []
    a, b = list(reversed(first)), list(reversed(second))
    while a and b:
        (premium_a, units_a), (premium_b, units_b) = a.pop(), b.pop()
        units = min(units_a, units_b)
        total.append((premium_a + premium_b, units))
        if units_a > units:
            a.append((premium_a, units_a - units))
        if units_b > units:
            b.append((premium_b, units_b - units))
    return total


def _row_from_supply(name: str, terms: dict[int, int], supply: Supply) -> Row:
    """A row whose free units are the supply's premium-free ones and whose steps are the rest,
    runs of one premium joined."""
    runs: Supply = []
    for premium, units in supply:
        if units and runs and runs[-1][0] == premium:
            runs[-1] = (premium, runs[-1][1] + units)
        elif units:
            runs.append((premium, units))
    limit = runs.pop(0)[1] if runs and runs[0][0] == 0 else 0
    return Row(name, terms, limit, tuple(Step(premium, units) for premium, units in runs))


def _binding(rows: list[Row], columns: list[Column]) -> list[Row]:
    """The rows that can bind: those whose columns can take more than the limit even when
    held by the rows still kept within them. Checked one by one against the rows kept so far,
    so two rows never excuse each other."""
    within = _rows_within(rows, len(columns))
    dropped: set[int] = set()
    for a, row in enumerate(rows):
        if row.is_xor:
            if len(row.terms) < 2:
                dropped.add(a)
            continue
        parts = _disjoint([rows[b] for b in within[a] if b not in dropped])
        if _most_taken(row, parts, columns) <= row.limit:
            dropped.add(a)
    return [row for a, row in enumerate(rows) if a not in dropped]


def _rows_within(rows: list[Row], width: int) -> dict[int, list[int]]:
    """For each row that is not an XOR, the other such rows whose columns are all its own."""
    limits = [r for r, row in enumerate(rows) if not row.is_xor and row.terms]
    within: dict[int, list[int]] = defaultdict(list)
    held = incidence([rows[r] for r in limits], width, with_units=False)
    shared = (held @ held.T).tocoo()
    sizes = np.array([len(rows[r].terms) for r in limits])
    inside = (shared.data == sizes[shared.col]) & (shared.row != shared.col)
    for a, b in zip(shared.row[inside].tolist(), shared.col[inside].tolist(), strict=True):
        within[limits[a]].append(limits[b])
    return within


def _disjoint(rows: list[Row]) -> list[Row]:
    """Rows with no column in common, the largest first."""
    chosen: list[Row] = []
    held: set[int] = set()
    for row in sorted(rows, key=lambda row: -len(row.terms)):
        if held.isdisjoint(row.terms):
            chosen.append(row)
            held |= row.terms.keys()
    return chosen


def _most_taken(row: Row, parts: list[Row], columns: list[Column]) -> int:
    """An upper bound on what the row's columns take. A part, a row within it, holds its
    columns to its capacity scaled by the largest ratio of their terms (a regulator's aggregate
    risk cap is looser than the sum of the tier caps within it); any other column counts at
    its bid's worst, every bid taking its largest bundle here (a bid fills one bundle)."""
    rest = dict(row.terms)
    most = 0
    for part in parts:
        ratio = max(Fraction(row.terms[j], units) for j, units in part.terms.items())
        most += min(math.floor(ratio * part.capacity),
                    _worst_by_bid({j: rest.pop(j) for j in part.terms}, columns))
    return most + _worst_by_bid(rest, columns)


def _worst_by_bid(terms: dict[int, int], columns: list[Column]) -> int:
    worst: dict[int, int] = {}
    for j, units in terms.items():
        bid = columns[j].bid
        worst[bid] = max(worst.get(bid, 0), units)
    return sum(worst.values())


def _dominated_columns(columns: list[Column], rows: list[Row]) -> set[int]:
    """Columns j for which a column k constrained only by at-most-one rows, all of which also
    hold j, is worth at least as much: any allocation with j stays feasible and loses nothing
    when j is swapped for k. Equal twins keep the lower index."""
    amo_rows: dict[int, list[int]] = defaultdict(list)
    other_rows: dict[int, int] = defaultdict(int)
    holders: dict[int, set[int]] = {}
    for r, row in enumerate(rows):
        if row.is_at_most_one:
            holders[r] = set(row.terms)
            for j in row.terms:
                amo_rows[j].append(r)
        else:
            for j in row.terms:
                other_rows[j] += 1
    losers: set[int] = set()
    for k, held in amo_rows.items():
        if other_rows[k]:
            continue
        first, *rest = sorted(held, key=lambda r: len(holders[r]))
        common = holders[first]
        for r in rest:
            if len(common) == 1:
                break  # only k itself is left: it is nobody's subset
            common = common & holders[r]
        for j in common:
            if j == k or columns[j].net > columns[k].net:
                continue
            twin = (columns[j].net == columns[k].net and not other_rows[j]
                    and len(amo_rows[j]) == len(held))
            if not twin or k < j:
                losers.add(j)
    return losers


def _without(row: Row, losers: set[int]) -> Row:
    return Row(row.name, {j: units for j, units in row.terms.items() if j not in losers},
               row.limit, row.steps, row.is_xor)


def _components(columns: list[Column], rows: list[Row]) -> list[Problem]:
    """Connected components of the column-row graph, each renumbered from 0."""
    if not rows:
        return []
    held = incidence(rows, len(columns), with_units=False)
    # columns and rows are the nodes, a row's terms its edges
    graph = sparse.bmat([[None, held], [held.T, None]])
    _, label = csgraph.connected_components(graph, directed=False)
    members: dict[int, list[int]] = defaultdict(list)
    for j in sorted({j for row in rows for j in row.terms}):
        members[label[len(rows) + j]].append(j)
    row_groups: dict[int, list[Row]] = defaultdict(list)
    for r, row in enumerate(rows):
        row_groups[label[r]].append(row)
    if len(members) == 1 and len(next(iter(members.values()))) == len(columns):
        return [Problem(columns, rows)]  # one component holding every column: as it is
    parts = []
    for key, group in members.items():
        local = {j: position for position, j in enumerate(group)}
        parts.append(Problem([columns[j] for j in group],
                             [Row(row.name, {local[j]: units for j, units in row.terms.items()},
                                  row.limit, row.steps, row.is_xor)
                              for row in row_groups[key]]))
    return sorted(parts, key=lambda part: len(part.columns))


def dominance(problem: Problem) -> list[tuple[int, int]]:
    """Pairs (j, k) of bundles of different bids where k takes no more than j from every limit
    and is worth at least as much: an allocation that fills j but no bundle of k's bid stays
    feasible, and loses nothing, when j gives way to k. So some optimum fills j only if it
    fills k's bid, for all pairs at once: each swap raises (welfare, -units taken, -column
    numbers taken), so an optimum where that is highest has no swap left. A market of jobs
    that differ only in value is full of such pairs, and without them a proof must rule out
    every way of filling a site with look-alike jobs."""
    columns = problem.columns
    usage: list[dict[int, int]] = [{} for _ in columns]
    for r, row in enumerate(problem.rows):
        if not row.is_xor:
            for j, units in row.terms.items():
                usage[j][r] = units
    rank = [(column.net, -sum(usage[k].values()), -k) for k, column in enumerate(columns)]
    pairs = []
    for k, needs in enumerate(usage):
        if not needs:
            continue  # held only by its XOR row: presolve's own business
        rarest = min(needs, key=lambda r: len(problem.rows[r].terms))
        for j in problem.rows[rarest].terms:
            if (rank[k] > rank[j] and columns[j].bid != columns[k].bid
                    and all(usage[j].get(r, 0) >= units for r, units in needs.items())):
                pairs.append((j, k))
    return pairs


def incidence(rows: list[Row], width: int, with_units: bool) -> sparse.csr_matrix:
    """Rows × columns matrix of the rows: their units, or 1 where a column is held."""
    lengths = [len(row.terms) for row in rows]
    cols = np.fromiter((j for row in rows for j in row.terms), dtype=np.int64,
                       count=sum(lengths))
    data = (np.fromiter((u for row in rows for u in row.terms.values()), dtype=float,
                        count=len(cols)) if with_units else np.ones(len(cols)))
    return sparse.csr_matrix((data, (np.repeat(np.arange(len(rows)), lengths), cols)),
                             shape=(len(rows), width))
