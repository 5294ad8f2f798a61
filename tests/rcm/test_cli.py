"""The `rcm` shell: fast help and version, lazy imports, exit codes, one line for every
refusal (a JSON document under --json)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rcm.cli import app, cli
from tests.support import run_in_process

RCM = str(Path(sys.executable).with_name("rcm"))
NO_CHAIN = "http://127.0.0.1:9"  # refuses connections: nothing here may need a chain


def test_help_lists_every_command() -> None:
    done = subprocess.run([RCM, "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for command in ("wallet", "testnet", "deploy", "demo", "auction", "enclave", "oracle"):
        assert f"  {command}" in done.stdout


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_import_no_chain_solver_or_server_library(option: str) -> None:
    code = (
        "import sys; from rcm.cli import cli; "
        f"cli.main([{option!r}], prog_name='rcm', standalone_mode=False); "
        "heavy = {'web3', 'ortools', 'fastapi', 'dp_accounting', 'eth_tester', 'pydantic'} "
        "& set(sys.modules); print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip().endswith("[]"), done.stdout


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every group and command under `command`, itself included."""
    yield path
    for name in getattr(command, "list_commands", lambda _: [])(None):
        yield from _commands(command.get_command(None, name), (*path, name))


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("path", list(_commands(cli)), ids=lambda path: " ".join(path) or "rcm")
def test_every_help_is_plain_text_in_80_columns_and_whole(
        path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal still gets 80 columns
    done = CliRunner().invoke(app, [*path, "--help"])
    assert done.exit_code == 0, done.output
    assert not re.search("[─│╭╮╰╯]", done.output)
    assert max(map(len, done.output.splitlines())) <= 80, done.output
    command = cli
    for name in path:
        command = command.get_command(None, name)
    for text in (command.help, *(getattr(param, "help", None) for param in command.params)):
        assert _words(text or "") in _words(done.output)


def test_version_prints_the_installed_package_version() -> None:
    done = subprocess.run([RCM, "--version"], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"rcm {version('rcm')}\n", "")


def test_unknown_command_exits_2_with_one_line() -> None:
    done = subprocess.run([RCM, "nosuch"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == "error: no such command 'nosuch' (see `rcm --help`)\n"


def test_ctrl_c_while_the_cli_is_still_importing_ends_with_one_line() -> None:
    # The interrupt arrives during the first import of a library the CLI loads, as a Ctrl-C
    # typed right after Enter does.
    code = (
        "import builtins, sys\n"
        "real_import = builtins.__import__\n"
        "def interrupting(name, *args, **kwargs):\n"
        "    if name == 'typer':\n"
        "        raise KeyboardInterrupt\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupting\n"
        "from rcm.script import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "interrupted\n")


def rcm(*args: str) -> subprocess.CompletedProcess[str]:
    return run_in_process([RCM, *args], dict(os.environ))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("files")
    (directory / "empty.json").write_text("")
    (directory / "list.json").write_text("[1, 2]")
    (directory / "market.json").write_text("{}")
    return directory


BAD_INVOCATIONS = [
    ([], "missing command (see `rcm --help`)"),
    (["--bogus"], "--bogus: no such option (see `rcm --help`)"),
    (["wallet", "nosuch"], "no such command 'nosuch' (see `rcm wallet --help`)"),
    (["wallet", "transfer", "alice", "bob", "-1"],
     "AMOUNT: must be greater than 0, got -1 (see `rcm wallet transfer --help`)"),
    (["wallet", "bid", "alice", "--round", "1", "-1"],
     "-1: not an option, and no number rcm takes is negative"),
    (["wallet", "transfer", "alice"], "TO: missing (see `rcm wallet transfer --help`)"),
    (["wallet", "balance", "alice", "--rp", NO_CHAIN],
     "--rp: no such option (did you mean --rpc?) (see `rcm wallet balance --help`)"),
    (["wallet", "balance", "alice", "extra"], "got unexpected extra argument(s) (extra)"),
    (["wallet", "transfer", "a", "b", "1", "--token"], "option '--token' requires an argument"),
    (["wallet", "budget", "list"], "NAME: missing (see `rcm wallet budget list --help`)"),
    (["wallet", "bid", "alice", "--round", "0", "{files}/market.json"],
     "--round: must be greater than or equal to 1"),
    (["wallet", "unlock", "alice", "--for", "25h"], "--for: at most 24h"),
    (["testnet", "advance", "0"], "SECONDS: must be greater than or equal to 1"),
    (["testnet", "start", "--port", "0"], "--port: must be greater than or equal to 1"),
    (["deploy"], "--from: missing (see `rcm deploy --help`)"),
    (["demo", "--bogus"], "--bogus: no such option (see `rcm demo --help`)"),
    (["round", "status", "x"], "ROUND_ID: must be a valid integer"),
    (["round", "open", "--commit", "0"], "--commit: must be greater than or equal to 1"),
    (["auction", "clear", "{files}/market.json", "--time-limit", "0"],
     "--time-limit: must be greater than or equal to 0.01 (see `rcm auction clear --help`)"),
    (["auction", "clear", "{files}/missing.json"], "FILE: file '{files}/missing.json' does not"),
    (["auction", "clear", "{files}/empty.json"],
     "{files}/empty.json: neither a JSON market nor a CATS file (it is empty)"),
    (["auction", "clear", "{files}/list.json"],
     "{files}/list.json: neither a JSON market nor a CATS file (it begins '[1,')"),
    (["auction", "generate", "--bids", "many"], "--bids: must be a valid integer"),
    (["enclave", "attest", "--enclave", "e", "--noise-multiplier", "1", "--sampling-rate",
      "0.1", "--steps", "0"], "--steps: must be greater than or equal to 1"),
    (["enclave", "attest"], "--enclave: missing"),
    (["oracle", "init", "o", "--trust-root", "r", "--nodes", "0"],
     "--nodes: must be greater than or equal to 1"),
    (["oracle", "serve", "--config", "c", "--port", "70000"],
     "--port: must be less than or equal to 65535"),
    (["oracle", "submit"], "FILE: missing (see `rcm oracle submit --help`)"),
]


@pytest.mark.parametrize(("argv", "shown"), BAD_INVOCATIONS,
                         ids=[" ".join(argv[:3]) or "rcm" for argv, _ in BAD_INVOCATIONS])
def test_every_bad_invocation_is_one_line_and_exit_2(
        files: Path, argv: list[str], shown: str) -> None:
    done = rcm(*(arg.format(files=files) for arg in argv))
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.startswith(f"error: {shown.format(files=files)}"), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr


def json_error(*argv: str) -> dict[str, object]:
    """The refusal of a command run with --json: one JSON line on stderr, stdout left empty."""
    done = rcm(*argv, "--json")
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    document: dict[str, object] = json.loads(done.stderr)
    return document


def test_a_usage_error_under_json_is_a_json_document() -> None:
    assert json_error("round", "status", "x") == {"error": {
        "field": "round_id", "message": "ROUND_ID: must be a valid integer, unable to parse "
                                        "string as an integer (see `rcm round status --help`)"}}


def test_a_negative_amount_under_json_names_the_amount() -> None:
    assert json_error("wallet", "transfer", "alice", "bob", "-1") == {"error": {
        "field": "amount",
        "message": "AMOUNT: must be greater than 0, got -1 (see `rcm wallet transfer --help`)"}}


@pytest.mark.parametrize(("argv", "field", "shown"), [
    (["deploy"], "name", "--from"),
    (["oracle", "register"], "name", "--from"),
    (["round", "open"], "name", "--wallet"),
    (["wallet", "balance"], "name", "NAME"),
    (["wallet", "import"], "private_key", "--key-file"),
    (["wallet", "claim"], "future_id", "FUTURE_IDS"),
    (["wallet", "budget", "register"], "content_hash", "--content-hash"),
])
def test_an_sdk_field_is_shown_as_the_commands_own_option(
        argv: list[str], field: str, shown: str) -> None:
    from chain.errors import RcmError
    from rcm.errors import render

    assert render(RcmError("bad", field=field), cli, argv) == f"{shown}: bad"


def test_a_refusal_under_json_names_the_field_as_the_sdk_does() -> None:
    assert json_error("wallet", "balance", "nobody", "--rpc", NO_CHAIN) == {"error": {
        "field": "name", "message": "NAME: unknown wallet 'nobody' (see `rcm wallet list`)"}}


def test_a_refusal_of_no_one_field_under_json_has_a_null_field(tmp_path: Path) -> None:
    assert json_error("oracle", "register", str(tmp_path), "--from", "x", "--rpc", NO_CHAIN) == {
        "error": {"field": None, "message": f"config: {tmp_path}: no node-*.toml"}}


def test_json_errors_only_for_commands_that_take_json() -> None:
    done = rcm("testnet", "stop", "--json")
    assert done.stderr == "error: --json: no such option (see `rcm testnet stop --help`)\n"
