"""The oracle quorum end to end from the CLI: a Hardhat node, three `rcm oracle serve`
processes, and a compliant and a violating job — futures of a round driven through the
contracts and redeemed — released and burned through a k-of-n verdict `rcm oracle submit`
lands."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chain.bid import Bundle
from chain.connection import connect
from chain.settlement import Status
from chain.system import System
from tests.contracts.settlement_fixtures import USD, Market, build_market
from tests.oracle.factories import MECHANISM_FLAGS, PASSWORD, start_node
from tests.rcm.test_json_convention import check_document
from tests.support import Cli, free_port
from tokens import wallets

pytestmark = pytest.mark.hardhat
MILLI_CST = 10**15
# Hardhat's development accounts (public test mnemonic, TEST-ONLY).
GOVERNANCE, PROVIDER, AUCTIONEER, OWNER, BUYER = 0, 5, 7, 8, 4
PRICE_SIGNERS = (10, 11, 12)  # price the round before `rcm oracle register` replaces the set


@dataclass(frozen=True)
class World:
    cli: Cli
    work: Path
    urls: list[str]
    market: Market
    jobs: list[str]  # redeemed futures: the buyer's stake for each is locked


def _redeemed_futures(system: System, count: int) -> tuple[Market, list[str]]:
    """A round of `count` one-unit bids of the buyer's, all filled, priced, closed and
    redeemed: each future is now an open oracle job."""
    chain = system.chain
    buyer = chain.dev_account(BUYER)
    market = build_market(system, chain.dev_account(GOVERNANCE), chain.dev_account(AUCTIONEER),
                          chain.dev_account(PROVIDER), chain.dev_account(OWNER), [buyer],
                          [chain.dev_account(i) for i in PRICE_SIGNERS])
    round_id = market.open_round()
    bids = [market.bid(buyer, round_id, Bundle((i,), (1,), 5 * USD)) for i in range(count)]
    market.fill(round_id, buyer, bids)
    market.settle(round_id)
    for bid in bids:
        market.redeem(bid, buyer)
    return market, ["0x" + market.digest(bid).hex() for bid in bids]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("quorum-cli")
    port = free_port()
    cli = Cli(work / "home", f"http://127.0.0.1:{port}", password=PASSWORD)
    cli.ok("testnet", "start", "--port", str(port), rpc=False)
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        chain = connect(cli.rpc)
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RCM_HOME", str(cli.home))
            wallets.create("buyer", PASSWORD, bytes(chain.dev_account(BUYER).key))
            system = System.load(chain)
        market, jobs = _redeemed_futures(system, 3)
        cli.ok("enclave", "init", str(work / "enclave"), rpc=False)
        root = str(work / "enclave" / "root.pem")
        oracle = work / "oracle"
        cli.ok("oracle", "init", str(oracle), "--threshold", "2", "--trust-root", root, rpc=False)
        cli.ok("oracle", "register", str(oracle), "--from", "governance")
        ports = [free_port() for _ in range(3)]
        # Nodes reading no chain judge by their files: what this test is about is the quorum.
        for i, node_port in enumerate(ports, start=1):
            nodes.append(start_node(oracle / f"node-{i}.toml", node_port))
        yield World(cli, work, [f"http://127.0.0.1:{p}" for p in ports], market, jobs)
    finally:
        for node in nodes:
            node.kill()
            node.wait()
        cli("testnet", "stop", rpc=False)


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


def _stake(world: World, job: str) -> int:
    return world.market.record(bytes.fromhex(job[2:])).stake_milli_cst * MILLI_CST


def _locked(world: World) -> int:
    return int(world.cli.json("wallet", "balance", "buyer")["locked_wei"])


def test_compliant_job_releases_and_violating_job_burns(world: World) -> None:
    cli, work, nodes = world.cli, world.work, ",".join(world.urls)
    good, bad = world.jobs[:2]
    locked = _locked(world)
    assert locked == _stake(world, good) + _stake(world, bad) + _stake(world, world.jobs[2]) > 0

    submit = ["oracle", "submit", "--nodes", nodes, "--from", "buyer"]
    verdict = cli.json(*submit, str(_attest(cli, work, good)))
    check_document(verdict, acts=True)  # the --json convention; its other commands there
    assert (verdict["job"], verdict["verdict"], verdict["clauses"]) == (good, "compliant", [])
    assert len(verdict["signers"]) == 2
    assert _locked(world) == locked - _stake(world, good)
    assert world.market.record(bytes.fromhex(good[2:])).status is Status.SETTLED

    supply = _supply(cli)
    understated = _attest(cli, work, bad, "--claimed-epsilon", "0.5")
    verdict = cli.json(*submit, str(understated))
    assert (verdict["verdict"], verdict["fault"]) == ("violation", "buyer")
    assert verdict["clauses"] == ["regulator.epsilon_claim"]
    assert _locked(world) == _stake(world, world.jobs[2])
    assert _supply(cli) == supply - _stake(world, bad)
    assert world.market.record(bytes.fromhex(bad[2:])).status is Status.VOIDED

    # Again: every node answers 409 with its stored verdict, and the chain already has one.
    cli.rejects(*submit, str(understated), match="already has a verdict")


def test_no_quorum_and_bad_input_are_one_line_exit_2(world: World) -> None:
    cli, work, urls = world.cli, world.work, world.urls
    attestation = str(_attest(cli, work, world.jobs[2]))
    dead = f"http://127.0.0.1:{free_port()}"
    submit = ["oracle", "submit", "--from", "buyer", "--nodes"]
    cli.rejects(*submit, f"{urls[0]},{dead}", attestation, match="fewer than k=2")
    cli.rejects(*submit, urls[0], str(work / "missing.json"), match="FILE")
    # A job the clearing house never opened: refused before any node is asked.
    stray = "0x" + "55" * 32
    cli.rejects(*submit, ",".join(urls), str(_attest(cli, work, stray)),
                match=f"job: {stray} is not open on-chain")
    assert world.market.record(bytes.fromhex(world.jobs[2][2:])).status is Status.REDEEMED
