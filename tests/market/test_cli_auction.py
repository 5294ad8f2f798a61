"""`rcm auction` as a user runs it. Successful runs go through Click's test runner; bad input
runs the real entry point in a subprocess, since mapping errors to exit code 2 is its job."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from market.examples import CLEARING_TIME, consortium_instance
from rcm.cli import cli

REPO = Path(__file__).resolve().parents[2]


def rcm(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The real command: stdout and stderr apart, exit code as the shell sees it."""
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def rcm_process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rcm", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def consortium_file(tmp_path: Path) -> Path:
    path = tmp_path / "consortium.json"
    path.write_text(consortium_instance().model_dump_json())
    return path


def test_clear_prints_one_json_document_with_a_reason_per_loser(consortium_file: Path) -> None:
    run = rcm("auction", "clear", consortium_file, "--now", str(CLEARING_TIME),
              "--time-limit", "20", "--workers", "1", "--seed", "3")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert {"allocation", "losing", "welfare_micro_usd", "bound_micro_usd", "gap", "status",
            "seconds"} <= set(result)
    assert "winners" not in result and "objective" not in result
    assert result["status"] == "optimal"
    assert result["welfare_micro_usd"] == result["bound_micro_usd"]
    assert {loss["reason"] for loss in result["losing"]} == {
        "expired", "epsilon_over_policy", "ineligible_tier", "risk_cap", "equity_reservation",
        "below_reserve", "outbid"}
    bids = {bid.id for bid in consortium_instance().bids}
    assert {fill["bid"] for fill in result["allocation"]} | {
        loss["bid"] for loss in result["losing"]} == bids


def test_clear_reads_cats_and_reports_winners_and_objective(tmp_path: Path) -> None:
    cats = tmp_path / "tiny.txt"
    cats.write_text("goods 2\nbids 3\ndummy 0\n0 10 0 1 #\n1 6.5 0 #\n2 6 1 #\n")
    run = rcm("auction", "clear", cats, "--workers", "1")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert (result["winners"], result["objective"], result["status"]) == ([1, 2], 12.5, "optimal")
    assert result["welfare_micro_usd"] == 12_500_000  # named for its unit, as in `auction run`
    assert result["losing"] == [{"bid": "b0", "reason": "outbid", "bundle": 0, "item": "g0",
                                 "detail": "needs 1 units of g0, 0 left after higher-value "
                                           "bids"}]


def test_clear_without_now_uses_the_current_time(consortium_file: Path) -> None:
    run = rcm("auction", "clear", consortium_file, "--workers", "1")
    reasons = {loss["bid"]: loss["reason"] for loss in json.loads(run.stdout)["losing"]}
    assert reasons["stale-trial-matching"] == "expired"


def test_generate_is_seeded_and_clears(tmp_path: Path) -> None:
    out = tmp_path / "market.json"
    args = ["auction", "generate", "--bids", "40", "--regions", "2", "--slots", "2",
            "--seed", "7"]
    written = rcm(*args, "--out", out)
    printed = rcm(*args)
    assert written.returncode == printed.returncode == 0
    assert json.loads(out.read_text()) == json.loads(printed.stdout)
    run = rcm("auction", "clear", out, "--workers", "1", "--now", "1800000000")
    assert json.loads(run.stdout)["status"] == "optimal"


