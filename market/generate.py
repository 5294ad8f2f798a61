"""Seeded compute-market instances for `rcm auction generate`: what an auction round of a
regional GPU market looks like.

Each buyer runs one job: GPUs, the power to run them and the storage for its dataset, all in
one region and delivery slot (complements). It bids the same job in its home region and slot
and, at a discount, in the next slot or a neighbouring region (substitutes), except where
patient data must stay in its home region. Providers offer capacity per region, slot and tier
at reserve prices that rise with the tier's assurance. Risk ratings, ε budgets, equity classes
and a few stale or out-of-policy bids are mixed in so every rule and loss reason is exercised.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from market.model import (
    Ask,
    Bid,
    Bundle,
    EquityClass,
    Item,
    Market,
    Policy,
    ResourceKind,
    RiskRating,
    Tier,
    item_label,
)

REGION_CODES = ["use1", "euw1", "apne1", "usw2", "euc1", "aps1", "sae1", "cac1", "afs1", "mes1"]
PAST_EXPIRY = 1_700_000_000  # 2023-11-14: stale bids left over from an earlier round
MICRO = 1_000_000

# micro-USD per unit per slot: a GPU-week, a kW-week of power, a TB-week of storage
RESERVE_PRICE = {ResourceKind.GPU: 180 * MICRO, ResourceKind.POWER: 30 * MICRO,
                 ResourceKind.STORAGE: 4 * MICRO}
TIER_MARKUP = {Tier.STANDARD: 1.0, Tier.CERTIFIED: 1.25, Tier.CONFIDENTIAL: 1.6}
UNIT = {ResourceKind.GPU: "gpu-week", ResourceKind.POWER: "kW-week",
        ResourceKind.STORAGE: "TB-week"}
PURPOSES = {EquityClass.PUBLIC_HEALTH: ["epidemiology", "diagnostics"],
            EquityClass.RESEARCH: ["clinical-research", "drug-discovery"],
            EquityClass.COMMERCIAL: ["model-training", "ads-ranking"]}
MAX_EPSILON_MICROS = {"epidemiology": 3 * MICRO, "diagnostics": 2 * MICRO,
                      "clinical-research": 4 * MICRO, "drug-discovery": 3 * MICRO,
                      "model-training": 1 * MICRO}
DATASETS = ["mimic-iv", "uk-biobank", "nih-chestxray", "tcga-pancancer", "eicu-crd"]
JOB_GPUS = [8, 16, 32, 64, 128, 256]  # whole 8-GPU nodes
KW_PER_GPU_NUMERATOR = 5  # 1.25 kW per GPU with its share of cooling: power scales with GPUs
STORAGE_COVER = (0.8, 1.2)  # storage is rarely what runs out; GPUs and power are
# The scores a rubric gives jobs of each rating under the default bands (the launch rubric's
# are multiples of 100 bps).
RISK_BPS = {RiskRating.LOW: range(1_000, 3_000, 100), RiskRating.MEDIUM: range(3_000, 6_000, 100),
            RiskRating.HIGH: range(6_000, 10_001, 100)}


@dataclass(frozen=True)
class _Job:
    region: int
    slot: int
    tier: Tier
    gpus: int
    power_kw: int
    storage_tb: int
    value_per_gpu: int  # micro-USD
    resident: bool  # its data may not leave the home region


def generate_market(bids: int, regions: int, slots: int, seed: int) -> Market:
    rng = random.Random(seed)
    # Scores come from a stream of their own, so every other draw is what it was before bids
    # carried them, and so are the instances benchmarks/RESULTS.md records.
    scores = random.Random(f"{seed}-risk")
    region_names = [_region_name(r) for r in range(regions)]
    buyers = 1 + bids // 4
    bid_list = [_bid(rng, scores, n, _job(rng, regions, slots), region_names, slots, buyers)
                for n in range(bids)]
    items = [Item(id=_item_id(kind, region, slot, tier), kind=kind, region=region,
                  slot=_slot_name(slot), tier=tier, unit=UNIT[kind])
             for region in region_names for slot in range(slots) for tier in Tier
             for kind in ResourceKind]
    market = Market(items=items, asks=_asks(rng, items, bid_list), bids=bid_list)
    return market.model_copy(update={"policy": _policy(market)})


def _region_name(index: int) -> str:
    base = REGION_CODES[index % len(REGION_CODES)]
    return base if index < len(REGION_CODES) else f"{base}-{index // len(REGION_CODES) + 1}"


def _item_id(kind: ResourceKind, region: str, slot: int, tier: Tier) -> str:
    return item_label(kind, region, _slot_name(slot), tier)


def _slot_name(slot: int) -> str:
    return f"s{slot + 1}"


def _job(rng: random.Random, regions: int, slots: int) -> _Job:
    rating = rng.choices(list(RiskRating), weights=[60, 30, 10])[0]
    tier = {RiskRating.HIGH: Tier.CONFIDENTIAL,
            RiskRating.MEDIUM: rng.choice([Tier.CONFIDENTIAL, Tier.CERTIFIED]),
            RiskRating.LOW: rng.choices(list(Tier), weights=[15, 25, 60])[0]}[rating]
    gpus = rng.choices(JOB_GPUS, weights=[20, 25, 25, 15, 10, 5])[0]
    return _Job(region=rng.randrange(regions), slot=rng.randrange(slots), tier=tier,
                gpus=gpus, power_kw=gpus * KW_PER_GPU_NUMERATOR // 4,
                storage_tb=rng.choice([2, 4, 8, 16, 32, 64]),
                value_per_gpu=rng.randint(220, 720) * MICRO, resident=rng.random() < 0.3)


def _bid(rng: random.Random, scores: random.Random, number: int, job: _Job,
         region_names: list[str], slots: int, buyers: int) -> Bid:
    equity = rng.choices(list(EquityClass), weights=[20, 25, 55])[0]
    rating = {Tier.CONFIDENTIAL: RiskRating.HIGH, Tier.CERTIFIED: RiskRating.MEDIUM,
              Tier.STANDARD: RiskRating.LOW}[job.tier]
    if job.tier is Tier.CONFIDENTIAL and rng.random() < 0.6:
        rating = rng.choice([RiskRating.LOW, RiskRating.MEDIUM])
    if rng.random() < 0.02:  # a riskier job than its tier allows: it asks for a tier it may not use
        rating = RiskRating.HIGH
    has_data = equity is not EquityClass.COMMERCIAL or rng.random() < 0.3
    purpose = rng.choice(PURPOSES[equity])
    limit = MAX_EPSILON_MICROS.get(purpose, 0)
    epsilon = (rng.randint(limit // 4, limit) if limit else 0) if has_data else 0
    if has_data and rng.random() < 0.04:
        epsilon = limit + rng.randint(1, 2) * MICRO  # asks for more privacy loss than allowed
    if equity is EquityClass.PUBLIC_HEALTH:
        job = replace(job, value_per_gpu=job.value_per_gpu * 3 // 5)  # grant-funded budgets
    return Bid(id=f"bid-{number:05d}", buyer=f"{equity}-{rng.randrange(buyers):04d}",
               bundles=_bundles(rng, job, region_names, slots, has_data),
               epsilon_micros=epsilon, delta=1e-6 if has_data else 0.0,
               dataset=rng.choice(DATASETS) if has_data else None,
               risk_bps=scores.choice(RISK_BPS[rating]),
               purpose=purpose, equity_class=equity,
               expiry=PAST_EXPIRY + number if rng.random() < 0.03 else None)


def _bundles(rng: random.Random, job: _Job, region_names: list[str], slots: int,
             has_data: bool) -> list[Bundle]:
    """Home region and slot first, then discounted substitutes: the next slot, a neighbouring
    region (unless the data must stay home), both."""
    places = [(job.region, job.slot, 1.0)]
    if slots > 1:
        places.append((job.region, (job.slot + 1) % slots, 0.9))
    regions = len(region_names)
    if regions > 1 and not (has_data and job.resident):
        other = (job.region + 1 + rng.randrange(regions - 1)) % regions
        places += [(other, job.slot, 0.85), (other, (job.slot + 1) % slots, 0.75)]
    keep = 1 + rng.randrange(len(places))
    bundles = []
    for region, slot, factor in places[:keep]:
        name = region_names[region]
        bundles.append(Bundle(items={
            _item_id(ResourceKind.GPU, name, slot, job.tier): job.gpus,
            _item_id(ResourceKind.POWER, name, slot, job.tier): job.power_kw,
            _item_id(ResourceKind.STORAGE, name, slot, job.tier): job.storage_tb,
        }, value=int(job.gpus * job.value_per_gpu * factor)))
    return bundles


def _asks(rng: random.Random, items: list[Item], bids: list[Bid]) -> list[Ask]:
    """Two providers per item, the second dearer; together they cover about half the demand
    for the item's home bundles (most of it for storage), and never less than its largest
    single request."""
    demand: dict[str, int] = dict.fromkeys((item.id for item in items), 0)
    largest = dict(demand)
    for bid in bids:
        for item_id, quantity in bid.bundles[0].items.items():
            demand[item_id] += quantity
        for bundle in bid.bundles:
            for item_id, quantity in bundle.items.items():
                largest[item_id] = max(largest[item_id], quantity)
    asks = []
    for item in items:
        cover = STORAGE_COVER if item.kind is ResourceKind.STORAGE else (0.35, 0.65)
        total = max(int(demand[item.id] * rng.uniform(*cover)), largest[item.id], 1)
        price = int(RESERVE_PRICE[item.kind] * TIER_MARKUP[item.tier])
        first = total * 3 // 5 or total
        provider = f"{item.region}-{item.tier}"
        asks.append(Ask(provider=f"{provider}-a", item=item.id, capacity=first,
                        reserve_price=price,
                        enclave_measurement=_measurement(rng, item.tier)))
        if total > first:
            asks.append(Ask(provider=f"{provider}-b", item=item.id, capacity=total - first,
                            reserve_price=price * 5 // 4,
                            enclave_measurement=_measurement(rng, item.tier)))
    return asks


def _measurement(rng: random.Random, tier: Tier) -> str | None:
    return f"{rng.getrandbits(256):064x}" if tier is Tier.CONFIDENTIAL else None


def _policy(market: Market) -> Policy:
    """Risk caps at about half the load the home bundles would place on each tier, so they
    bind, and a fifth of every item reserved for public-health and research."""
    loads = {tier: sum(market.risk_load(bid, bid.bundles[0], tier) for bid in market.bids)
             for tier in Tier}
    return Policy(tier_risk_caps={tier: load // 2 for tier, load in loads.items()},
                  aggregate_risk_cap=sum(loads.values()) * 3 // 5,
                  max_epsilon_micros=MAX_EPSILON_MICROS, equity_reservation_bps=2_000)
