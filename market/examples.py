"""A small market to show the auctioneer at work: the Global Health AI Consortium.

Hospitals and public-health agencies bring patient data; public-health researchers, an
academic institute and a commercial lab bid for GPU, power and storage bundles across two
regions (Dublin `euw1`, Virginia `use1`) and two weekly slots. Attested enclaves (the
confidential tier) are scarce and dear; commodity capacity (standard tier) is plentiful. The
regulator caps risk on the confidential tier, limits ε per purpose and reserves a quarter of
every item for public-health and research. Every loss reason occurs once at least.

Each bid's risk is the launch rubric's score of its job's workload declaration
(`declarations`): most jobs are low risk, the four on patient and genomic data medium, and
protein design high.
"""

from __future__ import annotations

from collections.abc import Iterable

from market.model import (
    Ask,
    Bid,
    Bundle,
    EquityClass,
    Item,
    Market,
    Policy,
    ResourceKind,
    Tier,
)
from risk.assess import assess
from risk.declaration import Capability, DataCategory, Declaration, Release, Task
from risk.rubric import read_rubric

USD = 1_000_000  # micro-USD
EPSILON = 1_000_000  # micro-ε
REGIONS = ("euw1", "use1")
SLOTS = ("w49", "w50")  # ISO weeks 2026-W49 and 2026-W50
CLEARING_TIME = 1_795_000_000  # 2026-11-18, the round's close; the stale bid expired before
UNITS = {ResourceKind.GPU: "gpu-week", ResourceKind.POWER: "kW-week",
         ResourceKind.STORAGE: "TB-week"}
# units offered per region and slot, and reserve price per unit, by tier and kind
SUPPLY = {Tier.CONFIDENTIAL: {ResourceKind.GPU: (64, 300 * USD), ResourceKind.POWER: (80, 40 * USD),
                              ResourceKind.STORAGE: (200, 5 * USD)},
          Tier.STANDARD: {ResourceKind.GPU: (128, 180 * USD), ResourceKind.POWER: (150, 30 * USD),
                          ResourceKind.STORAGE: (500, 3 * USD)}}
PROVIDERS = {(Tier.CONFIDENTIAL, "euw1"): "helix-enclaves", (Tier.CONFIDENTIAL, "use1"):
             "atlas-secure", (Tier.STANDARD, "euw1"): "commodity-cloud-eu",
             (Tier.STANDARD, "use1"): "commodity-cloud-us"}


def item_id(kind: ResourceKind, region: str, slot: str, tier: Tier) -> str:
    return f"{kind}-{region}-{slot}-{tier}"


def job(region: str, slot: str, tier: Tier, gpus: int, power_kw: int, storage_tb: int,
        value_usd: int) -> Bundle:
    """One job's complements: GPUs, the power to run them, storage for its data."""
    return Bundle(items={item_id(ResourceKind.GPU, region, slot, tier): gpus,
                         item_id(ResourceKind.POWER, region, slot, tier): power_kw,
                         item_id(ResourceKind.STORAGE, region, slot, tier): storage_tb},
                  value=value_usd * USD)


def declared(task: Task, purpose: str, parameters: float, job_flop: float, model_flop: float,
             data: Iterable[DataCategory] = ("public",), release: Release = "internal",
             capabilities: Iterable[Capability] = (), biological: bool = False) -> Declaration:
    """A declaration with no prohibited practice; sizes in the regimes' float notation."""
    return Declaration(task=task, purpose=purpose, model_parameters=int(parameters),
                       job_flop=int(job_flop), model_flop=int(model_flop),
                       data_categories=frozenset(data), mainly_biological_sequences=biological,
                       capabilities=frozenset(capabilities), practices=frozenset(),
                       release=release)


def declarations() -> dict[str, Declaration]:
    """What each bid's job is, by bid id. A week of 32 H100s at 40 % of their peak is about
    8e21 FLOP; a model's cumulative compute counts the training it descends from."""
    return {
        "nhs-sepsis-warning": declared("fine_tuning", "diagnostics", 13e9, 7e21, 1.6e23,
                                       ["health"], "api"),
        "msf-outbreak-forecast": declared("training", "epidemiology", 2e8, 1e21, 1e21,
                                          ["health"]),
        "pasteur-amr-discovery": declared("training", "clinical-research", 6.5e8, 7e21, 7e21,
                                          ["genomic"], biological=True),
        "genomics-variant-calling": declared("training", "clinical-research", 1e8, 1.2e22,
                                             1.2e22, ["genomic", "health"], biological=True),
        "charite-xray-triage": declared("training", "diagnostics", 3e8, 4e21, 4e21, ["health"],
                                        "api"),
        "helixgen-llm-finetune": declared("fine_tuning", "model-training", 7e9, 2.3e22,
                                          1.07e23, ["health"]),
        "helixgen-protein-design": declared("training", "model-training", 3e9, 1.5e22, 2e23,
                                            capabilities=["bio_chem_sequence_design"],
                                            biological=True),
        "quantedge-backtest": declared("simulation", "analytics", 0, 5e21, 0, ["financial"]),
        "novamind-inference": declared("inference", "inference", 7e10, 2e22, 8.4e23,
                                       release="api"),
        "streamline-ads": declared("training", "ads-ranking", 1e9, 3e21, 3e21),
        "pixelfarm-render": declared("simulation", "rendering", 0, 4e21, 0),
        "stale-trial-matching": declared("inference", "clinical-research", 7e9, 1e20, 8.4e22,
                                         ["health"]),
    }


