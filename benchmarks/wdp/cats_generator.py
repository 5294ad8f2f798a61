"""A seeded generator of CATS-style combinatorial auctions: the "arbitrary" and "regions"
distributions of Leyton-Brown, Pearson & Shoham (EC 2000), with uniform private values.

Written from the paper and the defaults of CATS 2.2; the output is the CATS text format, so the
same files can be fed to `rcm auction clear` and to the HiGHS/SCIP peers. Each bidder bids a
bundle grown from goods that complement each other (neighbours on a map for "regions", a random
weighted complement graph for "arbitrary") and up to five substitute bundles of the same size,
tied together by a dummy good (XOR). As in CATS, dominated bids are dropped while generating.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Literal, TextIO

import numpy as np

Distribution = Literal["arbitrary", "regions"]

MAX_GOOD_VALUE = 100.0
MAX_SUBSTITUTES = 5
REMOVE_NEIGHBOUR = 0.1
ADD_DIAGONAL_NEIGHBOUR = 0.2
ADDITIONAL_LOCATION = 0.9
JUMP_PROBABILITY = 0.05
ADDITIVITY = 0.2
DEVIATION = 0.5
BUDGET_FACTOR = 1.5
RESALE_FACTOR = 0.5


@dataclass(frozen=True)
class CatsBid:
    goods: tuple[int, ...]
    price: float
    xor_group: int | None


@dataclass(frozen=True)
class CatsAuction:
    distribution: Distribution
    seed: int
    num_goods: int
    bids: list[CatsBid]

    def write(self, out: TextIO) -> None:
        """The CATS text format: dummy goods follow the real ones, one per XOR group."""
        groups = sorted({b.xor_group for b in self.bids if b.xor_group is not None})
        dummy = {group: self.num_goods + i for i, group in enumerate(groups)}
        out.write(f"% CATS-style {self.distribution} distribution, seed {self.seed}\n")
        out.write(f"goods {self.num_goods}\nbids {len(self.bids)}\ndummy {len(groups)}\n\n")
        for index, bid in enumerate(self.bids):
            goods = [*bid.goods] + ([dummy[bid.xor_group]] if bid.xor_group is not None else [])
            out.write("\t".join([str(index), f"{bid.price:.6g}", *map(str, goods), "#"]) + "\n")


def complement_weights(distribution: Distribution, num_goods: int, rng: np.random.Generator
                       ) -> np.ndarray:
    """How strongly each pair of goods complements: a planar map or a random complete graph."""
    if distribution == "arbitrary":
        upper = np.triu(1.0 - rng.random((num_goods, num_goods)), 1)  # in (0, 1]: none impossible
        return upper + upper.T
    return _region_map(num_goods, rng)


def _region_map(num_goods: int, rng: np.random.Generator) -> np.ndarray:
    """A grid with some horizontal/vertical edges removed and some diagonals added (CATS
    BuildMap), redrawn until no good is isolated."""
    cols = math.ceil(math.sqrt(num_goods))
    while True:
        adjacent = np.zeros((num_goods, num_goods))
        for cell in range(num_goods):
            last_column = cell % cols == cols - 1
            if rng.random() > REMOVE_NEIGHBOUR:
                _connect(adjacent, cell, cell + cols)
            if not last_column and rng.random() > REMOVE_NEIGHBOUR:
                _connect(adjacent, cell, cell + 1)
            if not last_column and rng.random() < ADD_DIAGONAL_NEIGHBOUR:
                if rng.integers(2) == 0:
                    _connect(adjacent, cell, cell + cols + 1)
                else:
                    _connect(adjacent, cell + 1, cell + cols)
        if adjacent.sum(axis=1).all():
            return adjacent


def _connect(adjacent: np.ndarray, a: int, b: int) -> None:
    if a < len(adjacent) and b < len(adjacent):
        adjacent[a, b] = adjacent[b, a] = 1.0


class _Bidder:
    """One bidder's private values and the bundles it grows from them."""

    def __init__(self, distribution: Distribution, common: np.ndarray, weights: np.ndarray,
                 rng: np.random.Generator) -> None:
        spread = DEVIATION * MAX_GOOD_VALUE
        self.private = rng.uniform(-spread, spread, len(common))
        pull = self.private + spread
        self.pull = pull / pull.sum()
        self.jump = JUMP_PROBABILITY if distribution == "regions" else 0.0
        self.common = common
        self.weights = weights
        self.rng = rng

    def first_good(self) -> int:
        return int(self.rng.choice(len(self.pull), p=self.pull))

    def grow(self, bundle: list[int]) -> bool:
        """Adds one good that complements the bundle; False when nothing complements it."""
        num_goods = len(self.pull)
        taken = np.zeros(num_goods, dtype=bool)
        taken[bundle] = True
        if self.rng.random() < self.jump:
            free = np.flatnonzero(~taken)
            bundle.append(int(self.rng.choice(free)))
            return True
        attraction = self.pull * self.weights[bundle].sum(axis=0)
        attraction[taken] = 0.0
        total = attraction.sum()
        if total <= 0.0:
            return False
        bundle.append(int(self.rng.choice(num_goods, p=attraction / total)))
        return True

    def value(self, bundle: list[int]) -> float:
        return float((self.common[bundle] + self.private[bundle]).sum()
                     + len(bundle) ** (1.0 + ADDITIVITY))


