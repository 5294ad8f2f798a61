"""The scripts in examples/ as a user runs them, each a subprocess against one Hardhat node
started here, with the chain driven between runs by `rcm` commands: the provider posts its
sheet into a round once, the buyer bids once in the commit phase, reveals, and takes its change
once the round is final; the data owner registers once and offers its next tranche when a buyer
has taken the last. Checks read the chain through the SDK, and chain time moves in-process
(as `rcm testnet advance` moves it): every process costs two seconds of imports."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import rcm
from market.orders import save_bid, saved_bids
from tests.support import Cli, running_testnet
from tokens import operations, wallets

pytestmark = pytest.mark.hardhat
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CST, USD, EPSILON = 10**18, 10**6, 10**6
PHASE = 120
PRICING_WINDOW = 3_600  # the launch policy's


@dataclass(frozen=True)
class Net:
    cli: Cli
    market: rcm.Market

    def run(self, script: str, *args: str) -> list[str]:
        """The example's printed lines; it must succeed and print nothing on stderr."""
        done = subprocess.run(
            [sys.executable, f"examples/{script}", *args, "--rpc", self.cli.rpc],
            cwd=ROOT, env=self.cli.env, capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        return done.stdout.splitlines()

    def advance(self, seconds: int) -> None:
        """What `rcm testnet advance` does, without starting a process."""
        self.market.system.chain.advance_time(seconds)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    home = tmp_path_factory.mktemp("examples")
    with running_testnet(home) as cli, pytest.MonkeyPatch.context() as env:
        env.setenv("RCM_HOME", str(home))
        env.setenv("RCM_PASSWORD", "pw")
        market = rcm.Market.connect(cli.rpc)
        system = market.system
        funds = {"governance": (200, 0), "acme": (200, 0), "lab": (500, 3_000),
                 "owner": (0, 0), "clinic": (0, 0)}
        for name, (cst, usd) in funds.items():
            address = (market.wallet(name).address if name == "governance"
                       else wallets.create(name, "pw"))
            operations.fund(system, system.chain.dev_account(0), address, cst * CST, usd * USD,
                            10**19)
        market.wallet("governance").bond(100)  # the auctioneer's
        market.wallet("acme").bond(180)  # 10 CST a unit offered
        market.wallet("lab").stake(480)
        yield Net(cli, market)


def test_the_data_owner_registers_once_and_offers_the_next_tranche(net: Net, tmp_path: Path
                                                                   ) -> None:
    data = tmp_path / "cohort.csv"
    data.write_text("patient,age\n1,54\n")
    args = ("owner", str(data), "--epsilon", "5", "--delta", "1e-5", "--purpose", "diagnostics",
            "--tranche", "2", "--price", "3")
    owner = net.market.wallet("owner")

    registered, offered = net.run("data_owner.py", *args)
    (dataset,) = owner.datasets()
    assert dataset.content_hash == "0x" + hashlib.sha256(data.read_bytes()).hexdigest()
    assert (dataset.total_micro_eps, dataset.held_micro_eps) == (5 * EPSILON, 5 * EPSILON)
    assert dataset.purposes == ["diagnostics"]
    assert (dataset.offer_micro_eps, dataset.offer_price_micro_usd) == (2 * EPSILON, 3 * USD)
    assert registered.startswith(f"registered dataset {dataset.id}: 5 ε")
    assert offered == (f"offered 2 ε of dataset {dataset.id} at 3 USD/ε "
                       "(3 ε to offer after it)")
    assert net.run("data_owner.py", *args) == []  # its offer stands

    net.cli.ok("wallet", "budget", "buy", "lab", dataset.id, "owner", "2", "--price", "3")
    (dataset,) = owner.datasets()
    assert (dataset.offer_micro_eps, dataset.held_micro_eps) == (0, 3 * EPSILON)

    assert net.run("data_owner.py", *args) == [
        f"offered 2 ε of dataset {dataset.id} at 3 USD/ε (1 ε to offer after it)"]
    (dataset,) = owner.datasets()  # still the one dataset: registered once
    assert (dataset.offer_micro_eps, dataset.offer_price_micro_usd, dataset.held_micro_eps) == (
        2 * EPSILON, 3 * USD, 3 * EPSILON)


def test_a_provider_and_a_buyer_through_a_round(net: Net, tmp_path: Path) -> None:
    market, cli = net.market, net.cli
    lab, acme = market.wallet("lab"), market.wallet("acme")
    # The buyer's job uses private data: 1 ε of a clinic's dataset.
    clinic = market.wallet("clinic")
    dataset = clinic.register_dataset(content_hash="0x" + "22" * 32, epsilon=2, delta="1e-5",
                                      purposes=["diagnostics"]).dataset
    clinic.grant(dataset, lab.address, 1)
    strategy = tmp_path / "strategy.toml"
    (tmp_path / "declaration.json").write_bytes((EXAMPLES / "declaration.json").read_bytes())
    strategy.write_text(_uncomment((EXAMPLES / "strategy.toml").read_text(), {
        '# dataset = "0x3b7…"': f'dataset = "{dataset}"',
        "# epsilon = 1.0": "epsilon = 1.0", "# delta = 1e-6": "delta = 1e-6"}))
    # The shipped sheet, in a week a year from now: a slot must end after the round is final.
    slot = (datetime.now(UTC) + timedelta(days=365)).date().isoformat()
    sheet = tmp_path / "capacity.csv"
    sheet.write_text(_uncomment((EXAMPLES / "capacity.csv").read_text(), {"2027-06-07": slot}))

    opened = cli.json("round", "open", *(f"--{p}={PHASE}" for p in ("commit", "reveal", "post",
                                                                   "challenge")))
    round_id = int(opened["round"])
    r = str(round_id)
    assert net.run("provider.py", "acme", str(sheet)) == [
        f"round {r}: item 0 is 8 gpu-week of gpu in euw1 from {slot} (certified), "
        "reserve 100.00 USD per unit",
        f"round {r}: item 1 is 10 kW-week of power in euw1 from {slot} (certified), "
        "reserve 10.00 USD per unit"]
    assert [(a.item, a.provider) for a in market.book(round_id).asks] == [
        (0, acme.address), (1, acme.address)]
    assert net.run("provider.py", "acme", str(sheet)) == []
    assert len(market.book(round_id).asks) == 2

    usd = lab.balances().usd_micro_usd
    (bid,) = net.run("buyer.py", "lab", str(strategy))
    (digest,) = lab.committed(round_id)
    # The job's most: 8 GPU-weeks at 150 USD and 10 kW-weeks at 15 USD.
    assert bid.startswith(f"round {r}: bid {digest[:18]} with 1 bundle(s), deposit 1,350.00 USD")
    assert usd - lab.balances().usd_micro_usd == 1_350 * USD
    record = market.book(round_id).records[bytes.fromhex(digest[2:])]
    assert (record.status.name, record.epsilon_micros) == ("COMMITTED", EPSILON)
    assert net.run("buyer.py", "lab", str(strategy)) == []
    assert lab.committed(round_id) == [digest]
    # A bid signed and saved whose commit never reached the chain is not one of them.
    (_, saved, signature), = saved_bids(market.system)
    save_bid(market.system, replace(saved, salt=b"\x01" * 32), signature)
    assert len(saved_bids(market.system)) == 2 and lab.committed(round_id) == [digest]

    net.advance(PHASE + 1)
    assert net.run("buyer.py", "lab", str(strategy)) == [f"round {r}: revealed {digest[:18]}"]
    assert market.book(round_id).unrevealed() == []

    net.advance(PHASE)
    cleared = cli.json("auction", "run", "--round", r, "--workers", "1")
    assert [fill["bid"] for fill in cleared["allocation"]] == [digest]
    net.advance(2 * PHASE + PRICING_WINDOW)
    cli.ok("round", "finalise", r)

    usd = lab.balances().usd_micro_usd
    # Unpriced, the winner pays the reserve prices, 900 USD, and gets 450 back.
    assert net.run("buyer.py", "lab", str(strategy)) == ["withdrew 450.00 USD"]
    assert lab.balances().usd_micro_usd - usd == 450 * USD
    (future,) = lab.futures()
    assert (future.id, future.status, future.payment_micro_usd) == (digest, "unclaimed",
                                                                    900 * USD)
    assert net.run("buyer.py", "lab", str(strategy)) == []


def _uncomment(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text
