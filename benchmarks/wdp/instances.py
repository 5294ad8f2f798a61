"""The winner-determination benchmark's instance set, and its split into a tuning half and a
held-out half.

Every (distribution, goods×bids) shape has several seeds, so that a change tuned on one
instance of a shape is judged on others of it. The split is fixed by the instances' names
alone: within each shape the seeds are ranked by a hash of their name, the first half (rounded
down) is for tuning and the rest (the larger half when the count is odd) is held out. Each
shape therefore has instances in both halves, and no result can move an instance from one
half to the other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cats_generator import Distribution, generate

Half = Literal["tune", "held-out"]
HALVES: tuple[Half, ...] = ("tune", "held-out")

DISTRIBUTIONS: tuple[Distribution, ...] = ("arbitrary", "regions")
# goods × bids per size class; the ratios run from 3 to 20 bids per good. The team's own
# instances were 100×500 to 1000×20000 at seed 1; the regions 256×1000 and arbitrary
# 1000×20000 are here in both distributions.
SIZES: dict[str, tuple[tuple[int, int], ...]] = {
    "small": ((30, 100), (50, 250)),
    "medium": ((100, 500), (100, 1000), (200, 1000), (256, 1000), (300, 1500)),
    "large": ((1000, 3000), (1000, 5000), (1000, 20000)),
}
SIZES["full"] = SIZES["medium"] + SIZES["large"]
# seed 1 made the team's tuning instances: it is not in the set
SEEDS = (11, 12, 13, 14, 15)


@dataclass(frozen=True)
class Instance:
    distribution: Distribution
    goods: int
    bids: int
    seed: int

    @property
    def name(self) -> str:
        return f"{self.distribution}-{self.goods}x{self.bids}-seed{self.seed}"

    @property
    def shape(self) -> str:
        return f"{self.distribution} {self.goods}×{self.bids}"

    def path(self, directory: Path) -> Path:
        """The instance's CATS file in `directory`, generated the first time it is asked for."""
        path = directory / f"{self.name}.txt"
        if not path.exists():
            partial = path.with_suffix(".partial")
            with partial.open("w") as out:
                generate(self.distribution, self.goods, self.bids, self.seed).write(out)
            partial.rename(path)  # a run stopped mid-write leaves no truncated instance
        return path


def _rank(instance: Instance) -> str:
    return hashlib.sha256(instance.name.encode()).hexdigest()


def instances(sizes: str, half: Half, seeds: tuple[int, ...] = SEEDS) -> list[Instance]:
    """The half's instances of a size class, smallest shape first."""
    chosen = []
    for goods, bids in SIZES[sizes]:
        for distribution in DISTRIBUTIONS:
            shape = sorted((Instance(distribution, goods, bids, seed) for seed in seeds),
                           key=_rank)
            cut = len(shape) // 2
            chosen.extend(sorted(shape[:cut] if half == "tune" else shape[cut:],
                                 key=lambda instance: instance.seed))
    return chosen
