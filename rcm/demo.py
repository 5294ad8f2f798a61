"""The demo scenario: the life of a compute future, each step under a heading that names it."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TextIO, TypedDict

from chain.amounts import amount_text, grouped
from chain.clearing_house import BidRecord, ProviderBond
from chain.compute_futures import future_balance
from chain.connection import Chain
from chain.erc20 import balance_of, total_supply
from chain.errors import ChainError
from chain.ledger import Dataset, reserved_micro_epsilon
from chain.reputation import discount_bps, score_micro_usd
from chain.system import System
from chain.vault import required_stake_wei
from rcm.commands.tables import WIDTH, Table, counted, short
from rcm.pricer import ChainReads

if TYPE_CHECKING:
    from chain.contract import Contract, Receipt
    from chain.signer import Signer
    from market.model import Bid, Market
    from market.result import PricedClearing
    from oracle.attestation import Evidence, ResourceUse
    from oracle.attester import Enclave
    from oracle.future import FutureTerms
    from oracle.quorum import Quorum
    from rcm.consortium import Consortium
    from risk.declaration import Declaration

CST = 10**18
USD = 10**6
DEFAULT_DATASET = "0x" + "00" * 31 + "01"
VIOLATOR_BID = "helixgen-llm-finetune"  # understates its ε at delivery
RISK_VIOLATOR_BID = "nhs-sepsis-warning"  # declared fine-tuning, runs a training run
RESOLD_BID = "pasteur-amr-discovery"  # its future is sold twice before delivery
SPECULATOR = "speculator"  # buys capacity by criteria, sells the future on
RESALE_BUYER = "charite"
SPECULATOR_MARKUP = 250 * USD  # what the speculator bids over the round's payment
RESALE_MARKUP = 500 * USD  # and what it sells for
RESALE_ORDER_SECONDS = 3_600  # how long each order stands
EXCHANGE_FEE_BPS = 100
ORACLE_NODES, ORACLE_THRESHOLD = 3, 2


class DpRun(TypedDict):
    """A DP-SGD run as the attester takes it, but for δ, which is the job's."""

    noise_multiplier: float
    sampling_rate: float
    steps: int
    claimed_epsilon: NotRequired[float]


# A typical DP-SGD run: σ = 1.1, q = 1 %, 2,000 steps (by the RDP accountant, ε ≈ 2.7 at
# δ = 1e-6, the resold future's, which bought 3.5).
DP_SGD = DpRun(noise_multiplier=1.1, sampling_rate=0.01, steps=2_000)
# A smaller run: ε ≈ 0.66 at δ = 1e-7, inside the 0.8 ε the violator's future bought (and the
# 1.5 the risk violator's did, at its δ of 1e-6). The violator claims less than even that.
SMALL = DpRun(noise_multiplier=2.5, sampling_rate=0.01, steps=1_000)
UNDERSTATED = DpRun(**SMALL, claimed_epsilon=0.5)
# Each delivered job by its name in the summary: the future's redeemer runs this DP-SGD, and the
# slash heading says what the quorum found.
RUNS = {"compliant": DP_SGD, "violation": UNDERSTATED, "understated": SMALL}
SLASHED = {"violation": "the job understated ε: stake burned, future voided",
           "understated": "the job ran riskier than it declared: stake burned, future voided"}


@dataclass
class Printer:
    """Where the demo tells its story: headings and tables, at most 80 columns."""

    stream: TextIO

    def rule(self, text: str) -> None:
        lines = textwrap.wrap(f"── {text}", WIDTH - 2, subsequent_indent="   ")
        lines[-1] += f" {'─' * max(WIDTH - len(lines[-1]) - 1, 0)}"
        self.print("\n" + "\n".join(lines))

    def print(self, shown: object = "") -> None:
        print(shown, file=self.stream, flush=True)


@dataclass
class Demo:
    system: System
    governance: Signer
    console: Printer
    summary: dict[str, Any] = field(default_factory=dict)
    reads: ChainReads = field(init=False)

    def __post_init__(self) -> None:
        # What the oracle nodes read from the chain, and the attester a future's terms from.
        self.reads = ChainReads(lambda: self.system)

    @property
    def chain(self) -> Chain:
        return self.system.chain

    def heading(self, step: str, text: str) -> None:
        self.console.rule(f"{step} — {text}")

    def table(self, title: str, rows: list[tuple[str, str]]) -> None:
        table = Table(title=title)
        for key, value in rows:
            table.add_row(key, value)
        self.console.print(table)

    def cst(self, units: int) -> str:
        return f"{amount_text(units, 'cst')} CST"

    def new_account(self, label: str, cst: int = 0, usd: int = 0) -> Signer:
        """A fresh demo key, funded from governance (the demo's keys live only in memory)."""
        from eth_account import Account

        from tokens.operations import fund

        account = Account.create()
        fund(self.system, self.governance, account.address, cst, usd, 10**18)
        self.summary.setdefault("accounts", {})[label] = account.address
        return account

    # ---- oracle nodes ----

    @contextmanager
    def oracle_nodes(self, workdir: Path, enclave: Enclave, market: Consortium
                     ) -> Iterator[list[str]]:
        """An oracle set of three nodes registered on-chain, under policies fit for the
        market's round, served over HTTP on loopback; each reads the chain."""
        from oracle.config import (
            STAKEHOLDERS,
            init_oracle_dir,
            read_node_config,
            read_policies,
            write_toml,
        )
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
        files = configs[0].policies
        policies = market.oracle_policies(read_policies(files))
        for name in STAKEHOLDERS:
            write_toml(getattr(files, name), getattr(policies, name), overwrite=True)
        with serving_all(configs, password, self.reads.price, self.reads.future) as urls:
            self.table(
                "oracle set",
                [(url, c.address) for url, c in zip(urls, configs, strict=True)]
                + [("config digest", short(registered.config_digest)),
                   ("purposes", ", ".join(sorted(policies.regulator.max_epsilon)))],
            )
            yield urls

    def judge(self, urls: list[str], enclave: Enclave, evidence: Evidence,
              future: FutureTerms | None = None) -> Quorum:
        """attest → every node verifies and signs → k matching signatures go on-chain. The
        nodes judge a future's job against `future`, which they read from the chain too."""
        from oracle.attester import attest
        from oracle.quorum import settle

        self.heading("attest", "the provider's enclave signs what ran (software attester)")
        attestation = attest(enclave, evidence)
        dp = evidence.dp
        bought = [] if future is None else [
            ("the future bought", f"{_capacity(future.bought)}; ε {future.epsilon:g} at "
                                  f"δ {future.delta:g}")]
        self.table(
            "evidence",
            [
                ("job", evidence.job),
                ("purpose", evidence.purpose),
                ("mechanism", f"σ={dp.noise_multiplier:g} q={dp.sampling_rate:g} "
                              f"T={dp.steps} δ={dp.delta:g}"),
                ("claimed ε", f"{dp.claimed_epsilon:.3f}"),
                ("used", _capacity(evidence.resources)),
                *bought,
            ],
        )
        self.heading("verdict", "the oracle nodes verify, recompute ε and sign; a quorum submits")
        quorum, receipt = settle(self.system, self.governance,
                                 attestation.model_dump_json().encode(), urls)
        public = quorum.public
        self.table(
            "verdict",
            [
                ("verdict", public.verdict),
                ("ε recomputed", f"{public.epsilon:.3f}"),
                ("failed clauses", ", ".join(c.id for c in public.clauses) or "none"),
                ("fault", public.fault),
                ("signers", ", ".join(s for s, _ in quorum.signatures)),
                ("gas", f"{receipt.gas_used:,}"),
            ],
        )
        return quorum

    # ---- the market ----

    def run_market(self, market: Consortium, urls: list[str], enclave: Enclave) -> None:
        self.budgets(market)
        self.stakes(market)
        self.bids(market)
        result = self.clearing(market)
        self.settle(market, result, urls)
        self.futures(market)
        resold = self.resale(market)
        self.deliver(market, urls, enclave, resold, "compliant")
        self.deliver(market, urls, enclave, market.digests[VIOLATOR_BID], "violation")
        self.deliver(market, urls, enclave, market.digests[RISK_VIOLATOR_BID], "understated")
        self.closing(market)

    def budgets(self, market: Consortium) -> None:
        self.heading("budget", "hospitals register patient datasets and grant ε to bidders")
        market.register_datasets()
        table = Table("dataset", "id", "budget ε", "granted to", title="privacy budgets")
        for name, dataset in market.datasets.items():
            grantees = [b.buyer for b in market.market.bids if b.dataset == name]
            total = Dataset.read(self.system.ledger, dataset).total_micro_epsilon
            table.add_row(name, f"{dataset:#x}"[:14] + "…", f"{total / 1e6:g}",
                          ", ".join(grantees))
        self.console.print(table)

    def stakes(self, market: Consortium) -> None:
        self.heading("stake", "buyers stake CST for the rubric's score of their jobs; sellers bond")
        market.fund_buyers()
        market.bond_sellers()
        table = Table("bid", "buyer", "risk", "max value USD", "stake CST", title="stakes")
        for bid in market.market.bids:
            table.add_row(bid.id, bid.buyer, _risk(market.market, bid),
                          f"{grouped(max(b.value for b in bid.bundles), 'usd', 0)}",
                          amount_text(market.required_stake(bid), "cst"))
        self.console.print(table)

    def bids(self, market: Consortium) -> None:
        self.heading("bid", "providers ask; buyers commit sealed bids, then reveal them")
        deadlines = market.open_round()
        market.post_asks()
        placed, refused = market.place_bids(deadlines)
        table = Table("bid", "digest", "deposit USD", "stake CST", "ε", "commit gas",
                      title=f"round {market.round_id}: {counted(len(market.items), 'item')} "
                            "asked")
        for bid_id, entry in zip(market.digests, placed, strict=True):
            bid = market.bid(bid_id)
            table.add_row(bid.id, "0x" + entry.digest.hex()[:10] + "…",
                          f"{grouped(entry.deposit_micro_usd, 'usd', 0)}",
                          amount_text(entry.stake_wei, "cst"),
                          f"{bid.epsilon_micros / 1e6:g}", f"{entry.receipt.gas_used:,}")
        self.console.print(table)
        self.console.print(_rows(Table("bid", "why", title="refused before committing: the "
                                                            "chain would refuse them, or they "
                                                            "could never win"),
                                 list(refused.items())))
        self.summary["refused"] = refused
        market.reveal_bids()

    def clearing(self, market: Consortium) -> PricedClearing:
        self.heading("clear", "the auctioneer clears the revealed book with CP-SAT and prices it")
        result = market.clear()
        won = Table("winner", "buyer", "bundle", "pays USD", "value USD", title="allocation")
        paid = {p.winner: p.total for p in result.payments}
        for fill in result.allocation:
            bid = market.bid(market.bid_id_of(fill.bid))
            won.add_row(bid.id, bid.buyer, str(fill.bundle), f"{grouped(paid[fill.bid], 'usd')}",
                        f"{grouped(bid.bundles[fill.bundle].value, 'usd', 0)}")
        self.console.print(won)
        lost = Table("bid", "reason", "detail", title="not filled, and why")
        for loss in result.losing:
            lost.add_row(market.bid_id_of(loss.bid), loss.reason, loss.detail)
        self.console.print(lost)
        self.table("quality", [("status", result.status),
                               ("welfare", f"{grouped(result.welfare, 'usd')} USD"),
                               ("bound", f"{grouped(result.bound, 'usd')} USD"),
                               ("seconds", f"{result.seconds:.3f}")])
        self.summary["clearing"] = {
            "status": str(result.status), "welfare_micro_usd": result.welfare,
            "winners": [market.bid_id_of(f.bid) for f in result.allocation],
            "losing": {market.bid_id_of(loss.bid): str(loss.reason) for loss in result.losing}}
        return result

    def settle(self, market: Consortium, result: PricedClearing, urls: list[str]) -> None:
        self.heading("price", "no challenge came; the oracle quorum prices the final allocation")
        quorum = market.price(urls)
        self.table("price report", [
            ("signers", ", ".join(signer for signer, _ in quorum.signatures)),
            ("payments", f"{grouped(sum(quorum.report.payments_micro_usd), 'usd')} USD over "
                         f"{counted(len(quorum.report.payments_micro_usd), 'future')}"),
            ("as the auctioneer priced it", str(sorted(quorum.report.payments_micro_usd)
                                                == sorted(p.total for p in result.payments)))])
        self.heading("settle", "futures issued at the signed prices; losers and bonds released")
        gas = market.finalise()
        table = Table("winner", "deposit USD", "pays USD", "change returned USD",
                      title="escrow")
        payments = {}
        for fill in result.allocation:
            record = self._record(bytes.fromhex(fill.bid[2:]))
            bid_id = market.bid_id_of(fill.bid)
            payments[bid_id] = record.payment_micro_usd
            table.add_row(bid_id, grouped(record.deposit_micro_usd, 'usd'),
                          grouped(record.payment_micro_usd, 'usd'),
                          grouped(record.deposit_micro_usd - record.payment_micro_usd, 'usd'))
        self.console.print(table)
        house = self.system.clearing_house
        held = {label: ProviderBond.read(house, market.round_id, market.accounts[label].address)
                for label in sorted({ask.provider for ask in market.market.asks})}
        self.table("finalisation", [
            ("gas", f"{gas:,}"),
            ("losers' deposits, stakes and ε", "released"),
            ("auctioneer's bond", "released"),
            *((f"{label}'s bond", f"{amount_text(bond.locked_wei, 'cst')} CST committed to its "
                                  f"{counted(bond.open_futures, 'future')} until they end; "
                                  "the rest released")
              for label, bond in held.items() if bond.open_futures)])
        self.summary["payments_micro_usd"] = payments
        self.summary["bonds_committed"] = {
            label: {"locked_wei": b.locked_wei, "future_count": b.open_futures}
            for label, b in held.items()}

    def futures(self, market: Consortium) -> None:
        self.heading("future", "each winner holds a compute future C(P, r, ε)")
        table = Table("future, holder", "items", "P: dataset, ε", "r", title="futures")
        for bid_id in self.summary["clearing"]["winners"]:
            bid = market.bid(bid_id)
            record = self._record(market.digests[bid_id])
            bundle = bid.bundles[record.bundle_index]
            table.add_row(f"0x{market.digests[bid_id].hex()[:10]}…\n{bid.buyer}",
                          "\n".join(f"{q}×{i}" for i, q in bundle.items.items()),
                          f"{bid.dataset or '—'}\nε {bid.epsilon_micros / 1e6:g}",
                          _risk(market.market, bid))
        self.console.print(table)

    def resale(self, market: Consortium) -> bytes:
        """A speculator signs a buy order by criteria — any future of the round delivering the
        resold bundle's GPU item in full — and the future's winner fills it with that
        future, still unclaimed (minted to the speculator in the fill). The speculator sells it
        on by a sell order, which the consortium member who will run the job fills. Each fill
        moves the USD and the future in one transaction; governance's 1 % fee comes out of
        each seller's proceeds."""
        from market.model import ResourceKind
        from tokens import trade
        from tokens.operations import fund, stake

        seller_bid = market.bid(RESOLD_BID)
        winner, buyer = market.account(seller_bid.buyer), market.account(RESALE_BUYER)
        speculator = market.account(SPECULATOR)
        future = market.digests[RESOLD_BID]
        paid = self.summary["payments_micro_usd"][RESOLD_BID]
        bundle = seller_bid.bundles[self._record(future).bundle_index]
        kinds = market.market.item_by_id
        item = next(i for i in bundle.items if kinds[i].kind is ResourceKind.GPU)
        units = bundle.items[item]
        wanted = trade.Criteria(market.round_id, market.items[item], units)
        self.heading("resale", f"{SPECULATOR} buys any future of the round with {units:,} "
                               f"{kinds[item].unit}s of {item} from {seller_bid.buyer}, and "
                               f"sells it on to {RESALE_BUYER}")
        self.chain.send(self.system.exchange.functions.setFee(self.governance.address,
                                                              EXCHANGE_FEE_BPS), self.governance)
        first = paid + SPECULATOR_MARKUP
        fund(self.system, self.governance, speculator.address, 0, first, 0)
        bought = trade.buy_order(self.system, speculator, wanted, first,
                                 self.chain.pending_timestamp() + RESALE_ORDER_SECONDS)
        trades = [self._trade(trade.fill(self.system, winner, bought.order, bought.signature))]
        second = paid + RESALE_MARKUP
        sold = trade.sell_order(self.system, speculator, future, second,
                                self.chain.pending_timestamp() + RESALE_ORDER_SECONDS)
        fund(self.system, self.governance, buyer.address, 0, second, 0)
        trades.append(self._trade(trade.fill(self.system, buyer, sold.order, sold.signature)))
        record = self._record(future)
        restake = required_stake_wei(self.system.vault, buyer.address, record.risk_bps,
                                     record.deposit_micro_usd)
        fund(self.system, self.governance, buyer.address, restake + CST, 0, 0)
        stake(self.system, buyer, restake + CST)
        table = Table("seller", "buyer", "price USD", "fee USD", "proceeds USD", "gas",
                      title="two fills on the futures exchange")
        for done in trades:
            table.add_row(done["seller_name"], done["buyer_name"],
                          grouped(done["price_micro_usd"], "usd"),
                          grouped(done["fee_micro_usd"], "usd"),
                          grouped(done["proceeds_micro_usd"], "usd"), f"{done['gas']:,}")
        self.console.print(table)
        held = future_balance(self.system.futures, buyer.address, future)
        self.table("resale", [(f"{RESALE_BUYER} holds the future", "yes" if held else "no"),
                              ("its stake for the job", self.cst(restake))])
        history = self.price_history(market.round_id, market.items[item])
        self.summary["resale"] = {"trades": trades, "restake_wei": restake,
                                  "price_history": history}
        return future

    def price_history(self, round_id: int, item: int) -> dict[str, Any]:
        """The traded item's prices as `rcm market prices` shows them: the round's clearing
        price, then each trade's share of the future's price, per unit."""
        from market.price_history import read_price_history

        points = read_price_history(self.system).series(f"{round_id}:{item}")
        table = Table("source", "USD per unit", "units",
                      title=f"prices of {points[0].item} (`rcm market prices`)")
        for point in points:
            table.add_row(point.source.value, grouped(point.price_per_unit_micro_usd, "usd"),
                          f"{point.units:,}")
        self.console.print(table)
        return {"item": points[0].item,
                "points": [{"source": point.source.value, "timestamp": point.timestamp,
                            "price_per_unit_micro_usd": point.price_per_unit_micro_usd,
                            "quantity_units": point.units} for point in points]}

    def _trade(self, receipt: Receipt) -> dict[str, Any]:
        """A fill as the summary shows it: who sold to whom, at what price, fee and proceeds."""
        (traded,) = self.system.exchange.events_in(receipt, "Traded")
        labels = {account: label for label, account in self.summary["accounts"].items()}
        price, fee = int(traded.args["priceMicroUsd"]), int(traded.args["feeMicroUsd"])
        return {"seller_name": labels[traded.args["seller"]],
                "buyer_name": labels[traded.args["buyer"]],
                "price_micro_usd": price, "fee_micro_usd": fee,
                "proceeds_micro_usd": price - fee, "tx": "0x" + receipt.transaction_hash.hex(),
                "gas": receipt.gas_used}

    def deliver(self, market: Consortium, urls: list[str], enclave: Enclave, future: bytes,
                job: str) -> None:
        """The holder redeems the future into a job, which uses what the future bought: its
        dataset, purpose, δ and capacity, as the nodes read them from the chain. It declares
        the workload it will run (the bid's, under the future's risk ceiling), and runs it but
        for the risk violator, who trains far more; the enclave attests; the quorum judges."""
        from market.examples import declarations
        from market.redemption import declared_job
        from oracle.attester import make_evidence
        from tokens import futures

        record = self._record(future)
        bid = market.bid(market.bid_id_of("0x" + future.hex()))
        holder = market.account(RESALE_BUYER if job == "compliant" else bid.buyer)
        declared = declarations()[bid.id]
        # The holder commits to the job it will run; the future's risk is its ceiling.
        job_declared = declared_job(self.system, future, holder.address, declared)
        futures.redeem(self.system, holder, future, job_declared)
        terms = self.reads.future("0x" + future.hex())
        if terms is None:
            raise ChainError(f"future 0x{future.hex()} was not redeemed")
        supply = total_supply(self.system.cst)
        evidence = make_evidence(
            "0x" + future.hex(), [terms.dataset or DEFAULT_DATASET],
            **RUNS[job], delta=terms.delta, purpose=bid.purpose,
            ran=_ran_as_training(declared) if job == "understated" else declared,
            declared="0x" + job_declared.hex(),
            resources=terms.bought, issued_at=int(time.time()))
        quorum = self.judge(urls, enclave, evidence, terms)
        burned = supply - total_supply(self.system.cst)
        after = self._record(future)
        if job in SLASHED:
            self.heading("slash", SLASHED[job])
        self.table("enforced", [
            ("future", after.status.name.lower()),
            ("provider paid", f"{grouped(record.payment_micro_usd, 'usd')} USD"),
            ("stake burned", self.cst(burned)),
            ("ε consumed", f"{record.epsilon_micros / 1e6:g}"),
        ])
        self.summary.setdefault("jobs", {})[job] = {
            "status": after.status.name.lower(), "burned_wei": burned,
            "clauses": [c.id for c in quorum.public.clauses],
            "used": evidence.resources.model_dump()}

    def closing(self, market: Consortium) -> None:
        from tokens.operations import balances

        self.heading("reputation", "each verdict is an audit worth its job's payment × risk")
        reputation = self.system.reputation
        people = [label for label in market.accounts if not label.startswith("owner:")]
        self.console.print(_rows(
            Table("account", "score (USD at risk)", "stake discount bps", title="reputation"),
            [(label, f"{grouped(score_micro_usd(reputation, a.address), 'usd')}",
              f"{discount_bps(reputation, a.address):,}")
             for label, a in ((p, market.accounts[p]) for p in people)]))
        self.heading("budget", "what is left of each dataset's ε")
        budgets = {name: _budget(self.system.ledger, d) for name, d in market.datasets.items()}
        self.console.print(_rows(Table("dataset", "total ε", "reserved ε", "consumed ε",
                                       title="budgets"),
                                 [(name, *(f"{b[f'{field}_micro_eps'] / 1e6:g}"
                                           for field in ("total", "reserved", "consumed")))
                                  for name, b in budgets.items()]))
        self.heading("summary", "closing balances")
        house = self.system.clearing_house
        held = {label: balances(self.system, a.address).model_dump()
                for label, a in market.accounts.items()}
        self.console.print(_rows(
            Table("account", "USD", "credit USD", "CST", "staked", "locked", "bonded",
                  "bond committed", title="balances"),
            [(label, f"{grouped(h['usd_micro_usd'], 'usd')}",
              f"{grouped(h['credit_micro_usd'], 'usd')}",
              *(amount_text(h[f"{field}_wei"], "cst")
                for field in ("cst", "staked", "locked", "bonded", "bond_locked")))
             for label, h in held.items() if not label.startswith("owner:")]))
        self.summary |= {
            "balances": held, "budgets": budgets,
            "escrow_micro_usd": balance_of(self.system.usd, house.address),
            "reputation_micro_usd": {p: score_micro_usd(reputation, market.accounts[p].address)
                           for p in people}}

    def _record(self, digest: bytes) -> BidRecord:
        return BidRecord.read(self.system.clearing_house, digest)


def _ran_as_training(declared: Declaration) -> Declaration:
    """A fine-tuning job as it really ran: training, on twice the compute it declared, past the
    launch rubric's 10^22 FLOP job line; the model's cumulative compute grows by it."""
    job_flop = 15 * 10**21
    return declared.model_copy(update={"task": "training", "job_flop": job_flop,
                                       "model_flop": declared.model_flop + job_flop})


def _budget(ledger: Contract, dataset: int) -> dict[str, int]:
    """The dataset's ε in micro-ε: its total, what jobs consumed, what committed bids hold."""
    state = Dataset.read(ledger, dataset)
    return {"total_micro_eps": state.total_micro_epsilon,
            "consumed_micro_eps": state.consumed_micro_epsilon,
            "reserved_micro_eps": reserved_micro_epsilon(ledger, dataset)}


def _risk(market: Market, bid: Bid) -> str:
    """The rubric's score of the bid's declaration, and the band it falls in."""
    return f"{bid.risk_bps:,} bps, {market.rating(bid)}"


def _capacity(resources: ResourceUse) -> str:
    return (f"{resources.gpu_hours:,g} GPU-hours, {resources.energy_kwh:,g} kWh, "
            f"{resources.storage_gb:,g} GB")


def _rows(table: Table, rows: list[tuple[str, ...]]) -> Table:
    for row in rows:
        table.add_row(*row)
    return table


def open_system(chain: Chain) -> tuple[System, Signer]:
    """A fresh deployment on the embedded chain, or the deployment already on an RPC chain
    (deploying one if there is none)."""
    from chain.deploy import deploy_system
    from chain.errors import ChainError
    from market.onchain import launch_policy

    governance = chain.dev_account(0)
    if not chain.embedded:
        try:
            return System.load(chain), governance
        except ChainError:
            pass
    return deploy_system(chain, governance, policy=launch_policy()), governance


@contextmanager
def own_home(home: Path, chain_id: int) -> Iterator[None]:
    """$RCM_HOME set to `home` for the block: the demo's manifests, bids and rounds belong to
    its own chain, not to the user's. The user's manifest for the chain, if any, is copied in,
    so a deployment already on an RPC chain is used, and the user's home is only read."""
    from chain.manifest import manifest_path

    theirs = manifest_path(chain_id)
    previous = os.environ.get("RCM_HOME")
    os.environ["RCM_HOME"] = str(home)
    try:
        if theirs.exists():
            manifest_path(chain_id).parent.mkdir(parents=True)
            shutil.copyfile(theirs, manifest_path(chain_id))
        yield
    finally:
        if previous is None:
            del os.environ["RCM_HOME"]
        else:
            os.environ["RCM_HOME"] = previous


def run(rpc: str | None, console: Printer,
        then: Callable[[System, Path, dict[str, Any], list[str]], None] | None = None
        ) -> dict[str, Any]:
    """The story on `rpc`'s chain; its summary. `then` is given the system, the demo's
    working directory, the summary and the oracle nodes' URLs after the story, while all of
    them still exist."""
    from chain.connection import connect
    from oracle.attester import new_enclave
    from rcm.consortium import Consortium

    chain = connect(rpc)
    with (
        tempfile.TemporaryDirectory(prefix="rcm-demo-") as workdir,
        own_home(Path(workdir) / "home", chain.chain_id),
    ):
        system, governance = open_system(chain)
        demo = Demo(system, governance, console)
        demo.heading("deploy", f"the system on chain {chain.chain_id} ({chain.rpc})")
        demo.table("contracts", [(n, c.address) for n, c in system.manifest.contracts.items()])
        enclave = new_enclave()
        market = Consortium(system, governance, demo.new_account)
        with demo.oracle_nodes(Path(workdir), enclave, market) as urls:
            demo.run_market(market, urls, enclave)
            if then is not None:
                then(system, Path(workdir), demo.summary, urls)
        return demo.summary
