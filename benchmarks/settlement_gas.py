"""Gas of settling a round on the embedded chain, one JSON line per round size (10, 100 winners).

The round runs under a regulator's policy with every rule active: three risk bands (riskBps
from 100, 1,000 and 3,000; the low band may use tiers 0-2, the medium tiers 1-2, the high tier 2
only; risk weights 1, 4, 16), risk caps per tier and in total (each twice the load this round's
winners put on it: checked against real loads on every tier, loose enough that every bid wins),
three equity classes of which classes 1 and 2 share a 20 % reservation of every item's capacity,
and ε limits for two purposes; the bonds and rates are `LAUNCH_RATES`. Two providers post ten
asks each (items of tiers 0, 1 and 2, GPU, power and storage kinds, each with twice the units
the winners take of the busiest item; `gas_post_asks` is one provider's transaction of ten asks,
which locks 0.01 CST of its bond per unit offered); the auctioneer opens the round
(`gas_open_round`, which pins the policy's rules). The auctioneer and the providers have bonded
twice what the round locks, as accounts bonded for more than one round.

Every bid has two bundles of its provider's items in tiers its band may use, and wins one of
them (bundle 0 or 1 in turn); bids cycle through the three bands, the three equity classes and
the two purposes. `gas_total` is every transaction from the first post to finalisation: the
auctioneer's post of the allocation in batches of up to 100 fills (`--batch`; `batches` is their
number; `gas_post_per_fill` is the posts divided by the winners), the price report co-signed by 2
of the 3 registered oracle nodes (item prices 1.5 times the reserve, each payment halfway
between its bundle's reserve cost and value; `gas_price`), the finalisation of every batch
(`gas_finalise_per_fill`) and the close that releases the poster's and the providers' bonds
(`gas_close`); no bid loses, so no release of losers is sent. `gas_per_fill` = gas_total /
winners, every fixed cost included. The script checks that the posted result's risk loads are
the ones the plan puts on the caps, none of them zero.

Each bidder first prepays 50 USD into its clearing-house credit (`gas_deposit_per_bidder`), then
commits one 40 USD bid (escrow from the credit, stake lock and ε reservation in one call;
`gas_commit_per_bid`, the credit left non-zero as it would be for a bidder with more bids to
place) and reveals it (`gas_reveal_per_bid`), both averaged over the round. Ten more bidders only
approve the payment token: each commits a bid whose deposit is pulled with `transferFrom`
(`gas_commit_pulling_per_bid`) and cancels it (`gas_cancel_per_bid`). `gas_claim_per_future` is
a winner minting its future's ERC-1155 token afterwards (its own transaction, needed only to
move the future before delivery), averaged over up to ten winners; those winners then redeem
their futures into oracle jobs (`gas_redeem_per_future`, the token burned) and each job's
compliant verdict lands with 2 of the 3 signatures (`gas_verdict_per_job`: the quorum check and
the clearing house's enforcement — payment credited, stake released, the provider's held bond
counted down, ε consumed, both parties audited). Bidders are fresh accounts
with no reputation score, so every first write of theirs is a zero-to-non-zero store. The chain's
clock starts at a fixed time and salts are fixed, so every run sends the same calldata and
reports the same gas.

    python benchmarks/settlement_gas.py --json [--batch 100] [--winners 10 100]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from statistics import mean
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from chain.bid import (
    Bid,
    Bundle,
    bid_args,
    bid_digest,
    bid_domain,
    envelope_hash,
    fill_args,
    purpose_id,
    sign_bid,
    terms_args,
)
from chain.clearing_house import Result, advance_into
from chain.connection import Chain, connect
from chain.deploy import deploy_system
from chain.ledger import dataset_id
from chain.policy import LAUNCH_RATES, ChainPolicy, PricingWeights, Rules
from chain.policy_oracle import register, signature_args, submit
from chain.prices import PriceReport, sign_report
from chain.settlement import POSTED_VERSION, Ask, Award, Deadlines, Phase, SolverStatus
from chain.system import System
from chain.verdict import Fault, Verdict, sign_verdict, verdict_domain
from tokens.operations import bond, fund

CST = 10**18
USD = 10**6
PHASE_SECONDS = 3_600
START_TIMESTAMP = 2_000_000_000
ROUND_SIZES = (10, 100)
SAMPLE = 10  # claims, and commits that pull their deposit
PREPAID = 50 * USD
MAX_VALUE = 40 * USD
BATCH = 100  # fills per post (and so per finalise) transaction

PROVIDERS = 2
ITEMS_PER_PROVIDER = 10
TIERS = 3
KINDS = ("gpu", "power", "storage")  # Item.kind codes 0, 1, 2; risk counts GPU units
GPU = 0

BAND_MIN_BPS = (100, 1_000, 3_000)
BAND_TIER_MASKS = (0b111, 0b110, 0b100)
BAND_RISK_WEIGHTS = (1, 4, 16)
BAND_RISK_BPS = (500, 2_000, 5_000)  # a bid of each band declares one of these
DECLARATION_HASH = b"\xde" * 32  # the chain keeps only hashes of declarations and rubrics
RUBRIC_HASH = b"\x7b" * 32
EQUITY_CLASSES = 3
EQUITY_CLASS_MASK = 0b110  # classes 1 and 2
EQUITY_RESERVATION_BPS = 2_000
PURPOSES = (("research", 1_000_000), ("training", 800_000))  # name, max ε (micro)
EPSILON_MICROS = 500_000
ORACLE_NODES, ORACLE_THRESHOLD = 3, 2


# ---- the round's plan: items and bids, fixed before anything is deployed ----


@dataclass(frozen=True)
class ItemPlan:
    provider: int
    tier: int
    kind: int
    reserve_price_micro_usd: int


@dataclass(frozen=True)
class BidPlan:
    band: int
    equity_class: int
    purpose: str
    bundles: tuple[Bundle, Bundle]
    winning: int


def _items() -> list[ItemPlan]:
    """Each provider's ten items: tiers 0, 1, 2 in turn, every other one a GPU item (the rest
    power or storage), so every tier has GPU and non-GPU items."""
    items = []
    for provider in range(PROVIDERS):
        for j in range(ITEMS_PER_PROVIDER):
            kind = GPU if j % 2 == 0 else (1 if j % 4 == 1 else 2)
            price = USD + j * USD // 10
            items.append(ItemPlan(provider, j % TIERS, kind, price))
    return items


def _bid_plan(i: int, items: list[ItemPlan]) -> BidPlan:
    """Bid `i`: provider i % 2, band (i // 2) % 3, equity class i % 3, purpose i % 2; a bundle
    of two items (2 and 3 units) worth 40 USD and a bundle of one item (4 units) worth 30 USD,
    all of the provider's items in tiers its band may use."""
    provider, band = i % PROVIDERS, (i // PROVIDERS) % len(BAND_MIN_BPS)
    usable = [
        index
        for index, item in enumerate(items)
        if item.provider == provider and (BAND_TIER_MASKS[band] >> item.tier) & 1
    ]
    k = i // (PROVIDERS * len(BAND_MIN_BPS))
    pair = sorted({usable[k % len(usable)], usable[(k + 1) % len(usable)]})
    single = usable[(k + 2) % len(usable)]
    return BidPlan(
        band=band,
        equity_class=i % EQUITY_CLASSES,
        purpose=PURPOSES[i % len(PURPOSES)][0],
        bundles=(
            Bundle(tuple(pair), (2, 3), MAX_VALUE),
            Bundle((single,), (4,), 30 * USD),
        ),
        winning=(i // 2) % 2,
    )


def _risk_loads(plans: list[BidPlan], items: list[ItemPlan]) -> list[int]:
    """The loads the winning bundles put on each tier's cap, then on the total cap."""
    loads = [0] * (TIERS + 1)
    for plan in plans:
        bundle = plan.bundles[plan.winning]
        for item, quantity in zip(bundle.items, bundle.quantities, strict=True):
            if items[item].kind == GPU:
                load = BAND_RISK_WEIGHTS[plan.band] * quantity
                loads[items[item].tier] += load
                loads[TIERS] += load
    return loads


def _reserve(bundle: Bundle, items: list[ItemPlan]) -> int:
    """A bundle's reserve cost: its units at its items' reserve prices."""
    return sum(
        quantity * items[item].reserve_price_micro_usd
        for item, quantity in zip(bundle.items, bundle.quantities, strict=True)
    )


def _capacity(plans: list[BidPlan]) -> int:
    """Every item's capacity: twice the most units the winners take of any item, so neither
    capacity nor the equity reservation (20 % of it, kept from bids of class 0) binds."""
    units: dict[int, int] = {}
    for plan in plans:
        bundle = plan.bundles[plan.winning]
        for item, quantity in zip(bundle.items, bundle.quantities, strict=True):
            units[item] = units.get(item, 0) + quantity
    return 2 * max(units.values())


def _policy(loads: list[int]) -> ChainPolicy:
    caps = [2 * max(load, 1) for load in loads]
    rules = Rules(
        band_min_bps=BAND_MIN_BPS,
        band_tier_masks=BAND_TIER_MASKS,
        band_risk_weights=BAND_RISK_WEIGHTS,
        tier_risk_caps=(caps[0], caps[1], caps[2]),
        total_risk_cap=caps[TIERS],
        equity_class_count=EQUITY_CLASSES,
        equity_class_mask=EQUITY_CLASS_MASK,
        equity_reservation_bps=EQUITY_RESERVATION_BPS,
        rates=LAUNCH_RATES,
    )
    return ChainPolicy(rules, PURPOSES, PricingWeights(2_000, (0, 500, 1_500), 1_000),
                       RUBRIC_HASH)


# ---- accounts ----


def _fund_bidders(
    system: System, governance: LocalAccount, owner: LocalAccount, keys: range, dataset: int
) -> list[LocalAccount]:
    chain = system.chain
    bidders = [Account.from_key((0xB1D000 + i).to_bytes(32, "big")) for i in keys]
    for bidder in bidders:
        chain.transfer_eth(governance, bidder.address, 10**18)
        chain.send(system.usd.functions.mint(bidder.address, 100 * USD), governance)
        chain.send(system.usd.functions.approve(system.clearing_house.address, 2**256 - 1), bidder)
        chain.send(system.cst.functions.mint(bidder.address, 100 * CST), governance)
        chain.send(system.cst.functions.approve(system.vault.address, 2**256 - 1), bidder)
        chain.send(system.vault.functions.stake(100 * CST), bidder)
        grant = system.ledger.functions.safeTransferFrom(
            owner.address, bidder.address, dataset, 10_000_000, b""
        )
        chain.send(grant, owner)
    return bidders


def _now(chain: Chain) -> int:
    return int(chain.latest_timestamp())


def _gas(receipt: Any) -> int:
    return int(receipt.gas_used)


def _bid(
    bidder: LocalAccount, round_id: int, dataset: int, nonce: int, expiry: int, plan: BidPlan
) -> Bid:
    return Bid(
        round_id=round_id,
        bidder=bidder.address,
        max_value_micro_usd=MAX_VALUE,
        dataset_id=dataset,
        epsilon_micros=EPSILON_MICROS,
        delta_atto=10**10,
        risk_bps=BAND_RISK_BPS[plan.band] + nonce % 7,
        declaration_hash=DECLARATION_HASH,
        purpose=purpose_id(plan.purpose),
        equity_class=plan.equity_class,
        nonce=nonce,
        expiry_timestamp=expiry,
        bundles=plan.bundles,
        # Random-looking but fixed, so every run sends the same calldata.
        salt=bytes(keccak(b"salt" + nonce.to_bytes(8, "big"))),
    )


# ---- the round ----


def measure(winners: int, batch_size: int = BATCH) -> dict[str, int]:
    items = _items()
    plans = [_bid_plan(i, items) for i in range(winners)]
    pull_plans = [_bid_plan(i, items) for i in range(winners, winners + SAMPLE)]
    capacity = _capacity(plans)
    loads = _risk_loads(plans, items)

    chain = connect()
    # A fixed clock (each block one second later), so every run sends the same calldata.
    if _now(chain) < START_TIMESTAMP:
        chain.advance_time(START_TIMESTAMP - _now(chain))
    governance, auctioneer, owner = (chain.dev_account(i) for i in range(3))
    providers = [chain.dev_account(3 + p) for p in range(PROVIDERS)]
    system = deploy_system(chain, governance, policy=_policy(loads))
    house = system.clearing_house
    role = house.functions.AUCTIONEER_ROLE().call()
    chain.send(house.functions.grantRole(role, auctioneer.address), governance)
    # Twice what the round locks, as for accounts bonded for more than one round.
    provider_bond = ITEMS_PER_PROVIDER * capacity * LAUNCH_RATES.provider_bond_per_unit_wei
    bonds = [(auctioneer, 2 * LAUNCH_RATES.auctioneer_bond_wei)]
    bonds += [(provider, 2 * provider_bond) for provider in providers]
    for account, amount in bonds:
        fund(system, governance, account.address, amount, 0, 0)
        bond(system, account, amount)
    nodes = sorted(
        (Account.from_key(bytes([0x40 + i]) * 32) for i in range(ORACLE_NODES)),
        key=lambda node: int(node.address, 16),
    )
    config_digest = register(system, governance, [n.address for n in nodes], ORACLE_THRESHOLD)
    content = b"\x5e" * 32
    purposes = [purpose_id(name) for name, _ in PURPOSES]
    public = 0  # the data categories: none
    chain.send(system.ledger.functions.register(content, 10**12, 10**12, 10**15, purposes, public),
               owner)
    dataset = dataset_id(owner.address, content)
    bidders = _fund_bidders(system, governance, owner, range(winners), dataset)
    pullers = _fund_bidders(system, governance, owner, range(winners, winners + SAMPLE), dataset)
    deposits = [_gas(chain.send(house.functions.deposit(PREPAID), b)) for b in bidders]

    now = _now(chain)
    deadlines = Deadlines.after(now, *(PHASE_SECONDS,) * 4)
    opened = _gas(chain.send(house.functions.openRound(deadlines.as_args()), auctioneer))
    round_id = int(house.functions.roundCount().call())
    slot = now + 86_400
    asks_gas = []
    for p, provider in enumerate(providers):
        asks = [
            Ask(
                item.kind,
                "us-east",
                f"{KINDS[item.kind]}-hour",
                slot,
                3_600,
                item.tier,
                capacity,
                item.reserve_price_micro_usd,
            ).as_args()
            for item in items
            if item.provider == p
        ]
        asks_gas.append(_gas(chain.send(house.functions.postAsks(round_id, asks), provider)))

    domain = bid_domain(chain.chain_id, house.address)
    expiry = deadlines.challenge_timestamp + 7 * 86_400
    bids = [
        _bid(bidder, round_id, dataset, i, expiry, plan)
        for i, (bidder, plan) in enumerate(zip(bidders, plans, strict=True))
    ]
    commits = [
        _gas(chain.send(house.functions.commit(terms_args(bid), envelope_hash(bid)), bidder))
        for bid, bidder in zip(bids, bidders, strict=True)
    ]
    pulls, cancels = [], []
    for i, (puller, plan) in enumerate(zip(pullers, pull_plans, strict=True)):
        bid = _bid(puller, round_id, dataset, winners + i, expiry, plan)
        args = (terms_args(bid), envelope_hash(bid))
        pulls.append(_gas(chain.send(house.functions.commit(*args), puller)))
        cancels.append(_gas(chain.send(house.functions.cancel(*args), puller)))
    advance_into(chain, house, round_id, Phase.REVEAL)
    reveals = [
        _gas(
            chain.send(house.functions.reveal(bid_args(bid), sign_bid(bidder, domain, bid)), bidder)
        )
        for bid, bidder in zip(bids, bidders, strict=True)
    ]

    # The post: fills in ascending digest order across batches, as the result requires.
    advance_into(chain, house, round_id, Phase.POST)
    filled = sorted(
        ((bid_digest(domain, bid), bid, plan) for bid, plan in zip(bids, plans, strict=True)),
        key=lambda entry: entry[0],
    )
    welfare = sum(
        plan.bundles[plan.winning].value_micro_usd - _reserve(plan.bundles[plan.winning], items)
        for plan in plans
    )
    claim = (int(SolverStatus.OPTIMAL), welfare)
    posts, batches = [], []
    for start in range(0, len(filled), batch_size):
        chunk = [
            fill_args(bid, plan.winning) for _, bid, plan in filled[start : start + batch_size]
        ]
        receipt = chain.send(house.functions.post(round_id, chunk, claim), auctioneer)
        posts.append(_gas(receipt))
        (event,) = house.events_in(receipt, "BatchPosted")
        batches.append([Award.from_event(raw) for raw in event.args["awards"]])

    # The caps were checked against real loads on every tier, not waved through.
    posted = Result.read(house, round_id, POSTED_VERSION)
    if list(posted.risk_loads) != loads or 0 in loads or posted.fill_count != winners:
        raise RuntimeError(f"unexpected result: {posted}, expected loads {loads}")

    # Priced by the quorum: one payment per fill, in the result's order, within its bundle.
    advance_into(chain, house, round_id, Phase.PRICE)
    payments = [
        [
            award.reserve_micro_usd + (award.value_micro_usd - award.reserve_micro_usd) // 2
            for award in batch
        ]
        for batch in batches
    ]
    item_prices = tuple(item.reserve_price_micro_usd * 3 // 2 for item in items)
    report = PriceReport(
        house.address,
        round_id,
        POSTED_VERSION,
        item_prices,
        tuple(p for batch in payments for p in batch),
        config_digest,
    )
    oracle_domain = verdict_domain(chain.chain_id, system.oracle.address)
    signatures = [
        (n.address, sign_report(n, oracle_domain, report)) for n in nodes[:ORACLE_THRESHOLD]
    ]
    price_call = house.functions.price(
        round_id, list(item_prices), list(report.payments_micro_usd), signature_args(signatures)
    )
    priced = _gas(chain.send(price_call, auctioneer))

    finalises = [
        _gas(
            chain.send(
                house.functions.finalise(round_id, b, [a.as_args() for a in batch], payments[b]),
                auctioneer,
            )
        )
        for b, batch in enumerate(batches)
    ]
    closed = _gas(chain.send(house.functions.close(round_id), auctioneer))
    sampled = list(zip(bids, bidders, strict=True))[:SAMPLE]
    claims = [
        _gas(chain.send(house.functions.claim([bid_digest(domain, bid)]), bidder))
        for bid, bidder in sampled
    ]
    # Each claimed future redeemed into a job, and the quorum's compliant verdict on it:
    # signatures checked, then enforced (payment credited, stake released, the provider's
    # held bond counted down, ε consumed, both parties audited for the first time).
    redeems, verdicts = [], []
    for bid, bidder in sampled:
        digest = bid_digest(domain, bid)
        redeem = house.functions.redeem(int.from_bytes(digest, "big"), bid.declaration_hash)
        redeems.append(_gas(chain.send(redeem, bidder)))
        verdict = Verdict(digest, True, Fault.NONE, bytes(32), config_digest)
        signed = [(n.address, sign_verdict(n, oracle_domain, verdict))
                  for n in nodes[:ORACLE_THRESHOLD]]
        verdicts.append(_gas(submit(system, governance, verdict, signed)))

    total = sum(posts) + priced + sum(finalises) + closed
    return {
        "winners": winners,
        "batches": len(batches),
        "gas_total": total,
        "gas_per_fill": total // winners,
        "gas_post_per_fill": sum(posts) // winners,
        "gas_price": priced,
        "gas_finalise_per_fill": sum(finalises) // winners,
        "gas_close": closed,
        "gas_open_round": opened,
        "gas_post_asks": round(mean(asks_gas)),
        "gas_deposit_per_bidder": round(mean(deposits)),
        "gas_commit_per_bid": round(mean(commits)),
        "gas_commit_pulling_per_bid": round(mean(pulls)),
        "gas_cancel_per_bid": round(mean(cancels)),
        "gas_reveal_per_bid": round(mean(reveals)),
        "gas_claim_per_future": round(mean(claims)),
        "gas_redeem_per_future": round(mean(redeems)),
        "gas_verdict_per_job": round(mean(verdicts)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--batch", type=int, default=BATCH, help="fills per post transaction")
    parser.add_argument(
        "--winners", type=int, nargs="*", default=list(ROUND_SIZES), help="round sizes"
    )
    args = parser.parse_args()
    for winners in args.winners:
        row = measure(winners, args.batch)
        print(json.dumps(row) if args.json else row)


if __name__ == "__main__":
    main()