def consortium_instance() -> Market:
    items = [Item(id=item_id(kind, region, slot, tier), kind=kind, region=region, slot=slot,
                  tier=tier, unit=UNITS[kind])
             for tier in SUPPLY for region in REGIONS for slot in SLOTS for kind in ResourceKind]
    asks = [Ask(provider=PROVIDERS[item.tier, item.region], item=item.id,
                capacity=SUPPLY[item.tier][item.kind][0],
                reserve_price=SUPPLY[item.tier][item.kind][1],
                enclave_measurement=("9f2c" * 16 if item.tier is Tier.CONFIDENTIAL else None))
            for item in items]
    rubric, _ = read_rubric()
    scores = {bid_id: assess(declaration, rubric).risk_bps
              for bid_id, declaration in declarations().items()}
    bids = [bid.model_copy(update={"risk_bps": scores[bid.id]}) for bid in _bids()]
    return Market(items=items, asks=asks, bids=bids, policy=Policy(
        tier_risk_caps={Tier.CONFIDENTIAL: 300},
        max_epsilon_micros={"diagnostics": 2 * EPSILON, "epidemiology": 3 * EPSILON,
                            "clinical-research": 4 * EPSILON, "model-training": EPSILON},
        equity_reservation_bps=2_500))


def _bids() -> list[Bid]:
    conf, std = Tier.CONFIDENTIAL, Tier.STANDARD
    return [
        # patient data stays in Ireland: two weeks in Dublin's enclaves are its substitutes
        Bid(id="nhs-sepsis-warning", buyer="hse-ireland",
            bundles=[job("euw1", "w49", conf, 32, 40, 20, 19_200),
                     job("euw1", "w50", conf, 32, 40, 20, 17_000)],
            epsilon_micros=1_500_000, delta=1e-6, dataset="hse-icu-2025", purpose="diagnostics",
            equity_class=EquityClass.PUBLIC_HEALTH),
        Bid(id="msf-outbreak-forecast", buyer="msf-epicentre",
            bundles=[job("euw1", "w49", std, 48, 55, 10, 14_000),
                     job("use1", "w49", std, 48, 55, 10, 13_500)],
            epsilon_micros=2 * EPSILON, delta=1e-6, dataset="who-surveillance",
            purpose="epidemiology", equity_class=EquityClass.PUBLIC_HEALTH),
        Bid(id="pasteur-amr-discovery", buyer="institut-pasteur",
            bundles=[job("use1", "w49", conf, 32, 38, 40, 18_000),
                     job("euw1", "w49", conf, 32, 38, 40, 18_500)],
            epsilon_micros=3_500_000, delta=1e-6, dataset="amr-genomes",
            purpose="clinical-research",
            equity_class=EquityClass.RESEARCH),
        Bid(id="genomics-variant-calling", buyer="genomics-institute",
            bundles=[job("use1", "w50", conf, 48, 60, 120, 26_000)],
            epsilon_micros=2 * EPSILON, delta=1e-6, dataset="biobank-wgs",
            purpose="clinical-research",
            equity_class=EquityClass.RESEARCH),
        Bid(id="charite-xray-triage", buyer="charite",
            bundles=[job("euw1", "w50", conf, 16, 20, 30, 9_000)],
            epsilon_micros=3 * EPSILON, delta=1e-6, dataset="chest-xray-de", purpose="diagnostics",
            equity_class=EquityClass.RESEARCH),
        Bid(id="helixgen-llm-finetune", buyer="helixgen",
            bundles=[job("euw1", "w49", std, 96, 110, 30, 40_000),
                     job("use1", "w49", std, 96, 110, 30, 38_000)],
            epsilon_micros=800_000, delta=1e-7, dataset="deidentified-notes",
            purpose="model-training"),
        Bid(id="helixgen-protein-design", buyer="helixgen",
            bundles=[job("use1", "w50", std, 64, 75, 20, 60_000)], purpose="model-training"),
        Bid(id="quantedge-backtest", buyer="quantedge",
            bundles=[job("use1", "w49", std, 64, 70, 10, 24_000)], purpose="analytics"),
        Bid(id="novamind-inference", buyer="novamind",
            bundles=[job("euw1", "w50", std, 100, 110, 20, 40_000)], purpose="inference"),
        Bid(id="streamline-ads", buyer="streamline",
            bundles=[job("use1", "w49", std, 40, 45, 10, 12_000)], purpose="ads-ranking"),
        Bid(id="pixelfarm-render", buyer="pixelfarm",
            bundles=[job("euw1", "w50", std, 64, 70, 50, 9_000)], purpose="rendering"),
        Bid(id="stale-trial-matching", buyer="oncology-network",
            bundles=[job("use1", "w50", std, 16, 18, 5, 5_000)],
            purpose="clinical-research", equity_class=EquityClass.RESEARCH,
            expiry=CLEARING_TIME - 86_400),
    ]
