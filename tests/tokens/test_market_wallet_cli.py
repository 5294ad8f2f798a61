"""`rcm wallet budget ...` and `rcm wallet futures|claim|transfer-future|redeem` as a user runs
them, against a Hardhat node started here; the future comes from a round driven directly
through the contracts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import Bundle
from chain.connection import connect
from chain.ledger import dataset_id
from chain.settlement import Phase
from chain.system import System
from risk.declaration import declaration_hash, read_declaration
from risk.rubric import launch_rubric_hash
from tests.contracts.settlement_fixtures import CST, POLICY, USD, build_market
from tests.support import Cli, declaration, running_testnet
from tokens import wallets

pytestmark = pytest.mark.hardhat
# Hardhat's development accounts (public test mnemonic, TEST-ONLY) behind the CLI's wallets.
WALLETS = {"owner": 8, "alice": 4, "bob": 9}
GOVERNANCE, PROVIDER, AUCTIONEER = 0, 5, 7
ORACLE_NODES = (10, 11, 12)  # sign the round's price report
# Issue 18: mixed case that is not its EIP-55 checksum.
MISTYPED = "0xB5f6E8eB1A846824b38a3f214F0CF487A9386617"


@dataclass(frozen=True)
class Node:
    cli: Cli
    system: System
    accounts: dict[str, LocalAccount]

    def nonce(self, name: str) -> int:
        w3 = self.system.chain.w3
        return int(w3.eth.get_transaction_count(self.accounts[name].address))

    @property
    def governance(self) -> LocalAccount:
        return self.system.chain.dev_account(GOVERNANCE)

    def stake(self, name: str, amount: int) -> None:
        """Mints CST to the wallet and stakes it, straight through the contracts."""
        chain, system, account = self.system.chain, self.system, self.accounts[name]
        chain.send(system.cst.functions.mint(account.address, amount), self.governance)
        chain.send(system.cst.functions.approve(system.vault.address, amount), account)
        chain.send(system.vault.functions.stake(amount), account)

    def rejects(self, sender: str, *args: str, match: str) -> None:
        """Exit 2 with one line naming the problem, and `sender` sent nothing."""
        nonce = self.nonce(sender)
        self.cli.rejects(*args, match=match)
        assert self.nonce(sender) == nonce


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    home = tmp_path_factory.mktemp("market-wallet-cli")
    with running_testnet(home) as cli:
        chain = connect(cli.rpc)
        accounts = {name: chain.dev_account(index) for name, index in WALLETS.items()}
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RCM_HOME", str(home))
            for name, account in accounts.items():
                wallets.create(name, "pw", bytes(account.key))
            system = System.load(chain)
        yield Node(cli, system, accounts)


@pytest.fixture(scope="module")
def future(node: Node) -> str:
    """A future alice won: a round driven through the ClearingHouse to its final phase."""
    chain = node.system.chain
    market = build_market(
        node.system,
        chain.dev_account(GOVERNANCE),
        chain.dev_account(AUCTIONEER),
        chain.dev_account(PROVIDER),
        node.accounts["owner"],
        [node.accounts["alice"]],
        [chain.dev_account(index) for index in ORACLE_NODES],
    )
    # The launch rubric, which this machine holds: a redeemer's declaration is scored by it.
    policy = replace(POLICY, rubric_hash=launch_rubric_hash())
    node.system.chain.send(node.system.policies.functions.setPolicy(policy.as_args()),
                           chain.dev_account(GOVERNANCE))
    round_id = market.open_round()
    bid = market.bid(node.accounts["alice"], round_id, Bundle((0, 1), (2, 3), 20 * USD))
    market.commit(bid, node.accounts["alice"])
    market.enter(round_id, Phase.REVEAL)
    market.reveal(bid, node.accounts["alice"])
    market.enter(round_id, Phase.POST)
    market.post(round_id, (bid, 0))
    market.enter(round_id, Phase.PRICE)
    market.price(round_id, market.report(round_id, payments=[10 * USD]))
    market.finalise(round_id)
    market.close(round_id)
    return "0x" + market.digest(bid).hex()


def test_register_grant_sell_buy_and_list_a_budget(node: Node, tmp_path: Path) -> None:
    cli = node.cli
    data = tmp_path / "cohort.csv"
    data.write_text("patient,age\n1,54\n")
    registered = cli.json(
        "wallet", "budget", "register", "owner", "--file", str(data), "--epsilon", "20",
        "--delta", "1e-5", "--total-delta", "1e-4",
        "--purpose", "research", "--purpose", "training", "--purpose", "clinical-research",
    )  # fmt: skip
    dataset = registered["dataset"]
    expected = dataset_id(
        node.accounts["owner"].address, hashlib.sha256(data.read_bytes()).digest()
    )
    assert dataset == f"0x{expected:064x}" and registered["epsilon_micro_eps"] == 20_000_000
    assert (registered["max_delta_atto"], registered["total_delta_atto"]) == (10**13, 10**14)
    # Named by its first 8 hex digits, as `git` takes an abbreviated hash.
    granted = cli.ok("wallet", "budget", "grant", "owner", hex(int(dataset, 16))[:10], "bob",
                     "2")
    assert " ".join(granted.split()).startswith(f"granted 2 ε of {hex(expected)} to ")
    offered = cli.ok("wallet", "budget", "sell", "owner", dataset, "5", "--price", "3")
    assert f"offered 5 ε of {hex(expected)} at 3.00 USD per ε" in " ".join(offered.split())
    usd = node.system.usd
    node.system.chain.send(
        usd.functions.mint(node.accounts["bob"].address, 50 * USD), node.governance
    )
    bought = cli.ok("wallet", "budget", "buy", "bob", dataset, "owner", "2.5", "--price", "3")
    assert "for 7.50 USD" in " ".join(bought.split())
    (held,) = cli.json("wallet", "budget", "list", "bob")
    assert (held["id"], held["owner"], held["total_micro_eps"], held["held_micro_eps"]) == (
        dataset,
        node.accounts["owner"].address,
        20_000_000,
        4_500_000,
    )
    assert sorted(held["purposes"]) == ["clinical-research", "research", "training"]
    assert (held["total_delta_atto"], held["reserved_delta_atto"]) == (10**14, 0)
    assert usd.functions.balanceOf(node.accounts["bob"].address).call() == 50 * USD - 7_500_000
    table = cli.ok("wallet", "budget", "list", "owner")
    assert hex(expected) in table and "offered: 2.5 ε at 3.00 USD/ε" in table
    # A purpose by name where a policy names it (the launch policy's clinical-research).
    assert "purposes: clinical-research, training," in table
    assert "δ: 0.0001 in all, 0.00001 per job" in table and "δ consumed: 0, reserved: 0" in table

    register = ("wallet", "budget", "register", "owner", "--content-hash", "0x" + "44" * 32,
                "--epsilon", "1", "--purpose", "research")  # fmt: skip
    node.rejects(
        "owner", *register, "--delta", "1e-5", "--total-delta", "1e-6",
        match="--total-delta: 0.000001 is below the per-job cap 0.00001",
    )  # fmt: skip
    node.rejects(
        "owner", *register, "--delta", "0.01",
        match="--total-delta: δ must be below 1, got 1 (by default 100 × the per-job cap)",
    )  # fmt: skip

    node.rejects(
        "bob", "wallet", "budget", "buy", "bob", dataset, "owner", "1", "--price", "2",
        match="--price: the seller asks 3.00 USD per ε, not 2.00",
    )  # fmt: skip
    node.rejects(
        "bob", "wallet", "budget", "buy", "bob", dataset, MISTYPED, "1", "--price", "3",
        match=f"SELLER: {MISTYPED}: bad EIP-55 checksum",
    )  # fmt: skip
    node.rejects(
        "bob", "wallet", "budget", "grant", "bob", dataset, "alice", "5",
        match="EPSILON: 5 ε exceeds the wallet's budget of 4.5",
    )  # fmt: skip


def _file(directory: Path, name: str, content: dict[str, Any]) -> str:
    path = directory / name
    path.write_text(json.dumps(content))
    return str(path)


def test_claim_transfer_and_redeem_a_won_future(node: Node, future: str, tmp_path: Path
                                                ) -> None:
    cli = node.cli
    (won,) = cli.json("wallet", "futures", "alice")
    assert (won["id"], won["status"], won["payment_micro_usd"]) == (future, "unclaimed", 10 * USD)
    # Named as `round status` names a round's items: the tier by name, units as `_units`.
    assert [(i["item"], i["quantity_units"], i["kind"], i["tier"]) for i in won["items"]] == [
        (0, 2, "gpu", "certified"), (1, 3, "gpu", "certified")]
    node.rejects("bob", "wallet", "claim", "bob", future, match="not this wallet")

    node.rejects("alice", "wallet", "claim", "alice", future[:9],
                 match=f"FUTURE_IDS: {future[:9]} is too short to name an id: give at least 8")
    unknown = "0x" + ("2" if future[2] == "1" else "1") + future[3:12]
    node.rejects("alice", "wallet", "claim", "alice", unknown,
                 match=f"{unknown} is the start of none of this wallet's futures and bids")
    cli.ok("wallet", "claim", "alice", future[:12])  # 10 digits: 8 after any leading zeros
    sent = cli.ok("wallet", "transfer-future", "alice", "bob", future[:12])
    assert " ".join(sent.split()).startswith(f"sent future {future} to ")
    node.rejects(
        "bob", "wallet", "transfer-future", "bob", MISTYPED, future,
        match=f"TO: {MISTYPED}: bad EIP-55 checksum",
    )  # fmt: skip
    # Bob did not bid: he declares the job he will run, under the future's 1,000 bps.
    node.rejects("bob", "wallet", "redeem", "bob", future,
                 match="--declaration: give the declaration of the job this wallet will run")
    riskier = _file(tmp_path, "riskier.json", declaration("research", "medium"))
    node.rejects("bob", "wallet", "redeem", "bob", future, "--declaration", riskier,
                 match="--declaration: the job scores 3,000 bps, above the 1,000 bps the "
                       "future was staked for")
    job = _file(tmp_path, "job.json", declaration("research", "low"))
    # 20 USD deposit × 10% risk (the low band's minimum) × 1 CST per USD: bob backs the job
    # with 2 CST of free stake.
    node.rejects("bob", "wallet", "redeem", "bob", future, "--declaration", job,
                 match="stake 2 more")
    node.stake("bob", 2 * CST)
    redeemed = cli.json("wallet", "redeem", "bob", future, "--declaration", job)
    assert redeemed["declaration"] == "0x" + declaration_hash(read_declaration(Path(job))).hex()
    listed = cli.ok("wallet", "futures", "bob").replace("\n    ", " ")  # wrapped lines joined
    assert f"{future}\n  round 1, redeemed" in listed
    assert "2 gpu-hour (gpu, us-east, certified tier, slot" in listed
    assert " UTC + 1 h, item " in listed
    assert "risk 1,000 bps, payment 10.00 USD" in listed
