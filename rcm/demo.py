"""The demo scenario: the life of a compute future, each step under a heading that names it."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from chain.connection import Chain
from chain.system import System
from tokens.amounts import from_units

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from oracle.attester import Enclave
    from oracle.quorum import Quorum

CST = 10**18
RISKY_JOB_BPS = 6_000
JOB_NOTIONAL_MICRO_USD = 40_000_000
ORACLE_NODES, ORACLE_THRESHOLD = 3, 2
# A typical DP-SGD run: σ = 1.1, q = 1 %, 2,000 steps, δ = 1e-5 (ε ≈ 1.1 by the RDP accountant).
DP_SGD = {"noise_multiplier": 1.1, "sampling_rate": 0.01, "steps": 2_000, "delta": 1e-5}


@dataclass
class Demo:
    system: System
    governance: LocalAccount
    console: Console
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def chain(self) -> Chain:
        return self.system.chain

    def heading(self, step: str, text: str) -> None:
        self.console.rule(f"[bold]{step}[/bold] — {text}")

    def table(self, title: str, rows: list[tuple[str, str]]) -> None:
        table = Table(title=title, show_header=False)
        for key, value in rows:
            table.add_row(key, value)
        self.console.print(table)

    def cst(self, units: int) -> str:
        return f"{from_units(units, 'cst')} CST"

    def new_account(self, label: str, cst: int = 0, usd: int = 0) -> LocalAccount:
        """A fresh demo key, funded from governance (the demo's keys live only in memory)."""
        from eth_account import Account

        from tokens.operations import fund

        account = Account.create()
        fund(self.system, self.governance, account.address, cst, usd, 10**18)
        self.summary.setdefault("accounts", {})[label] = account.address
        return account

    # ---- oracle nodes ----

    @contextmanager
    def oracle_nodes(self, workdir: Path, enclave: Enclave) -> Iterator[list[str]]:
        """An oracle set of three nodes registered on-chain, served over HTTP on loopback."""
        from oracle.config import init_oracle_dir, read_node_config
        from oracle.node.background import serving_all
        from oracle.registration import register_oracle_set

        self.heading("oracle", f"{ORACLE_NODES} policy oracle nodes, k = {ORACLE_THRESHOLD}")
        root = workdir / "provider-root.pem"
        root.write_text(enclave.cert_chain[-1])
        password = secrets.token_hex(16)
        init_oracle_dir(
            workdir / "oracle",
            nodes=ORACLE_NODES,
            threshold=ORACLE_THRESHOLD,
            trust_roots=[root],
            password=lambda: password,
        )
        registered = register_oracle_set(self.system, self.governance, workdir / "oracle")
        configs = [read_node_config(path) for path in registered.configs]
        with serving_all(configs, password) as urls:
            self.table(
                "oracle set",
                [(url, c.address) for url, c in zip(urls, configs, strict=True)]
                + [("config digest", registered.config_digest)],
            )
            yield urls

    def judge(self, urls: list[str], enclave: Enclave, job: bytes, **dp: float) -> Quorum:
        """attest → every node verifies and signs → k matching signatures go on-chain."""
        import time

        from chain.policy_oracle import submit
        from chain.verdict import verdict_domain
        from oracle.attester import attest, make_evidence
        from oracle.quorum import choose, collect

        self.heading("attest", "the provider's enclave signs what ran (software attester)")
        dataset = "0x" + self.chain.w3.keccak(text="hospital-a/patients-2026").hex().removeprefix(
            "0x"
        )
        params = {**DP_SGD, **dp}
        evidence = make_evidence(
            "0x" + job.hex(),
            [dataset],
            noise_multiplier=params["noise_multiplier"],
            sampling_rate=params["sampling_rate"],
            steps=int(params["steps"]),
            delta=params["delta"],
            claimed_epsilon=params.get("claimed_epsilon"),
            issued_at=int(time.time()),
        )
        attestation = attest(enclave, evidence)
        self.table(
            "evidence",
            [
                ("job", evidence.job),
                (
                    "mechanism",
                    f"σ={params['noise_multiplier']} q={params['sampling_rate']} "
                    f"T={int(params['steps'])} δ={params['delta']}",
                ),
                ("claimed ε", f"{evidence.dp.claimed_epsilon:.3f}"),
            ],
        )
        self.heading("verdict", "the oracle nodes verify, recompute ε and sign; a quorum submits")
        answers = collect(attestation.model_dump_json().encode(), urls)
        oracle = self.system.oracle.functions
        quorum = choose(
            answers,
            verdict_domain(self.chain.chain_id, self.system.oracle.address),
            {s.lower() for s in oracle.signers().call()},
            oracle.threshold().call(),
        )
        receipt = submit(self.system, self.governance, quorum.verdict, quorum.signatures)
        public = quorum.public
        self.table(
            "verdict",
            [
                ("verdict", public.verdict),
                ("ε recomputed", f"{public.epsilon:.3f}"),
                ("failed clauses", ", ".join(c.id for c in public.clauses) or "none"),
                ("fault", public.fault),
                ("signers", ", ".join(s for s, _ in quorum.signatures)),
                ("gas", str(receipt["gasUsed"])),
            ],
        )
        return quorum

    # ---- the market ----

    def run_clearing(self) -> None:
        """The consortium's round: CP-SAT winner determination, a reason for every non-fill."""
        from market.examples import CLEARING_TIME, consortium_instance
        from market.wdp import SolveParams, clear

        market = consortium_instance()
        self.heading(
            "clear",
            f"the Global Health AI Consortium's round: {len(market.bids)} bundle bids, "
            f"{len(market.items)} items",
        )
        result = clear(market, CLEARING_TIME, SolveParams(time_limit=10.0, workers=2))
        buyers = {bid.id: bid for bid in market.bids}
        won = Table("winner", "buyer", "class", "bundle", "items", title="allocation")
        for fill in result.allocation:
            bid = buyers[fill.bid]
            items = "\n".join(f"{q} {item}" for item, q in fill.items.items())
            won.add_row(fill.bid, bid.buyer, bid.equity_class, str(fill.bundle), items)
        self.console.print(won)
        lost = Table("bid", "buyer", "reason", "detail", title="not filled, and why")
        for loss in result.losing:
            lost.add_row(loss.bid, buyers[loss.bid].buyer, loss.reason, loss.detail)
        self.console.print(lost)
        self.table(
            "quality",
            [
                ("status", result.status),
                ("welfare", f"{result.welfare / 1e6:,.2f} USD"),
                ("bound", f"{result.bound / 1e6:,.2f} USD"),
                ("seconds", f"{result.seconds:.3f}"),
            ],
        )
        self.summary["clearing"] = {
            "status": str(result.status),
            "welfare": result.welfare,
            "winners": [fill.bid for fill in result.allocation],
            "losing": {loss.bid: str(loss.reason) for loss in result.losing},
        }

    # ---- the safety story ----

    def run_safety(self, urls: list[str], enclave: Enclave) -> None:
        """Stake for a risky job; a compliant job earns an audit and a discount; a job that
        understates ε is slashed and its CST burned."""
        from tokens.operations import balances, bond, stake

        vault, reputation, enforcer = (
            self.system.vault,
            self.system.reputation,
            self.system.enforcer,
        )
        buyer = self.new_account("buyer", cst=1_000 * CST)
        provider = self.new_account("provider", cst=500 * CST)
        bond(self.system, provider, 200 * CST)

        self.heading("stake", "a buyer stakes CST for a risky job")
        required = vault.functions.requiredStake(
            buyer.address, RISKY_JOB_BPS, JOB_NOTIONAL_MICRO_USD
        ).call()
        stake(self.system, buyer, 100 * CST)
        self.table(
            "required stake before any audit",
            [
                ("job notional", f"{JOB_NOTIONAL_MICRO_USD / 1e6:.2f} USD"),
                ("safety risk", f"{RISKY_JOB_BPS / 100:.0f} %"),
                ("required stake", self.cst(required)),
                ("buyer's free stake", self.cst(balances(self.system, buyer.address).staked)),
            ],
        )

        self.heading("audit", "a first job runs compliant: stake released, reputation up")
        first_job = self.chain.w3.keccak(text="demo-job-1")
        open_job = enforcer.functions.openJob
        self.chain.send(
            open_job(first_job, buyer.address, provider.address, required), self.governance
        )
        self.judge(urls, enclave, first_job)
        discounted = vault.functions.requiredStake(
            buyer.address, RISKY_JOB_BPS, JOB_NOTIONAL_MICRO_USD
        ).call()
        self.table(
            "reputation",
            [
                ("buyer's score", str(reputation.functions.scoreOf(buyer.address).call())),
                ("discount", f"{reputation.functions.discountBpsOf(buyer.address).call()} bps"),
                ("discounted stake", self.cst(discounted)),
                ("buyer's locked stake", self.cst(balances(self.system, buyer.address).locked)),
            ],
        )

        self.heading("lock", "a second job locks the discounted stake")
        second_job = self.chain.w3.keccak(text="demo-job-2")
        self.chain.send(
            open_job(second_job, buyer.address, provider.address, discounted), self.governance
        )
        held = balances(self.system, buyer.address)
        self.table(
            "buyer's stake", [("free", self.cst(held.staked)), ("locked", self.cst(held.locked))]
        )
        supply_before = self.system.cst.functions.totalSupply().call()
        quorum = self.judge(urls, enclave, second_job, claimed_epsilon=0.5)

        self.heading("slash", "the job understated ε: its stake is burned, reputation down")
        supply_after = self.system.cst.functions.totalSupply().call()
        held = balances(self.system, buyer.address)
        self.table(
            "burn",
            [
                ("CST supply before", self.cst(supply_before)),
                ("CST supply after", self.cst(supply_after)),
                ("burned", self.cst(supply_before - supply_after)),
                ("buyer's locked stake", self.cst(held.locked)),
                ("buyer's score", str(reputation.functions.scoreOf(buyer.address).call())),
            ],
        )
        self.summary["safety"] = {
            "required_stake": required,
            "discounted_stake": discounted,
            "burned": supply_before - supply_after,
            "violation_clauses": [c.id for c in quorum.public.clauses],
            "buyer_score": reputation.functions.scoreOf(buyer.address).call(),
        }


def open_system(rpc: str | None) -> tuple[System, LocalAccount]:
    """The embedded chain with a fresh deployment, or the deployment already on `rpc`
    (deploying one if there is none)."""
    from chain.connection import connect
    from chain.deploy import deploy_system
    from chain.errors import ChainError

    chain = connect(rpc)
    governance = chain.dev_account(0)
    if not chain.embedded:
        try:
            return System.load(chain), governance
        except ChainError:
            pass
    return deploy_system(chain, governance), governance


def run(rpc: str | None, console: Console) -> dict[str, Any]:
    from oracle.attester import new_enclave

    system, governance = open_system(rpc)
    demo = Demo(system, governance, console)
    demo.heading("deploy", f"the system on chain {system.chain.chain_id} ({system.chain.rpc})")
    demo.table("contracts", [(n, c.address) for n, c in system.manifest.contracts.items()])
    demo.run_clearing()
    enclave = new_enclave()
    with (
        tempfile.TemporaryDirectory(prefix="rcm-demo-") as workdir,
        demo.oracle_nodes(Path(workdir), enclave) as urls,
    ):
        demo.run_safety(urls, enclave)
    return demo.summary
