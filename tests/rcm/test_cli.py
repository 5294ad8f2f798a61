"""The `rcm` shell: fast help, lazy imports, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RCM = str(Path(sys.executable).with_name("rcm"))


def test_help_lists_every_command() -> None:
    done = subprocess.run([RCM, "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for command in ("wallet", "testnet", "deploy", "demo", "auction", "enclave", "oracle"):
        assert f"  {command}" in done.stdout


def test_help_imports_no_chain_solver_or_server_library() -> None:
    code = (
        "import sys; from rcm.cli import cli; "
        "cli.main(['--help'], prog_name='rcm', standalone_mode=False); "
        "heavy = {'web3', 'ortools', 'fastapi', 'dp_accounting', 'eth_tester'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip().endswith("[]"), done.stdout


def test_unknown_command_exits_2() -> None:
    done = subprocess.run([RCM, "nosuch"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "No such command" in done.stderr
