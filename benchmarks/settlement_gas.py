"""Gas of settling a round on the embedded chain, one JSON line per round size (10, 100 winners).

Every bid wins one of its two bundles. `gas_total` is every transaction from posting the
result to finalisation (the post, and the finalisation that credits each winner its future),
so `gas_per_fill` = gas_total / winners includes each transaction's fixed costs.

Each bidder first prepays 50 USD into its clearing-house credit (`gas_deposit_per_bidder`), then
commits one 40 USD bid (escrow from the credit, stake lock and ε reservation in one call;
`gas_commit_per_bid`, the credit left non-zero as it would be for a bidder with more bids to
place) and reveals it, both averaged over the round. Ten more bidders only approve the
payment token: each commits a bid whose deposit is pulled with `transferFrom`
(`gas_commit_pulling_per_bid`) and cancels it (`gas_cancel_per_bid`). `gas_claim_per_future` is
a winner minting its future's ERC-1155 token afterwards (its own transaction, needed only to
move the future before delivery), averaged over up to ten winners. Bidders are fresh accounts
with no reputation score, so every first write of theirs is a zero-to-non-zero store.

    python benchmarks/settlement_gas.py --json
"""

from __future__ import annotations

import argparse
import json
from statistics import mean

from eth_account import Account
from eth_account.signers.local import LocalAccount

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
from chain.connection import Chain, connect
from chain.deploy import deploy_system
from chain.settlement import Ask, Deadlines, dataset_id
from chain.system import System

CST = 10**18
USD = 10**6
ITEMS = 20
PHASE_SECONDS = 3_600
PURPOSE = purpose_id("research")
ROUND_SIZES = (10, 100)
SAMPLE = 10  # claims, and commits that pull their deposit
PREPAID = 50 * USD
MAX_VALUE = 40 * USD


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


def _bond(system: System, governance: LocalAccount, account: LocalAccount, amount: int) -> None:
    chain = system.chain
    chain.send(system.cst.functions.mint(account.address, amount), governance)
    chain.send(system.cst.functions.approve(system.vault.address, amount), account)
    chain.send(system.vault.functions.bond(amount), account)


def _now(chain: Chain) -> int:
    return int(chain.w3.eth.get_block("latest")["timestamp"])


def _bid(bidder: LocalAccount, round_id: int, dataset: int, nonce: int, expiry: int) -> Bid:
    return Bid(
        round_id=round_id,
        bidder=bidder.address,
        max_value_micro_usd=MAX_VALUE,
        dataset_id=dataset,
        epsilon_micros=500_000,
        delta_atto=10**10,
        risk_bps=500,
        purpose=PURPOSE,
        equity_class=0,
        nonce=nonce,
        expiry_timestamp=expiry,
        bundles=(
            Bundle((nonce % ITEMS, (nonce + 1) % ITEMS), (2, 3), MAX_VALUE),
            Bundle(((nonce + 2) % ITEMS,), (4,), 30 * USD),
        ),
    )


def measure(winners: int) -> dict[str, int]:
    chain = connect()
    governance, auctioneer, provider, owner = (chain.dev_account(i) for i in range(4))
    system = deploy_system(chain, governance)
    house = system.clearing_house
    role = house.functions.AUCTIONEER_ROLE().call()
    chain.send(house.functions.grantRole(role, auctioneer.address), governance)
    _bond(system, governance, auctioneer, 100 * CST)
    _bond(system, governance, provider, 10 * CST)
    content = b"\x5e" * 32
    chain.send(system.ledger.functions.register(content, 10**12, 10**12, [PURPOSE]), owner)
    dataset = dataset_id(owner.address, content)
    bidders = _fund_bidders(system, governance, owner, range(winners), dataset)
    pullers = _fund_bidders(system, governance, owner, range(winners, winners + SAMPLE), dataset)

    now = _now(chain)
    deadlines = Deadlines.after(now, *(PHASE_SECONDS,) * 4)
    chain.send(house.functions.openRound(deadlines.as_args(), USD), auctioneer)
    round_id = int(house.functions.roundCount().call())
    ask = Ask("gpu.h100", "us-east", "gpu-hour", now + 86_400, 3_600, 1, 10 * winners, USD)
    chain.send(house.functions.postAsks(round_id, [ask.as_args()] * ITEMS), provider)

    domain = bid_domain(chain.chain_id, house.address)
    expiry = deadlines.commit_timestamp
    bids = [_bid(bidder, round_id, dataset, i, expiry) for i, bidder in enumerate(bidders)]
    deposits = [chain.send(house.functions.deposit(PREPAID), b)["gasUsed"] for b in bidders]
    commits = [
        chain.send(house.functions.commit(terms_args(bid), envelope_hash(bid)), bidder)["gasUsed"]
        for bid, bidder in zip(bids, bidders, strict=True)
    ]
    pulls, cancels = [], []
    for i, puller in enumerate(pullers):
        bid = _bid(puller, round_id, dataset, winners + i, expiry)
        args = (terms_args(bid), envelope_hash(bid))
        pulls.append(chain.send(house.functions.commit(*args), puller)["gasUsed"])
        cancels.append(chain.send(house.functions.cancel(*args), puller)["gasUsed"])
    chain.advance_time(PHASE_SECONDS)
    reveals = [
        chain.send(house.functions.reveal(bid_args(bid), sign_bid(bidder, domain, bid)), bidder)[
            "gasUsed"
        ]
        for bid, bidder in zip(bids, bidders, strict=True)
    ]
    chain.advance_time(PHASE_SECONDS)
    digests = [bid_digest(domain, bid) for bid in bids]
    fills = [fill_args(d, bid, 0, 25 * USD) for d, bid in zip(digests, bids, strict=True)]
    posted = chain.send(house.functions.post(round_id, fills), auctioneer)["gasUsed"]
    chain.advance_time(2 * PHASE_SECONDS)
    finalised = chain.send(house.functions.finalise(round_id, digests, []), auctioneer)["gasUsed"]
    claims = [
        chain.send(house.functions.claim([digest]), bidder)["gasUsed"]
        for digest, bidder in list(zip(digests, bidders, strict=True))[:SAMPLE]
    ]
    total = int(posted) + int(finalised)
    return {
        "winners": winners,
        "gas_total": total,
        "gas_per_fill": total // winners,
        "gas_deposit_per_bidder": round(mean(deposits)),
        "gas_commit_per_bid": round(mean(commits)),
        "gas_commit_pulling_per_bid": round(mean(pulls)),
        "gas_cancel_per_bid": round(mean(cancels)),
        "gas_reveal_per_bid": round(mean(reveals)),
        "gas_claim_per_future": round(mean(claims)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    for winners in ROUND_SIZES:
        row = measure(winners)
        print(json.dumps(row) if args.json else row)


if __name__ == "__main__":
    main()
