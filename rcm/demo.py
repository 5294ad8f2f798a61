"""The demo scenario: the life of a compute future, each step under a heading that names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from chain.connection import Chain
from chain.system import System
from tokens.amounts import from_units

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

RISKY_JOB_BPS = 6_000
JOB_NOTIONAL_MICRO_USD = 40_000_000
AUDITS_PASSED = 3


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

    def new_account(self, label: str, cst: int = 0, usd: int = 0) -> LocalAccount:
        """A fresh demo key, funded from governance (the demo's keys live only in memory)."""
        from eth_account import Account

        from tokens.operations import fund

        account = Account.create()
        fund(self.system, self.governance, account.address, cst, usd, 10**18)
        self.summary.setdefault("accounts", {})[label] = account.address
        return account

    def cst(self, units: int) -> str:
        return f"{from_units(units, 'cst')} CST"

    def run_safety_spine(self) -> None:
        """Stake for a risky job, earn a discount through audits, lock, slash, show the burn."""
        from tokens.operations import balances, stake

        vault, reputation = self.system.vault, self.system.reputation
        self.heading("stake", "a buyer stakes CST for a risky job")
        buyer = self.new_account("buyer", cst=1_000 * 10**18)
        required = vault.functions.requiredStake(
            buyer.address, RISKY_JOB_BPS, JOB_NOTIONAL_MICRO_USD
        ).call()
        stake(self.system, buyer, 100 * 10**18)
        self.table(
            "required stake before any audit",
            [
                ("job notional", f"{JOB_NOTIONAL_MICRO_USD / 1e6:.2f} USD"),
                ("safety risk", f"{RISKY_JOB_BPS / 100:.0f} %"),
                ("required stake", self.cst(required)),
                ("buyer's free stake", self.cst(balances(self.system, buyer.address).staked)),
            ],
        )

        self.heading("audit", f"the buyer passes {AUDITS_PASSED} audits and earns a stake discount")
        for _ in range(AUDITS_PASSED):
            self.chain.send(reputation.functions.recordAudit(buyer.address, True), self.governance)
        discounted = vault.functions.requiredStake(
            buyer.address, RISKY_JOB_BPS, JOB_NOTIONAL_MICRO_USD
        ).call()
        self.table(
            "reputation",
            [
                ("score", str(reputation.functions.scoreOf(buyer.address).call())),
                ("discount", f"{reputation.functions.discountBpsOf(buyer.address).call()} bps"),
                ("discounted stake", self.cst(discounted)),
            ],
        )

        self.heading("lock", "the clearing role locks the job's stake")
        job_id = self.chain.w3.keccak(text="demo-job-risky")
        self.chain.send(vault.functions.lock(job_id, buyer.address, discounted), self.governance)
        held = balances(self.system, buyer.address)
        self.table(
            "buyer's stake", [("free", self.cst(held.staked)), ("locked", self.cst(held.locked))]
        )

        self.heading("slash", "the job violates policy: its lock is slashed and the CST burned")
        supply_before = self.system.cst.functions.totalSupply().call()
        self.chain.send(vault.functions.slash(job_id, discounted), self.governance)
        supply_after = self.system.cst.functions.totalSupply().call()
        held = balances(self.system, buyer.address)
        self.table(
            "burn",
            [
                ("CST supply before", self.cst(supply_before)),
                ("CST supply after", self.cst(supply_after)),
                ("burned", self.cst(supply_before - supply_after)),
                ("total ever burned", self.cst(self.system.cst.functions.totalBurned().call())),
                ("buyer's locked stake", self.cst(held.locked)),
            ],
        )
        self.summary["safety"] = {
            "required_stake": required,
            "discounted_stake": discounted,
            "burned": supply_before - supply_after,
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
    system, governance = open_system(rpc)
    demo = Demo(system, governance, console)
    demo.heading("deploy", f"the system on chain {system.chain.chain_id} ({system.chain.rpc})")
    demo.table("contracts", [(n, c.address) for n, c in system.manifest.contracts.items()])
    demo.run_safety_spine()
    return demo.summary
