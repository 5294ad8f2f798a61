"""The score: its factors add up to it, each regime line counts only above it, a prohibited
practice makes a job ineligible, and no added risk ever lowers it, under the launch rubric or
any rubric that loads."""

from __future__ import annotations

from typing import Any, get_args

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from risk.assess import NOT_LISTED, Assessment, assess
from risk.declaration import (
    MAX_FLOP,
    RELEASES,
    TRAINING_TASKS,
    Capability,
    DataCategory,
    Declaration,
    ProhibitedPractice,
    Task,
    read_declaration,
)
from risk.rubric import MAX_RISK_BPS, Compute, Rubric, Threshold, parse_rubric, read_rubric
from tests.risk.conftest import EXAMPLE

LAUNCH, _ = read_rubric()
TASKS: tuple[Task, ...] = get_args(Task)
CATEGORIES: tuple[DataCategory, ...] = get_args(DataCategory)
CAPABILITIES: tuple[Capability, ...] = get_args(Capability)
PRACTICES: tuple[ProhibitedPractice, ...] = get_args(ProhibitedPractice)

# FLOP counts at every scale, and at and around each of the launch rubric's lines.
LINES = sorted({line.flop for _, lines in LAUNCH.compute for line in lines})
flops = st.one_of(st.integers(0, MAX_FLOP), st.integers(0, 30).map(lambda e: 10**e),
                  st.builds(int.__add__, st.sampled_from(LINES), st.integers(-1, 1)))


def _revised(declaration: Declaration, **changes: Any) -> Declaration:
    return Declaration.model_validate(declaration.model_dump() | changes)


def _plain(**fields: Any) -> Declaration:
    """Inference on public data, kept in house: the launch rubric adds nothing to its base."""
    return Declaration.model_validate({
        "task": "inference", "model_parameters": 10**9, "job_flop": 0, "model_flop": 0,
        "data_categories": ["public"], "mainly_biological_sequences": False,
        "capabilities": [], "practices": [], "purpose": "general", "release": "internal",
        **fields})


# Strategies are built once: hypothesis spends most of a draw validating a new one.
_tasks, _releases = st.sampled_from(TASKS), st.sampled_from(RELEASES)
_category_sets = st.frozensets(st.sampled_from(CATEGORIES))
_capability_sets = st.frozensets(st.sampled_from(CAPABILITIES))
_practice_sets = st.frozensets(st.sampled_from(PRACTICES), max_size=1)
_bps = st.integers(0, MAX_RISK_BPS)


@st.composite
def declarations(draw: st.DrawFn) -> Declaration:
    task = draw(_tasks)
    job_flop, model_flop = draw(flops), draw(flops)
    return Declaration(
        task=task, model_parameters=0, job_flop=job_flop,
        model_flop=max(model_flop, job_flop) if task in TRAINING_TASKS else model_flop,
        data_categories=draw(_category_sets), mainly_biological_sequences=draw(st.booleans()),
        capabilities=draw(_capability_sets), practices=draw(_practice_sets),
        purpose="general", release=draw(_releases))


def _table(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(names),
                           st.builds(lambda bps: {"bps": bps, "source": "s"}, _bps))


_task_tables, _category_tables = _table(TASKS), _table(CATEGORIES)
_capability_tables = _table(CAPABILITIES)
_release_bps = st.lists(_bps, min_size=3, max_size=3).map(sorted)
_thresholds = st.lists(st.tuples(flops, _bps), max_size=4, unique_by=lambda line: line[0]).map(
    lambda lines: [{"flop": f, "bps": b, "source": "s"} for f, b in sorted(lines)])


@st.composite
def _rubrics(draw: st.DrawFn) -> Rubric:
    """Any rubric a regulator could publish, read as the chain will read it: from TOML."""
    document = {
        "version": "generated", "tolerance_bps": 0,
        "base": {"bps": draw(_bps), "source": "s"},
        "compute": {"model_thresholds": draw(_thresholds),
                    "biological_sequence_thresholds": draw(_thresholds),
                    "job_thresholds": draw(_thresholds)},
        "tasks": draw(_task_tables), "data_categories": draw(_category_tables),
        "capabilities": draw(_capability_tables),
        "release": {name: {"bps": bps, "source": "s"}
                    for name, bps in zip(RELEASES, draw(_release_bps), strict=True)},
    }
    return parse_rubric(tomli_w.dumps(document).encode())


rubrics = st.one_of(st.just(LAUNCH), _rubrics())


def _never_lower(before: Assessment, after: Assessment) -> None:
    assert after.uncapped_bps >= before.uncapped_bps
    assert after.risk_bps >= before.risk_bps


def test_the_example_scores_base_task_data_and_release_from_the_rubric() -> None:
    scored = assess(read_declaration(EXAMPLE), LAUNCH)
    expected = [("base", None, LAUNCH.base.bps),
                ("task", "fine_tuning", LAUNCH.tasks["fine_tuning"].bps),
                ("data_category", "health", LAUNCH.data_categories["health"].bps),
                ("release", "api", LAUNCH.release["api"].bps)]
    assert [(f.factor, f.value, f.added_bps) for f in scored.factors] == expected
    assert scored.risk_bps == sum(bps for *_, bps in expected)
    assert scored.eligible and not scored.capped


def _compute_lines() -> list[tuple[str, Threshold]]:
    return [(table, line) for table, lines in LAUNCH.compute for line in lines]


@pytest.mark.parametrize(("table", "line"), _compute_lines(),
                         ids=lambda part: part if isinstance(part, str) else None)
def test_each_compute_line_counts_only_above_it(table: str, line: Threshold) -> None:
    alone = LAUNCH.model_copy(update={"compute": Compute(**{table: (line,)})})
    field = "job_flop" if table == "job_thresholds" else "model_flop"
    below, at, above = (assess(_plain(**{field: flop, "mainly_biological_sequences": True}),
                               alone) for flop in (line.flop - 1, line.flop, line.flop + 1))
    assert below.risk_bps == at.risk_bps
    assert above.risk_bps - at.risk_bps == line.bps
    (added,) = [f for f in above.factors if f.factor not in {g.factor for g in at.factors}]
    assert (added.value, added.added_bps, added.source) == (line.flop + 1, line.bps, line.source)


def test_the_biological_line_counts_only_for_models_trained_on_biological_sequences() -> None:
    (line,) = LAUNCH.compute.biological_sequence_thresholds
    general = assess(_plain(model_flop=line.flop + 1), LAUNCH)
    biological = assess(_plain(model_flop=line.flop + 1, mainly_biological_sequences=True),
                        LAUNCH)
    assert biological.risk_bps - general.risk_bps == line.bps


@pytest.mark.parametrize("practice", PRACTICES)
def test_a_prohibited_practice_is_ineligible_whatever_the_score(
        practice: ProhibitedPractice) -> None:
    scored = assess(_plain(practices=[practice]), LAUNCH)
    assert not scored.eligible and scored.prohibited == (practice,)
    assert scored.risk_bps == assess(_plain(), LAUNCH).risk_bps


def test_a_practice_the_rubric_does_not_prohibit_leaves_the_job_eligible() -> None:
    lenient = LAUNCH.model_copy(update={"prohibited": {}})
    assert assess(_plain(practices=["social_scoring"]), lenient).eligible


def test_a_value_the_rubric_does_not_list_adds_nothing_and_says_so() -> None:
    silent = LAUNCH.model_copy(update={"tasks": {}})
    (task,) = [f for f in assess(_plain(), silent).factors if f.factor == "task"]
    assert (task.value, task.added_bps, task.source) == ("inference", 0, NOT_LISTED)


def test_the_score_is_capped_at_the_whole_notional_and_says_so() -> None:
    everything = _plain(task="training", job_flop=MAX_FLOP, model_flop=MAX_FLOP,
                        data_categories=CATEGORIES, capabilities=CAPABILITIES,
                        mainly_biological_sequences=True, release="weights")
    scored = assess(everything, LAUNCH)
    assert scored.risk_bps == MAX_RISK_BPS and scored.capped
    assert scored.uncapped_bps == sum(f.added_bps for f in scored.factors) > MAX_RISK_BPS


@given(declarations(), rubrics)
def test_the_factors_add_up_to_the_score(declaration: Declaration, rubric: Rubric) -> None:
    scored = assess(declaration, rubric)
    assert scored.uncapped_bps == sum(f.added_bps for f in scored.factors)
    assert scored.risk_bps == min(scored.uncapped_bps, MAX_RISK_BPS)
    assert scored.capped == (scored.uncapped_bps > MAX_RISK_BPS)
    assert scored.eligible == (not declaration.practices & rubric.prohibited.keys())


@given(declarations(), rubrics, st.integers(0, MAX_FLOP))
def test_more_model_compute_never_lowers_the_score(
        declaration: Declaration, rubric: Rubric, more: int) -> None:
    bigger = _revised(declaration, model_flop=min(declaration.model_flop + more, MAX_FLOP))
    _never_lower(assess(declaration, rubric), assess(bigger, rubric))


@given(declarations(), rubrics, st.integers(0, MAX_FLOP))
def test_more_job_compute_never_lowers_the_score(
        declaration: Declaration, rubric: Rubric, more: int) -> None:
    job_flop = min(declaration.job_flop + more, MAX_FLOP)
    bigger = _revised(declaration, job_flop=job_flop,
                      model_flop=max(declaration.model_flop, job_flop)
                      if declaration.task in TRAINING_TASKS else declaration.model_flop)
    _never_lower(assess(declaration, rubric), assess(bigger, rubric))


@given(declarations(), rubrics, st.sampled_from(CATEGORIES))
def test_an_added_data_category_never_lowers_the_score(
        declaration: Declaration, rubric: Rubric, category: DataCategory) -> None:
    wider = _revised(declaration, data_categories=declaration.data_categories | {category})
    _never_lower(assess(declaration, rubric), assess(wider, rubric))


@given(declarations(), rubrics, st.sampled_from(CAPABILITIES))
def test_an_added_capability_never_lowers_the_score(
        declaration: Declaration, rubric: Rubric, capability: Capability) -> None:
    wider = _revised(declaration, capabilities=declaration.capabilities | {capability})
    _never_lower(assess(declaration, rubric), assess(wider, rubric))


@given(declarations(), rubrics, st.sampled_from(RELEASES))
def test_a_wider_release_never_lowers_the_score(
        declaration: Declaration, rubric: Rubric, release: str) -> None:
    if RELEASES.index(release) < RELEASES.index(declaration.release):
        release = declaration.release
    _never_lower(assess(declaration, rubric),
                 assess(_revised(declaration, release=release), rubric))


@given(declarations(), rubrics)
def test_training_mainly_on_biological_sequences_never_lowers_the_score(
        declaration: Declaration, rubric: Rubric) -> None:
    biological = _revised(declaration, mainly_biological_sequences=True)
    _never_lower(assess(declaration, rubric), assess(biological, rubric))
