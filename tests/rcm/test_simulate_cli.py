"""`rcm simulate run|sweep|report` as people run them, in this process: one market's metrics as
a table and the run as --json, a sweep (in this process: tests/sim/test_sweep.py runs it on a
cluster) and its figures, and bad input refused in one line, exit 2, also under --json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.result import METRICS, RunResult
from tests.rcm.test_json_convention import check_document
from tests.support import Run, rcm_in_process

TINY_RUN = "rounds = 2\nbids_per_round = 20\ndeterministic = true\n"
TINY_SWEEP = ("seeds = 2\n[base]\n" + TINY_RUN
              + "[grid]\ntime_limit = [0.5, 1]\nspeculator_share = [0.0, 0.5]\n")
# The run record as runs.jsonl holds it (sim/result.py): the knobs as the input file spells
# them, and the rounds' and bubbles' plain counts and step indices.
RUN_RECORD = ("config", "rounds", "bubbles")


Rcm = Callable[..., Run]


@pytest.fixture
def rcm(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Rcm:
    return lambda *args: rcm_in_process(["simulate", *args], capsys, monkeypatch)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("configs")
    (directory / "run.toml").write_text(TINY_RUN)
    (directory / "sweep.toml").write_text(TINY_SWEEP)
    (directory / "unknown-knob.toml").write_text(TINY_RUN + "bogus = 1\n")
    (directory / "share.toml").write_text(TINY_SWEEP.replace("[0.0, 0.5]", "[0.0, 1.5]"))
    (directory / "no-seeds.toml").write_text(TINY_SWEEP.replace("seeds = 2", "seeds = 0"))
    (directory / "no-rounds.toml").write_text(TINY_RUN.replace("rounds = 2", "rounds = 0"))
    (directory / "bad.toml").write_text("rounds = = 2\n")
    (directory / "grid-knob.toml").write_text(TINY_SWEEP + "nope = [1]\n")
    (directory / "empty").mkdir()
    return directory


def test_a_run_prints_every_metric_in_a_table(rcm: Rcm, files: Path) -> None:
    run = rcm("run", str(files / "run.toml"), "--seed", "4")
    assert run.code == 0, run.err
    assert run.out.startswith("2 rounds of 20 bids, seed 4, ")
    names = [line.split()[0] for line in run.out.splitlines()[5:] if line[:1].strip()]
    assert names == list(METRICS)


def test_a_runs_json_is_its_run_record(rcm: Rcm, files: Path) -> None:
    run = rcm("run", str(files / "run.toml"), "--json")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    check_document(document, formats=RUN_RECORD)
    record = RunResult.model_validate(document)
    assert (record.seed, record.config.rounds, len(record.rounds)) == (1, 2, 2)
    assert set(record.metrics) == set(METRICS)


def test_a_sweep_and_its_report(rcm: Rcm, files: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    run = rcm("sweep", str(files / "sweep.toml"), "--out", str(out), "--workers", "0",
              "--json")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    check_document(document)
    assert {key: document[key] for key in ("runs_count", "new_count", "resumed_count",
                                           "cells_count", "seeds_count")} == {
        "runs_count": 8, "new_count": 8, "resumed_count": 0, "cells_count": 4,
        "seeds_count": 2}
    assert run.err.splitlines()[-1].startswith("run 8/8, ")  # stderr is no terminal here

    again = rcm("sweep", str(files / "sweep.toml"), "--out", str(out), "--workers", "0")
    assert again.code == 0, again.err
    assert "0 run now, 8 from before" in " ".join(again.out.split())

    drawn = rcm("report", str(out), "--json")
    assert drawn.code == 0, drawn.err
    figures = json.loads(drawn.out)
    check_document(figures)
    assert Path(figures["summary"]) == out / "summary.json"
    assert out / "heatmap-efficiency.png" in map(Path, figures["figures"])
    assert all(Path(path).is_file() for path in figures["figures"])


BAD_INPUT = [
    (["run", "unknown-knob.toml"], "bogus", "bogus: Extra inputs are not permitted"),
    (["sweep", "share.toml", "--out", "OUT"], "grid.speculator_share", "1.5: Input should be"),
    (["sweep", "no-seeds.toml", "--out", "OUT"], "seeds", "seeds: Input should be greater"),
    (["run", "no-rounds.toml"], "rounds", "rounds: Input should be greater"),
    (["run", "bad.toml"], None, "not TOML"),
    (["sweep", "grid-knob.toml", "--out", "OUT"], "grid.nope", "grid.nope: not a knob of a run"),
    (["run", "missing.toml"], "config", "CONFIG: file"),
    (["sweep", "sweep.toml", "--out", "OUT", "--scheduler", "tcp://127.0.0.1:9"],
     "scheduler", "--scheduler: tcp://127.0.0.1:9: no Dask scheduler answers"),
    (["report", "empty"], "directory", "DIR: "),
]


@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(("args", "field", "says"), BAD_INPUT,
                         ids=[" ".join(args[:2]) for args, *_ in BAD_INPUT])
def test_bad_input_is_refused_in_one_line(rcm: Rcm, files: Path, tmp_path: Path,
                                          args: list[str], field: str | None, says: str,
                                          json_out: bool) -> None:
    out = tmp_path / "out"
    argv = [args[0], *(str(files / arg) if arg.endswith((".toml", "empty")) else
                       str(out) if arg == "OUT" else arg for arg in args[1:])]
    run = rcm(*argv, *(["--json"] if json_out else []))
    assert (run.code, run.out) == (2, "")
    assert len(run.err.splitlines()) == 1, run.err
    if json_out:
        error = json.loads(run.err)["error"]
        assert error["field"] == field
        message = error["message"]
    else:
        assert run.err.startswith("error: ")
        message = run.err
    assert says in message
    assert not out.exists()
