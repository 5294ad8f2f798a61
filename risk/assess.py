"""The score of a declaration under a rubric, and each factor's share of it: a buyer sees why
its job stakes what it stakes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from risk.declaration import Declaration, ProhibitedPractice, flop_text
from risk.rubric import MAX_RISK_BPS, Addition, Rubric, Threshold

Name = TypeVar("Name", bound=str)

NOT_LISTED = "not in the rubric: adds nothing"


@dataclass(frozen=True)
class Factor:
    """One addition: what it is, the declaration's value it read, and why it costs what it
    does."""

    factor: str
    value: str | int | None  # a FLOP count for a compute line; None for the base
    added_bps: int
    source: str


@dataclass(frozen=True)
class Assessment:
    """The score, how it adds up, and whether the job may run at all."""

    risk_bps: int  # capped at the whole notional
    uncapped_bps: int  # the factors' sum
    factors: tuple[Factor, ...]
    prohibited: tuple[ProhibitedPractice, ...]  # declared practices the rubric refuses

    @property
    def eligible(self) -> bool:
        return not self.prohibited

    @property
    def capped(self) -> bool:
        return self.uncapped_bps > self.risk_bps

    def ineligibility(self, rubric: Rubric) -> str | None:
        """Why no stake lets the job run (its first prohibited practice, with the rubric's
        source for it), or None when it may."""
        if self.eligible:
            return None
        practice = self.prohibited[0]
        return (f"ineligible whatever the stake: {practice} is prohibited "
                f"({rubric.prohibited[practice]})")


def assess(declaration: Declaration, rubric: Rubric) -> Assessment:
    """Base, task, compute lines crossed, data categories, capabilities and release, in that
    order; the score is their sum, capped."""
    compute = rubric.compute
    biological = declaration.mainly_biological_sequences
    factors = (
        Factor("base", None, rubric.base.bps, rubric.base.source),
        *_listed("task", [declaration.task], rubric.tasks),
        *_crossed("model_flop", declaration.model_flop, compute.model_thresholds),
        *_crossed("model_flop", declaration.model_flop,
                  compute.biological_sequence_thresholds if biological else (),
                  " (biological)"),
        *_crossed("job_flop", declaration.job_flop, compute.job_thresholds),
        *_listed("data_category", sorted(declaration.data_categories),
                 rubric.data_categories),
        *_listed("capability", sorted(declaration.capabilities), rubric.capabilities),
        *_listed("release", [declaration.release], rubric.release),
    )
    total = sum(factor.added_bps for factor in factors)
    return Assessment(risk_bps=min(total, MAX_RISK_BPS), uncapped_bps=total, factors=factors,
                      prohibited=tuple(practice for practice in sorted(declaration.practices)
                                       if practice in rubric.prohibited))


def _listed(factor: str, values: Iterable[Name], table: Mapping[Name, Addition]
            ) -> list[Factor]:
    return [Factor(factor, value, entry.bps, entry.source) if (entry := table.get(value))
            else Factor(factor, value, 0, NOT_LISTED) for value in values]


def _crossed(field: str, flop: int, thresholds: Iterable[Threshold], qualifier: str = ""
             ) -> list[Factor]:
    return [Factor(f"{field} > {flop_text(line.flop)}{qualifier}", flop, line.bps, line.source)
            for line in thresholds if flop > line.flop]
