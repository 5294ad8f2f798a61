"""Issue 6 end to end from the CLI: a Hardhat node, three `rcm oracle serve` processes, a
compliant job released and a violating one burned through a k-of-n verdict."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.oracle.factories import MECHANISM_FLAGS, PASSWORD, start_node
from tests.support import Cli, free_port

pytestmark = pytest.mark.hardhat
CST = 10**18
World = tuple[Cli, Path, list[str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("quorum-cli")
    port = free_port()
    cli = Cli(work / "home", f"http://127.0.0.1:{port}", password=PASSWORD)
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
        root = str(work / "enclave" / "root.pem")
        oracle = work / "oracle"
        cli.ok("oracle", "init", str(oracle), "--threshold", "2", "--trust-root", root, rpc=False)
        cli.ok("oracle", "register", str(oracle), "--from", "governance")
        ports = [free_port() for _ in range(3)]
        for i, node_port in enumerate(ports, start=1):
            nodes.append(start_node(oracle / f"node-{i}.toml", node_port))
        yield cli, work, [f"http://127.0.0.1:{p}" for p in ports]
    finally:
        for node in nodes:
            node.kill()
            node.wait()
        cli("testnet", "stop", rpc=False)


def _open_job(job: str, stake: str = "20", sender: str = "governance") -> list[str]:
    return [
        "oracle",
        "open-job",
        job,
        "--buyer",
        "buyer",
        "--provider",
        "provider",
        "--stake",
        stake,
        "--from",
        sender,
    ]


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
        *MECHANISM_FLAGS,
        *extra,
        "--out",
        str(out),
        rpc=False,
    )
    return out


def _supply(cli: Cli) -> int:
    from web3 import HTTPProvider, Web3

    from chain.compiler import artifact

    manifest = json.loads((cli.home / "deployments" / "31337.json").read_text())
    address = manifest["contracts"]["ComputeSafetyToken"]["address"]
    token = Web3(HTTPProvider(cli.rpc)).eth.contract(
        address=address, abi=artifact("ComputeSafetyToken").abi
    )
    return int(token.functions.totalSupply().call())


def test_compliant_job_releases_and_violating_job_burns(world: World) -> None:
    cli, work, urls = world
    nodes = ",".join(urls)
    good, bad = "0x" + "11" * 32, "0x" + "22" * 32
    for job in (good, bad):
        cli.ok(*_open_job(job))
    assert cli.json("wallet", "balance", "buyer")["locked"] == 40 * CST

    submit = ["oracle", "submit", "--nodes", nodes, "--from", "buyer"]
    verdict = cli.json(*submit, str(_attest(cli, work, good)))
    assert (verdict["job"], verdict["verdict"], verdict["clauses"]) == (good, "compliant", [])
    assert len(verdict["signers"]) == 2
    assert cli.json("wallet", "balance", "buyer")["locked"] == 20 * CST

    supply = _supply(cli)
    understated = _attest(cli, work, bad, "--claimed-epsilon", "0.5")
    verdict = cli.json(*submit, str(understated))
    assert (verdict["verdict"], verdict["fault"]) == ("violation", "buyer")
    assert verdict["clauses"] == ["regulator.epsilon_claim"]
    balance = cli.json("wallet", "balance", "buyer")
    assert (balance["staked"], balance["locked"]) == (30 * CST, 0)
    assert _supply(cli) == supply - 20 * CST

    # Again: every node answers 409 with its stored verdict, and the chain already has one.
    cli.rejects(*submit, str(understated), match="already has a verdict")


def test_no_quorum_and_bad_input_are_one_line_exit_2(world: World) -> None:
    cli, work, urls = world
    job = "0x" + "33" * 32
    cli.ok(*_open_job(job, stake="1"))
    attestation = str(_attest(cli, work, job))
    dead = f"http://127.0.0.1:{free_port()}"
    submit = ["oracle", "submit", "--from", "buyer", "--nodes"]
    cli.rejects(*submit, f"{urls[0]},{dead}", attestation, match="fewer than k=2")
    cli.rejects(*submit, urls[0], str(work / "missing.json"), match="FILE")
    cli.rejects(*_open_job("0x1234"), match="job: expected a 0x-prefixed 32-byte hex id")
    cli.rejects(*_open_job("0x" + "44" * 32, stake="1000"), match="--stake")
    cli.rejects(*_open_job(job, stake="1"), match="already open")
    cli.rejects(
        *_open_job("0x" + "55" * 32, stake="1", sender="buyer"),
        match="AccessControlUnauthorizedAccount",
    )
