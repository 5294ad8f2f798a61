"""Issue 6 end to end from the CLI: a Hardhat node, three `rcm oracle serve` processes, a
compliant job released and a violating one burned through a k-of-n verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

pytestmark = pytest.mark.hardhat
RCM = str(Path(sys.executable).with_name("rcm"))
CST = 10**18


class Cli:
    def __init__(self, home: Path, rpc: str) -> None:
        self.home, self.rpc = home, rpc
        self.env = {**os.environ, "RCM_HOME": str(home), "RCM_PASSWORD": "pw"}

    def run(self, *args: str, rpc: bool = True) -> subprocess.CompletedProcess[str]:
        command = [RCM, *args, *(["--rpc", self.rpc] if rpc else [])]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=180)

    def ok(self, *args: str, rpc: bool = True) -> str:
        done = self.run(*args, rpc=rpc)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args: str) -> dict[str, object]:
        return dict(json.loads(self.ok(*args, "--json")))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, Path, list[str]]]:
    work = tmp_path_factory.mktemp("quorum-cli")
    port = free_port()
    cli = Cli(work / "home", f"http://127.0.0.1:{port}")
    cli.ok("testnet", "start", "--port", str(port), rpc=False)
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        for name in ("buyer", "provider"):
            cli.ok("wallet", "new", name, rpc=False)
        cli.ok("testnet", "fund", "buyer", "--cst", "100")
        cli.ok("testnet", "fund", "provider", "--cst", "300")
        cli.ok("wallet", "bond", "provider", "100")
        cli.ok("wallet", "stake", "buyer", "50")
        cli.ok("enclave", "init", str(work / "enclave"), rpc=False)
        cli.ok(
            "oracle",
            "init",
            str(work / "oracle"),
            "--nodes",
            "3",
            "--threshold",
            "2",
            "--trust-root",
            str(work / "enclave" / "root.pem"),
            rpc=False,
        )
        cli.ok("oracle", "register", str(work / "oracle"), "--from", "governance")
        urls = []
        for i in (1, 2, 3):
            node_port = free_port()
            urls.append(f"http://127.0.0.1:{node_port}")
            nodes.append(
                subprocess.Popen(
                    [
                        RCM,
                        "oracle",
                        "serve",
                        "--config",
                        str(work / "oracle" / f"node-{i}.toml"),
                        "--port",
                        str(node_port),
                    ],
                    env=cli.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 90
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} did not start"
                time.sleep(0.3)
        yield cli, work, urls
    finally:
        for node in nodes:
            node.kill()
            node.wait()
        cli.run("testnet", "stop", rpc=False)


def _attest(cli: Cli, work: Path, job: str, *extra: str) -> Path:
    out = work / f"{job[2:10]}.json"
    cli.ok(
        "enclave",
        "attest",
        "--enclave",
        str(work / "enclave"),
        "--job",
        job,
        "--dataset",
        "0x" + "ab" * 32,
        "--noise-multiplier",
        "1.1",
        "--sampling-rate",
        "0.01",
        "--steps",
        "1000",
        "--delta",
        "1e-5",
        *extra,
        "--out",
        str(out),
        rpc=False,
    )
    return out


def _supply(cli: Cli) -> int:
    from web3 import HTTPProvider, Web3

    manifest = json.loads((cli.home / "deployments" / "31337.json").read_text())
    w3 = Web3(HTTPProvider(cli.rpc))
    address = manifest["contracts"]["ComputeSafetyToken"]["address"]
    abi = [
        {
            "name": "totalSupply",
            "type": "function",
            "inputs": [],
            "stateMutability": "view",
            "outputs": [{"name": "", "type": "uint256"}],
        }
    ]
    return int(w3.eth.contract(address=address, abi=abi).functions.totalSupply().call())


def test_compliant_job_releases_and_violating_job_burns(world: tuple[Cli, Path, list[str]]) -> None:
    cli, work, urls = world
    nodes = ",".join(urls)
    good, bad = "0x" + "11" * 32, "0x" + "22" * 32
    for job in (good, bad):
        cli.ok(
            "oracle",
            "open-job",
            job,
            "--buyer",
            "buyer",
            "--provider",
            "provider",
            "--stake",
            "20",
            "--from",
            "governance",
        )
    assert cli.json("wallet", "balance", "buyer")["locked"] == 40 * CST

    verdict = cli.json(
        "oracle", "submit", str(_attest(cli, work, good)), "--nodes", nodes, "--from", "buyer"
    )
    assert (verdict["job"], verdict["verdict"], verdict["clauses"]) == (good, "compliant", [])
    assert len(verdict["signers"]) == 2  # type: ignore[arg-type]
    assert cli.json("wallet", "balance", "buyer")["locked"] == 20 * CST

    supply = _supply(cli)
    understated = _attest(cli, work, bad, "--claimed-epsilon", "0.5")
    verdict = cli.json("oracle", "submit", str(understated), "--nodes", nodes, "--from", "buyer")
    assert (verdict["verdict"], verdict["fault"]) == ("violation", "buyer")
    assert verdict["clauses"] == ["regulator.epsilon_claim"]
    balance = cli.json("wallet", "balance", "buyer")
    assert (balance["staked"], balance["locked"]) == (30 * CST, 0)
    assert _supply(cli) == supply - 20 * CST

    # Submitting again: every node answers 409 with its stored verdict, and the chain already
    # has one, so nothing is sent.
    done = cli.run("oracle", "submit", str(understated), "--nodes", nodes, "--from", "buyer")
    assert done.returncode == 2 and "already has a verdict" in done.stderr


def test_no_quorum_and_bad_input_are_one_line_exit_2(world: tuple[Cli, Path, list[str]]) -> None:
    cli, work, urls = world
    job = "0x" + "33" * 32
    cli.ok(
        "oracle",
        "open-job",
        job,
        "--buyer",
        "buyer",
        "--provider",
        "provider",
        "--stake",
        "1",
        "--from",
        "governance",
    )
    attestation = _attest(cli, work, job)
    dead = f"http://127.0.0.1:{free_port()}"
    cases = [
        (
            (
                "oracle",
                "submit",
                str(attestation),
                "--nodes",
                f"{urls[0]},{dead}",
                "--from",
                "buyer",
            ),
            "fewer than k=2",
        ),
        (
            ("oracle", "submit", str(work / "missing.json"), "--nodes", urls[0], "--from", "buyer"),
            "FILE",
        ),
        (
            (
                "oracle",
                "open-job",
                "0x1234",
                "--buyer",
                "buyer",
                "--provider",
                "provider",
                "--stake",
                "1",
                "--from",
                "governance",
            ),
            "job: expected a 0x-prefixed 32-byte hex id",
        ),
        (
            (
                "oracle",
                "open-job",
                "0x" + "44" * 32,
                "--buyer",
                "buyer",
                "--provider",
                "provider",
                "--stake",
                "1000",
                "--from",
                "governance",
            ),
            "--stake",
        ),
        (
            (
                "oracle",
                "open-job",
                job,
                "--buyer",
                "buyer",
                "--provider",
                "provider",
                "--stake",
                "1",
                "--from",
                "governance",
            ),
            "already open",
        ),
        (
            (
                "oracle",
                "open-job",
                "0x" + "55" * 32,
                "--buyer",
                "buyer",
                "--provider",
                "provider",
                "--stake",
                "1",
                "--from",
                "buyer",
            ),
            "AccessControlUnauthorizedAccount",
        ),
    ]
    for args, message in cases:
        done = cli.run(*args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr
