"""Issue 16, finding 3, on the embedded chain: an oracle node judges a job against the future it
redeemed, read from the chain, not against a file. Three futures of one buyer, each 8 GPU-weeks
at ε 1 for `diagnostics`, are redeemed; three nodes served on loopback read them, and the
quorum's verdicts go on chain (a fourth, redeemed the same way, tests the risk staked for):

- the attester's defaults (8 GPU-hours, `research`, ε 1.71) breach the purpose, ε and capacity
  bought: a violation, the provider at fault, so the buyer is paid back;
- the capacity delivered but `research` at ε 1.71: a violation at the buyer's fault, its stake
  burned;
- what the future bought, attested with `rcm enclave attest --future`: compliant, the provider
  paid and 1 ε consumed;
- what the future bought, but a training run where its bid declared an evaluation: every node
  scores what ran with the round's rubric above the risk staked for, and the stake burns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain.bid import Bundle, purpose_id
from chain.connection import Chain, connect
from chain.deploy import deploy_system
from chain.ledger import Dataset, dataset_id
from chain.settlement import Ask, Status, enclave_digest
from chain.verdict import Fault
from oracle.attestation import Attestation, ResourceUse
from oracle.attester import DEFAULT_MEASUREMENTS, Enclave, default_ran
from oracle.config import (
    STAKEHOLDERS,
    NodeConfig,
    init_oracle_dir,
    read_node_config,
    read_policies,
    write_toml,
)
from oracle.node.background import serving_all
from oracle.node.models import VerdictPublic
from oracle.node.service import load_node
from oracle.policy import Policies
from oracle.quorum import Quorum, collect, settle
from oracle.registration import register_oracle_set
from rcm.pricer import ChainReads
from risk.declaration import declaration_hash
from risk.rubric import launch_rubric_hash
from tests.contracts.settlement_fixtures import POLICY, USD, Market, build_market
from tests.oracle.factories import PASSWORD, Run, evidence, job_id, signed
from tests.support import event_args

MICRO = 10**6
DAY, WEEK = 86_400, 604_800
GPU_WEEKS = 8
BOUGHT_GPU_HOURS = GPU_WEEKS * 168.0
DIAGNOSTICS = purpose_id("diagnostics")
CONTENT = b"\xd1" * 32  # the diagnostics dataset's content hash, as evidence lists it
FUTURES = ("defaults", "buyer_breach", "honest", "understated")
# What every bid declared, and staked the launch rubric's base for: an evaluation job.
DECLARED = default_ran("diagnostics")
COMMITTED = "0x" + declaration_hash(DECLARED).hex()
SOLD_IN = enclave_digest(DEFAULT_MEASUREMENTS.launch_digest())  # the enclave the ask names


@dataclass(frozen=True)
class Redeemed:
    market: Market
    buyer: LocalAccount
    futures: dict[str, str]  # name → future id, 0x-hex: the job it redeemed into

    def record(self, name: str) -> Any:
        return self.market.record(bytes.fromhex(self.futures[name][2:]))


@pytest.fixture(scope="module")
def chain() -> Chain:
    return connect()


@pytest.fixture(scope="module")
def redeemed(chain: Chain) -> Redeemed:
    """A round of one week-long slot running now (the attester and the nodes keep wall-clock
    time) with 24 GPU-weeks; the buyer wins three bundles of 8, on a dataset consenting to
    diagnostics, and redeems them."""
    governance, auctioneer, provider, owner, buyer = (chain.dev_account(i) for i in range(5))
    system = deploy_system(chain, governance)
    market = build_market(system, governance, auctioneer, provider, owner, [buyer],
                          [chain.dev_account(i) for i in range(6, 9)])
    policy = replace(POLICY, epsilon_limits=(("diagnostics", 2 * MICRO),),
                     rubric_hash=launch_rubric_hash())
    chain.send(system.policies.functions.setPolicy(policy.as_args()), governance)
    chain.send(system.ledger.functions.register(CONTENT, 10 * MICRO, 10**13, 10**15,
                                                [DIAGNOSTICS], 0), owner)
    dataset = dataset_id(owner.address, CONTENT)
    grant = system.ledger.functions.safeTransferFrom(owner.address, buyer.address, dataset,
                                                     10 * MICRO, b"")
    chain.send(grant, owner)
    week = Ask(0, "euw1", "gpu-week", int(time.time()) - DAY, WEEK, 1,
               len(FUTURES) * GPU_WEEKS, USD, SOLD_IN)
    round_id = market.open_round((week,))
    bids = [market.bid(buyer, round_id, Bundle((0,), (GPU_WEEKS,), 20 * USD), nonce=nonce,
                       dataset_id=dataset, epsilon_micros=MICRO, delta_atto=10**13,
                       purpose=DIAGNOSTICS, declaration_hash=bytes.fromhex(COMMITTED[2:]))
            for nonce in range(len(FUTURES))]
    market.fill(round_id, buyer, bids)
    market.settle(round_id)
    for bid in bids:
        market.redeem(bid, buyer)
    return Redeemed(market, buyer, {name: "0x" + market.digest(bid).hex()
                                    for name, bid in zip(FUTURES, bids, strict=True)})


def _fit_for_diagnostics(policies: Policies) -> Policies:
    """The example policies, letting a job run diagnostics and use the 1,344 GPU-hours bought:
    only the future can then make these jobs violations."""
    regulator = policies.regulator.model_copy(
        update={"max_epsilon": policies.regulator.max_epsilon | {"diagnostics": 2.0}})
    assert policies.data_owner.default is not None
    consent = policies.data_owner.default.model_copy(
        update={"allowed_purposes": [*policies.data_owner.default.allowed_purposes,
                                     "diagnostics"]})
    operator = policies.operator.model_copy(update={"max_per_job": policies.operator.max_per_job
                                                    .model_copy(update={"gpu_hours": 2_000.0})})
    return policies.model_copy(update={
        "regulator": regulator,
        "data_owner": policies.data_owner.model_copy(update={"default": consent}),
        "operator": operator})


@pytest.fixture(scope="module")
def configs(redeemed: Redeemed, enclave_dir: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> list[NodeConfig]:
    """Three nodes (k = 2) registered as the oracle set, trusting the enclave."""
    work = tmp_path_factory.mktemp("futures") / "oracle"
    init_oracle_dir(work, nodes=3, threshold=2, trust_roots=[enclave_dir / "root.pem"],
                    password=lambda: PASSWORD)
    market = redeemed.market
    registered = register_oracle_set(market.system, market.governance, work)
    configs = [read_node_config(path) for path in registered.configs]
    files = configs[0].policies
    fitted = _fit_for_diagnostics(read_policies(files))
    for name in STAKEHOLDERS:
        write_toml(getattr(files, name), getattr(fitted, name), overwrite=True)
    return configs


@pytest.fixture(scope="module")
def reads(redeemed: Redeemed) -> ChainReads:
    return ChainReads(lambda: redeemed.market.system)


@pytest.fixture(scope="module")
def urls(configs: list[NodeConfig], reads: ChainReads) -> Iterator[list[str]]:
    with serving_all(configs, PASSWORD, reads.price, reads.future) as served:
        yield served


def _judged(redeemed: Redeemed, urls: list[str], attestation: Attestation
            ) -> tuple[Quorum, dict[str, Any]]:
    """Every node's verdict; k matching go on chain. The quorum and `VerdictEnforced`."""
    system = redeemed.market.system
    quorum, receipt = settle(system, redeemed.market.governance,
                             attestation.model_dump_json().encode(), urls)
    return quorum, event_args(system.clearing_house, receipt, "VerdictEnforced")[0]


def _failed(verdict: VerdictPublic) -> dict[str, str]:
    return {clause.id: clause.fault for clause in verdict.clauses}


def test_the_attesters_defaults_do_not_deliver_a_diagnostics_future_of_8_gpu_weeks(
    redeemed: Redeemed, urls: list[str], enclave: Enclave
) -> None:
    """The finding: judged against `buyer.toml`'s 8 GPU-hours, this was compliant and paid."""
    attestation = signed(enclave, job=redeemed.futures["defaults"], datasets=["0x" + CONTENT.hex()],
                         declared=COMMITTED)
    quorum, enforced = _judged(redeemed, urls, attestation)
    assert (quorum.public.verdict, quorum.public.fault) == ("violation", "provider")
    assert _failed(quorum.public) == {
        "future.purpose": "buyer", "future.epsilon": "buyer", "future.gpu_hours": "provider"}
    assert quorum.public.epsilon == pytest.approx(1.71177, abs=1e-5)
    # The provider is not paid: the buyer is paid back and its stake released.
    assert (enforced["fault"], enforced["paid"]) == (Fault.PROVIDER, redeemed.buyer.address)
    assert redeemed.record("defaults").status is Status.VOIDED


def test_capacity_delivered_for_another_purpose_and_more_epsilon_burns_the_buyers_stake(
    redeemed: Redeemed, urls: list[str], enclave: Enclave
) -> None:
    delivered = ResourceUse(gpu_hours=BOUGHT_GPU_HOURS, energy_kwh=0.0, storage_gb=0.0)
    attestation = signed(enclave, job=redeemed.futures["buyer_breach"], declared=COMMITTED,
                         datasets=["0x" + CONTENT.hex()], resources=delivered)
    stake = redeemed.record("buyer_breach").stake_wei
    quorum, enforced = _judged(redeemed, urls, attestation)
    assert (quorum.public.verdict, quorum.public.fault) == ("violation", "buyer")
    assert _failed(quorum.public) == {"future.purpose": "buyer", "future.epsilon": "buyer"}
    assert enforced["fault"] == Fault.BUYER
    assert enforced["paid"] == redeemed.market.provider.address
    assert enforced["burnedWei"] >= stake > 0