def _bidder_bundles(bidder: _Bidder, rng: np.random.Generator) -> list[tuple[list[int], float]]:
    """The bidder's main bundle, then its valid substitutes by decreasing value (CATS §4.2)."""
    bundle = [bidder.first_good()]
    while rng.random() <= ADDITIONAL_LOCATION and bidder.grow(bundle):
        pass
    value = bidder.value(bundle)
    if value <= 0.0:
        return []
    budget = BUDGET_FACTOR * value
    min_resale = RESALE_FACTOR * float(bidder.common[bundle].sum())
    substitutes: list[tuple[list[int], float]] = []
    for start in bundle:
        other = [start]
        while len(other) < len(bundle) and bidder.grow(other):
            pass
        other_value = bidder.value(other)
        if (0.0 <= other_value <= budget and float(bidder.common[other].sum()) >= min_resale
                and set(other) != set(bundle)):
            substitutes.append((other, other_value))
    substitutes.sort(key=lambda pair: -pair[1])
    distinct: list[tuple[list[int], float]] = []
    for other, other_value in substitutes:
        if len(distinct) < MAX_SUBSTITUTES and all(set(other) != set(o) for o, _ in distinct):
            distinct.append((other, other_value))
    return [(bundle, value), *distinct]


def _conflict_key(goods: frozenset[int], xor_group: int | None) -> frozenset[int]:
    """The goods plus the XOR group's dummy good (negative, so it never meets a real one)."""
    return goods | {-1 - xor_group} if xor_group is not None else goods


class _BidPool:
    """Bids kept free of dominance: none has a subset of another's goods at a higher price."""

    def __init__(self) -> None:
        self.bids: list[tuple[frozenset[int], float, int | None] | None] = []
        self.holding: dict[int, set[int]] = {}
        self.alive = 0

    def add(self, goods: frozenset[int], price: float, xor_group: int | None) -> None:
        key = _conflict_key(goods, xor_group)
        hits = Counter(j for g in key for j in self.holding.get(g, ()))
        for j, count in hits.items():
            held = self.bids[j]
            assert held is not None
            if count == len(_conflict_key(held[0], held[2])) and held[1] >= price:
                return
        for j in [j for j, count in hits.items() if count == len(key)]:
            held = self.bids[j]
            assert held is not None
            if price >= held[1]:
                self._remove(j)
        index = len(self.bids)
        self.bids.append((goods, price, xor_group))
        for g in key:
            self.holding.setdefault(g, set()).add(index)
        self.alive += 1

    def _remove(self, index: int) -> None:
        held = self.bids[index]
        assert held is not None
        for g in _conflict_key(held[0], held[2]):
            self.holding[g].discard(index)
        self.bids[index] = None
        self.alive -= 1


def generate(distribution: Distribution, num_goods: int, num_bids: int, seed: int
             ) -> CatsAuction:
    rng = np.random.default_rng(seed)
    weights = complement_weights(distribution, num_goods, rng)
    common = rng.uniform(1.0, MAX_GOOD_VALUE, num_goods)
    pool = _BidPool()
    bidders = 0
    while pool.alive < num_bids:
        bundles = _bidder_bundles(_Bidder(distribution, common, weights, rng), rng)
        if not bundles:
            continue
        xor_group = bidders if len(bundles) > 1 else None
        for goods, price in bundles:
            pool.add(frozenset(goods), price, xor_group)
        bidders += 1
    kept = [bid for bid in pool.bids if bid is not None][:num_bids]
    group_sizes = Counter(group for _, _, group in kept if group is not None)
    bids = [CatsBid(tuple(sorted(goods)), price,
                    group if group is not None and group_sizes[group] > 1 else None)
            for goods, price, group in kept]
    return CatsAuction(distribution, seed, num_goods, bids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("distribution", choices=["arbitrary", "regions"])
    parser.add_argument("--goods", type=int, required=True)
    parser.add_argument("--bids", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generate(args.distribution, args.goods, args.bids, args.seed).write(sys.stdout)


if __name__ == "__main__":
    main()