def bad_market(tmp_path: Path, change: dict[str, Any]) -> Path:
    document = json.loads(consortium_instance().model_dump_json())
    bid = document["bids"][0]
    bid.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(("change", "message"), [
    ({"bundles": [{"items": {"gpu-mars-w49-standard": 1}, "value": 1}]},
     "error: bids[0].bundles[0].items.gpu-mars-w49-standard: unknown item"),
    ({"bundles": [{"items": {"gpu-euw1-w49-standard": -1}, "value": 1}]},
     "error: bids[0].bundles[0].items.gpu-euw1-w49-standard: Input should be greater than 0"),
    ({"id": "msf-outbreak-forecast"}, "error: bids[1].id: duplicate bid id "
                                      "'msf-outbreak-forecast'"),
    ({"bundles": [{"items": {"gpu-euw1-w49-standard": 129}, "value": 1}]},
     "error: bids[0].bundles[0].items.gpu-euw1-w49-standard: quantity 129 exceeds the item's "
     "total capacity 128"),
    # Issue 18: CP-SAT rejected the model, with a traceback.
    ({"bundles": [{"items": {"gpu-euw1-w49-standard": 1}, "value": 10**30}]},
     "error: bids[0].bundles[0].value: Input should be less than or equal to 281474976710655"),
])
def test_clear_rejects_a_bad_market_with_exit_2_and_the_field(
        tmp_path: Path, change: dict[str, Any], message: str) -> None:
    run = rcm_process("auction", "clear", bad_market(tmp_path, change))
    assert run.returncode == 2
    assert run.stderr.strip() == message
    assert run.stdout == ""


def test_clear_rejects_a_bad_cats_line_with_its_number(tmp_path: Path) -> None:
    cats = tmp_path / "bad.txt"
    cats.write_text("% header follows\ngoods 2\nbids 2\n0 1 0 #\n1 one 1 #\n")
    run = rcm_process("auction", "clear", cats)
    assert run.returncode == 2
    assert run.stderr.strip() == "error: line 5: expected 'INDEX PRICE GOOD... #'"


def test_clear_rejects_a_missing_file_and_bad_options(tmp_path: Path) -> None:
    assert rcm_process("auction", "clear", tmp_path / "none.json").returncode == 2
    cats = tmp_path / "ok.txt"
    cats.write_text("goods 1\nbids 1\n0 1 0 #\n")
    assert rcm_process("auction", "clear", cats, "--workers", "0").returncode == 2


def test_auction_commands_import_no_chain_or_dp_library(consortium_file: Path) -> None:
    code = ("import sys; from rcm.cli import cli; "
            "cli.main(['auction', 'generate', '--bids', '3'], standalone_mode=False); "
            f"cli.main(['auction', 'clear', {str(consortium_file)!r}, '--workers', '1'], "
            "standalone_mode=False); "
            "heavy = [m for m in ('web3', 'eth_tester', 'solcx', 'dp_accounting', 'eth_account')"
            " if m in sys.modules]; print(heavy, file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip().splitlines()[-1] == "[]"


def test_clear_progress_names_each_component_in_usd_within_80_columns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from market.generate import generate_market
    from rcm.commands import auction

    monkeypatch.setattr(auction, "_QUIET_SECONDS", 0.0)  # every line, however fast the clear
    market = tmp_path / "market.json"
    market.write_text(generate_market(400, 2, 2, 1).model_dump_json())
    run = rcm("auction", "clear", market, "--time-limit", "5", "--workers", "1")
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert max(map(len, lines)) <= 80, run.stderr
    said = [line.split("] ", 1)[1] for line in " ".join(lines).replace("     ", " ").split(
        " [")]  # each message, its wrapped lines joined
    components = [message for message in said if message.startswith("component ")]
    assert said[0].startswith("presolve: ") and len(components) == len(said) - 1, run.stderr
    assert any(" LP bound " in message for message in components), run.stderr
    # Amounts are USD with cents, never micro-USD: no run of digits without a decimal point.
    amounts = re.findall(r"([\d,.]+) USD", run.stderr)
    assert amounts and all(re.fullmatch(r"\d{1,3}(,\d{3})*\.\d\d", a) for a in amounts)
    assert re.search(r"\d{1,3},\d{3},\d{3},\d{3}(?!\.)", run.stderr) is None, run.stderr


def test_clear_races_the_portfolio_and_prints_only_its_json_on_stdout(tmp_path: Path) -> None:
    from market.generate import generate_market

    market = tmp_path / "market.json"
    market.write_text(generate_market(400, 2, 2, 1).model_dump_json())
    # a process of its own: HiGHS prints its banner at its first construction in a process
    run = rcm_process("auction", "clear", market, "--time-limit", "3", "--workers", "2")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] in ("optimal", "feasible")
    assert "Running HiGHS" not in run.stderr, run.stderr  # its banner goes nowhere
