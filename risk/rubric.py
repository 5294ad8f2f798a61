"""A regulator's rubric: a versioned TOML file that scores a declaration in basis points of the
notional. Transparent (each number has its source), additive and monotone: every entry only adds,
so more compute, more sensitive data, an added capability or a wider release never lowers a
score. A rubric that is not is refused when it is read, naming the key at fault."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chain.abi_codec import keccak
from chain.validation import first_problem
from risk.declaration import (
    RELEASES,
    Capability,
    DataCategory,
    Flop,
    ProhibitedPractice,
    Release,
    Task,
    flop_text,
)
from risk.errors import RubricError

DEFAULT_RUBRIC = Path(__file__).parent / "rubrics" / "launch.toml"
SHIPPED = DEFAULT_RUBRIC.parent
MAX_RISK_BPS = 10_000  # the whole notional

Bps = Annotated[int, Field(ge=0, le=MAX_RISK_BPS, strict=True)]
Source = Annotated[str, Field(min_length=1)]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Addition(_Entry):
    bps: Bps
    source: Source


class Threshold(_Entry):
    """Adds `bps` once the FLOP count is above `flop`: the regimes draw their lines as
    "greater than"."""

    flop: Flop
    bps: Bps
    source: Source


class Compute(_Entry):
    model_thresholds: tuple[Threshold, ...] = ()  # on model_flop
    biological_sequence_thresholds: tuple[Threshold, ...] = ()  # on model_flop, such models only
    job_thresholds: tuple[Threshold, ...] = ()  # on job_flop


class Rubric(_Entry):
    """Entries a table leaves out add nothing."""

    version: str = Field(min_length=1)
    base: Addition
    tolerance_bps: Bps  # how far the score of what ran may exceed the declared one
    compute: Compute = Compute()
    tasks: dict[Task, Addition] = {}
    data_categories: dict[DataCategory, Addition] = {}
    capabilities: dict[Capability, Addition] = {}
    release: dict[Release, Addition] = {}
    prohibited: dict[ProhibitedPractice, Source] = {}  # practice -> the provision it breaks


def parse_rubric(source: bytes) -> Rubric:
    """The rubric a TOML file's bytes hold; an error names the key path at fault."""
    try:
        document = tomllib.loads(source.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(f"not a TOML file: {exc}", field="rubric") from None
    try:
        rubric = Rubric.model_validate(document)
    except ValidationError as exc:
        path, reason = first_problem(exc)
        raise RubricError(reason, field=path or "rubric") from None
    for name, thresholds in rubric.compute:
        _check_increasing(f"compute.{name}", thresholds)
    _check_widening(rubric.release)
    return rubric


def read_rubric(path: Path = DEFAULT_RUBRIC) -> tuple[Rubric, bytes]:
    """The rubric in the file, and the file's bytes, which `rubric_hash` pins."""
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise RubricError(f"{path}: cannot read ({exc.strerror})", field="rubric") from None
    return parse_rubric(source), source


def rubric_hash(source: bytes) -> bytes:
    """Keccak-256 of the rubric file's bytes, as the chain will register it."""
    return keccak(source)


@cache
def launch_rubric_hash() -> bytes:
    """The hash of the rubric shipped as the launch policy's."""
    return rubric_hash(DEFAULT_RUBRIC.read_bytes())


def find_rubric(digest: bytes, directories: Iterable[Path] = ()) -> Path | None:
    """The TOML file hashing to `digest` in `directories`, or else among the rubrics shipped
    with rcm; None when there is none. The chain keeps only a policy's rubric hash, so whoever
    scores a round's job (a buyer's client, an oracle node) finds the file by it; a file
    edited since it was registered no longer hashes to it, and is not used."""
    held = [path for directory in directories for path in sorted(directory.glob("*.toml"))]
    candidates = [*held, *sorted(SHIPPED.glob("*.toml"))]
    return next((path for path in candidates if rubric_hash(path.read_bytes()) == digest), None)


def _check_increasing(key: str, thresholds: Sequence[Threshold]) -> None:
    for index in range(1, len(thresholds)):
        below, above = thresholds[index - 1].flop, thresholds[index].flop
        if above <= below:
            raise RubricError(f"must be above {key}[{index - 1}].flop ({flop_text(below)}): "
                              "thresholds rise strictly",
                              field=f"{key}[{index}].flop")


def _check_widening(release: Mapping[Release, Addition]) -> None:
    """A wider release adds at least what a narrower one does."""
    for narrower, wider in pairwise(RELEASES):
        least = _bps(release, narrower)
        if _bps(release, wider) < least:
            raise RubricError(f"must be at least release.{narrower}.bps ({least}): a wider "
                              "release never lowers the score", field=f"release.{wider}.bps")


def _bps(release: Mapping[Release, Addition], name: Release) -> int:
    entry = release.get(name)
    return entry.bps if entry else 0
