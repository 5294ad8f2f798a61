"""`rcm risk assess` as a user runs it: a table of at most 80 columns, one JSON document with
--json, and one line and exit 2 for what it refuses, naming the field."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from risk.declaration import declaration_hash, read_declaration
from risk.rubric import DEFAULT_RUBRIC, rubric_hash
from tests.risk.conftest import EXAMPLE
from tests.support import RCM, Cli, heavy_modules_loaded_by, run_in_process

JSON_KEYS = {"risk_bps", "eligible", "prohibited", "rubric_version", "rubric_hash",
             "declaration_hash", "factors", "capped"}


def rcm(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_in_process([RCM, "risk", "assess", *map(str, args)], dict(os.environ))


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_table_explains_the_score_in_80_columns() -> None:
    done = rcm(EXAMPLE)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert "rubric launch-1" in lines[0]
    assert any(line.split()[:2] == ["total", "2,700"] for line in lines)
    assert lines[-1] == "risk: 2,700 bps = 27.00 % of the notional"


def test_an_ineligible_job_is_said_so_with_the_provision_it_breaks(
        tmp_path: Path, declared: dict[str, Any]) -> None:
    declared["practices"] = ["social_scoring"]
    done = rcm(_file(tmp_path, "scoring.json", json.dumps(declared)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "ineligible: social_scoring (EU AI Act Art. 5(1)(c))"


def test_json_gives_the_score_its_factors_and_both_hashes() -> None:
    done = rcm(EXAMPLE, "--json")
    assert (done.returncode, done.stderr) == (0, "")
    result = json.loads(done.stdout)
    assert set(result) == JSON_KEYS
    assert (result["risk_bps"], result["eligible"], result["prohibited"], result["capped"]) == (
        2700, True, [], False)
    assert result["rubric_version"] == "launch-1"
    assert result["rubric_hash"] == "0x" + rubric_hash(DEFAULT_RUBRIC.read_bytes()).hex()
    assert result["declaration_hash"] == "0x" + declaration_hash(read_declaration(EXAMPLE)).hex()
    assert all(set(f) == {"factor", "value", "added_bps", "source"} for f in result["factors"])
    assert sum(f["added_bps"] for f in result["factors"]) == result["risk_bps"]


def test_a_given_rubric_scores_instead_of_the_launch_one(
        tmp_path: Path, launch_document: dict[str, Any]) -> None:
    launch_document |= {"version": "strict-1", "base": {"bps": 9000, "source": "everything"}}
    rubric = _file(tmp_path, "strict.toml", tomli_w.dumps(launch_document))
    result = json.loads(rcm(EXAMPLE, "--rubric", rubric, "--json").stdout)
    assert (result["rubric_version"], result["risk_bps"], result["capped"]) == (
        "strict-1", 10_000, True)


@pytest.mark.parametrize(("changes", "field"), [
    ({"job_flop": -1}, "job_flop"),
    ({"model_flop": 1e31}, "model_flop"),
    ({"capabilities": ["offensive_cyber", "mind_control"]}, "capabilities[1]"),
    ({"purpose": None}, "purpose"),
])
def test_a_bad_declaration_exits_2_with_one_line_naming_the_field(
        tmp_path: Path, declared: dict[str, Any], changes: dict[str, Any], field: str) -> None:
    document = {k: v for k, v in (declared | changes).items() if v is not None}
    path = _file(tmp_path, "bad.json", json.dumps(document))
    done = rcm(path)
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(f"error: {field}: ")
    error = json.loads(rcm(path, "--json").stderr)["error"]
    assert error["field"] == field and error["message"].startswith(f"{field}: ")


@pytest.mark.parametrize(("arguments", "field", "shown"), [
    (("{tmp}/broken.json",), "declaration", "DECLARATION"),
    (("{tmp}/absent.json",), "declaration", "DECLARATION"),
    (("{example}", "--rubric", "{tmp}/decreasing.toml"), "compute.model_thresholds[2].flop",
     "compute.model_thresholds[2].flop"),
    (("{example}", "--rubric", "{tmp}/absent.toml"), "rubric", "--rubric"),
])
def test_a_bad_file_exits_2_with_one_line_naming_it(
        tmp_path: Path, launch_document: dict[str, Any], arguments: tuple[str, ...],
        field: str, shown: str) -> None:
    _file(tmp_path, "broken.json", '{"task": ')
    launch_document["compute"]["model_thresholds"][2]["flop"] = 1e24
    _file(tmp_path, "decreasing.toml", tomli_w.dumps(launch_document))
    argv = [a.format(tmp=tmp_path, example=EXAMPLE) for a in arguments]
    done = rcm(*argv)
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(f"error: {shown}: ")
    assert json.loads(rcm(*argv, "--json").stderr)["error"]["field"] == field


def test_assessing_loads_no_chain_library(tmp_path: Path) -> None:
    cli = Cli(tmp_path, rpc="http://127.0.0.1:9")
    assert heavy_modules_loaded_by(cli, "risk", "assess", str(EXAMPLE), rpc=False) == []
