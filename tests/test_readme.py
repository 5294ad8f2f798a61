"""The README's walkthrough, run as written: every `sh` block of README.md, in order, in one bash
session as a user would paste them, from a copy of `examples/` in a fresh directory and a fresh
`RCM_HOME`, against a Hardhat node the README itself starts. A block whose preceding line is a
`<!-- not run: why -->` comment is left out. The one change made to the text is the port in
its `export RCM_RPC=` line: a free one, so that the test never meets another node. Each command
must exit 0; what the README shows of an output must hold."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from oracle.node.spawn import free_port

pytestmark = pytest.mark.hardhat
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NOT_RUN = re.compile(r"^<!-- not run: .+ -->$")
RPC_EXPORT = "export RCM_RPC=http://127.0.0.1:8545"
MARK = "@@ README:"
TIMEOUT_S = 300
SERVED_PORTS = (8701, 8702, 8703, 8800)  # `rcm oracle init`'s and the relay's, as it serves them


@dataclass(frozen=True)
class Command:
    line: int  # in README.md, 1-based
    text: str  # continuation lines joined


def shell_blocks(markdown: str) -> list[list[Command]]:
    """The commands of every `sh`/`bash` block not marked `<!-- not run: … -->`."""
    blocks: list[list[Command]] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        fence = lines[index].strip()
        if fence not in ("```sh", "```bash"):
            index += 1
            continue
        marked = index > 0 and NOT_RUN.match(lines[index - 1].strip()) is not None
        start = index + 1
        index = start
        while lines[index].strip() != "```":
            index += 1
        if not marked:
            blocks.append(_commands(lines[start:index], first_line=start + 1))
        index += 1
    return blocks


def _commands(lines: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    pending: list[str] = []
    for offset, line in enumerate(lines):
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending.append(line)
        if not line.rstrip().endswith("\\"):
            commands.append(Command(first_line + offset - len(pending) + 1, "\n".join(pending)))
            pending = []
    assert not pending, f"README.md:{first_line}: a block ends in a continuation line"
    return commands


def script(blocks: list[list[Command]], rpc: str) -> str:
    """One bash script: before each command a marker naming its README line, after it a check
    that stops at the first failure. `pipefail`, so that `X=$(rcm … | jq …)` fails with rcm."""
    out = ["set -o pipefail"]
    for command in (c for block in blocks for c in block):
        text = command.text.replace(RPC_EXPORT, f"export RCM_RPC={rpc}")
        out += [f"echo '{MARK}{command.line}'; echo '{MARK}{command.line}' >&2", text,
                f"rc=$?; if [ $rc -ne 0 ]; then echo 'README.md:{command.line} exited '$rc >&2;"
                " exit 1; fi"]
    return "\n".join(out) + "\n"


def outputs(stdout: str) -> dict[int, str]:
    """Each command's stdout, by its README line."""
    found: dict[int, str] = {}
    for part in stdout.split(MARK)[1:]:
        line, _, text = part.partition("\n")
        found[int(line)] = text
    return found


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A directory with a short path: the wallet agents' Unix sockets live under RCM_HOME, and
    a socket's path may not pass 107 bytes (pytest's own tmp_path does under xdist)."""
    path = Path(tempfile.mkdtemp(prefix="rcm-readme-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_readme_walkthrough_runs_as_written(short_tmp: Path) -> None:
    tmp_path = short_tmp
    markdown = README.read_text()
    assert markdown.count(RPC_EXPORT) == 1
    taken = [port for port in SERVED_PORTS if _answers(port)]
    assert not taken, f"ports {taken} are taken: the README's oracle nodes or relay would not start"
    blocks = shell_blocks(markdown)
    commands = {c.line: c.text for block in blocks for c in block}
    work, home, bin_dir = tmp_path / "work", tmp_path / "home", tmp_path / "bin"
    shutil.copytree(ROOT / "examples", work / "examples")
    bin_dir.mkdir()
    shim = bin_dir / "rcm"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m rcm "$@"\n')
    shim.chmod(0o755)
    (work / "walkthrough.sh").write_text(script(blocks, f"http://127.0.0.1:{free_port()}"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCM_")}
    env.update(RCM_HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}")
    walk = subprocess.Popen(["bash", "walkthrough.sh"], cwd=work, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        stdout, stderr = walk.communicate(timeout=TIMEOUT_S)
    finally:
        _stop(walk, env, work)
    assert walk.returncode == 0, stderr[-4000:]

    printed = outputs(stdout)

    def output_of(command: str) -> str:
        (line,) = [line for line, text in commands.items() if text.startswith(command)]
        return printed[line]

    assert set(json.loads(output_of("rcm wallet balance alice --json"))) >= {
        "address", "eth_wei", "cst_wei", "usd_micro_usd", "staked_wei", "locked_wei",
        "bonded_wei"}
    cleared = " ".join(output_of("rcm auction run --round $ROUND").split())
    assert re.search(r"optimal, 1 winner, .* tx 0x[0-9a-f]{64} .* won bundle \d [\d,]+\.\d\d\b",
                     cleared), cleared  # the payment the README says it prints
    withdrawn = output_of("rcm wallet withdraw lab")
    assert withdrawn.startswith("withdrew ") and not withdrawn.startswith("withdrew 0.00 USD")
    booked = output_of("rcm trade book --round $ROUND --item 0")
    assert "no live orders" in booked, booked
    traded = output_of("rcm trade trades")
    assert "2 trades" in traded and "carol" in traded and "bob" in traded, traded
    priced = output_of("rcm market prices $ROUND:0")
    assert priced.count("trade") >= 2 and "clearing" in priced, priced
    verdict = json.loads(output_of("rcm oracle submit job.json"))
    assert (verdict["verdict"], verdict["fault"], verdict["clauses"]) == ("compliant", "none", [])
    assert len(verdict["signers"]) == 2
    explained = " ".join(output_of("rcm auction explain examples/consortium.json").split())
    assert "won bundle 0, worth 19,200.00 USD to it; it pays 13,070.33 USD" in explained


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop(walk: subprocess.Popen[str], env: dict[str, str], work: Path) -> None:
    """Whatever the walkthrough left running when it failed: the processes of its session (the
    oracle nodes, the relay), the wallets' agents and the node `rcm testnet start` started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(walk.pid, signal.SIGKILL)
    walk.wait()
    for args in ([*(["wallet", "lock", name] for name in ("alice", "lab", "carol", "governance")),
                  ["testnet", "stop"]]):
        subprocess.run(["rcm", *args], cwd=work, env=env, capture_output=True, check=False)