def test_an_attestation_of_what_the_future_bought_is_compliant_and_consumes_its_epsilon(
    redeemed: Redeemed, urls: list[str], enclave_dir: Path, rcm: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setattr("rcm.commands.enclave.load_system", lambda rpc: redeemed.market.system)
    future = redeemed.futures["honest"]
    # σ = 2: ε ≈ 0.69 at the future's δ of 1e-5, inside the 1 ε it reserved.
    run = rcm("enclave", "attest", "--enclave", str(enclave_dir), "--future", future,
              "--noise-multiplier", "2.0", "--sampling-rate", "0.01", "--steps", "1000",
              "--out", str(tmp_path / "job.json"))
    assert run.code == 0, run.err
    attestation = Attestation.model_validate_json((tmp_path / "job.json").read_text())
    ran = attestation.evidence
    assert (ran.job, ran.purpose, ran.datasets, ran.dp.delta) == (
        future, "diagnostics", ["0x" + CONTENT.hex()], 1e-5)
    assert ran.resources == ResourceUse(gpu_hours=BOUGHT_GPU_HOURS, energy_kwh=0.0,
                                        storage_gb=0.0)
    ledger = redeemed.market.system.ledger
    dataset = redeemed.record("honest").dataset_id
    consumed = Dataset.read(ledger, dataset).consumed_micro_epsilon
    quorum, enforced = _judged(redeemed, urls, attestation)
    assert (quorum.public.verdict, quorum.public.clauses) == ("compliant", [])
    assert enforced["paid"] == redeemed.market.provider.address
    assert redeemed.record("honest").status is Status.SETTLED
    assert Dataset.read(ledger, dataset).consumed_micro_epsilon - consumed == MICRO
    # Asked again, every node answers with the verdict it signed.
    again = [answer.verdict for answer in collect(attestation.model_dump_json().encode(), urls)]
    assert all(verdict is not None and verdict.verdict == "compliant" for verdict in again)
    assert {"0x" + signature.hex() for _, signature in quorum.signatures} <= {
        verdict.signature for verdict in again if verdict}


def test_a_node_asked_after_the_verdict_landed_judges_the_future_the_same(
    redeemed: Redeemed, configs: list[NodeConfig], reads: ChainReads, enclave: Enclave,
    tmp_path: Path,
) -> None:
    assert redeemed.record("defaults").status is Status.VOIDED
    late = load_node(configs[0].model_copy(update={"database": tmp_path / "late.sqlite"}),
                     PASSWORD, futures=reads.future)
    attestation = signed(enclave, job=redeemed.futures["defaults"], datasets=["0x" + CONTENT.hex()],
                         declared=COMMITTED)
    try:
        verdict = late.judge(attestation)
    finally:
        late.store.close()
    assert (verdict.verdict, set(_failed(verdict))) == (
        "violation", {"future.purpose", "future.epsilon", "future.gpu_hours"})


def test_a_job_that_is_no_redeemed_future_is_refused_and_never_held_to_the_buyers_file(
    urls: list[str], enclave: Enclave
) -> None:
    """Every job on chain is a redeemed future; a node reading the chain signs nothing else (an
    offline node judges by `buyer.toml`, where this job would fail `buyer.gpu_hours`)."""
    short = ResourceUse(gpu_hours=6.0, energy_kwh=5.6, storage_gb=100.0)
    job = job_id()
    attestation = signed(enclave, evidence(job=job, resources=short))
    answers = collect(attestation.model_dump_json().encode(), urls)
    assert [a.verdict for a in answers] == [None] * len(urls)
    assert {a.error for a in answers} == {
        f"422: future: {job} is no redeemed future on this chain"}


def test_attesting_for_a_future_that_was_not_redeemed_exits_2(
    redeemed: Redeemed, enclave_dir: Path, rcm: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("rcm.commands.enclave.load_system", lambda rpc: redeemed.market.system)
    unknown = job_id()
    run = rcm("enclave", "attest", "--enclave", str(enclave_dir), "--future", unknown,
              "--noise-multiplier", "2.0", "--sampling-rate", "0.01", "--steps", "1000")
    assert (run.code, run.err) == (
        2, f"error: enclave: future: {unknown} is not a redeemed future on this chain\n")


def test_a_node_reads_the_enclave_the_futures_ask_named(redeemed: Redeemed, reads: ChainReads
                                                        ) -> None:
    """The ask's enclave goes on chain with it (`AskPosted`) and into the terms every node
    holds the job's evidence to (`future.enclave`: the provider at fault for another)."""
    assert reads.future(redeemed.futures["honest"]).enclave_digests == {SOLD_IN}


def test_a_training_run_declared_as_an_evaluation_burns_the_stake_on_every_nodes_verdict(
    redeemed: Redeemed, urls: list[str], enclave: Enclave
) -> None:
    """Issue 19: the bid staked the launch rubric's base (1,000 bps) for an evaluation; the
    enclave reports a training run past the 10^22 FLOP job line (+1,000, +200)."""
    ran = DECLARED.model_copy(update={"task": "training", "job_flop": 2 * 10**22,
                                      "model_flop": 2 * 10**22})
    delivered = ResourceUse(gpu_hours=BOUGHT_GPU_HOURS, energy_kwh=0.0, storage_gb=0.0)
    attestation = signed(enclave, job=redeemed.futures["understated"], purpose="diagnostics",
                         datasets=["0x" + CONTENT.hex()], resources=delivered,
                         noise_multiplier=2.0, ran=ran, declared=COMMITTED)
    stake = redeemed.record("understated").stake_wei
    answers = collect(attestation.model_dump_json().encode(), urls)
    assert {(a.verdict.verdict, a.verdict.fault, tuple(_failed(a.verdict)))
            for a in answers if a.verdict} == {
        ("violation", "buyer", ("regulator.risk_understated",))}
    assert len(answers) == len(urls)
    quorum, enforced = _judged(redeemed, urls, attestation)
    assert quorum.public.clauses[0].reason == (
        "risk of what ran 2200 bps > staked 1000 + tolerance 250 (launch-1)")
    assert (enforced["fault"], enforced["paid"]) == (Fault.BUYER, redeemed.market.provider.address)
    assert enforced["burnedWei"] >= stake > 0
    assert redeemed.record("understated").status is Status.VOIDED
