"""What the results and round-attack tests share: the expectations they derive (a fill's award,
a result's welfare, what a challenge must reach), a round policy with its limits switched on,
a second provider, the clock set to a block of choice, and a reading of everything a refused
step must leave as it was."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.bid import Bid, Bundle
from chain.policy import NO_CAP, ChainPolicy
from chain.settlement import KIND_CODES, Ask, Award
from tests.contracts.settlement_fixtures import ASKS, CST, POLICY, USD, Market, fund_and_bond
from tests.support import event_args

BPS = 10_000
ZERO_ADDRESS = "0x" + "00" * 20
# One certified GPU item like ASKS', offered by a second provider: a bundle naming it and one
# of ASKS spans two providers.
SECOND_ASK = Ask(0, "us-east", "gpu-hour", 2_000_000_000, 3_600, 1, 10, USD)
ITEMS = (*ASKS, SECOND_ASK)

# The limits POLICY leaves off, switched on: certified-tier risk load at most 20, total load at
# most 12 (so a low-risk bundle of 13 GPU units breaks only the total, a medium-risk one of 6
# units only the tier), and half of every item kept for the equity classes.
CAPPED_TIER_RISK_CAP = 20
CAPPED_TOTAL_RISK_CAP = 12
CAPPED_RESERVATION_BPS = 5_000
CAPPED = replace(
    POLICY,
    rules=replace(
        POLICY.rules,
        tier_risk_caps=(NO_CAP, CAPPED_TIER_RISK_CAP, NO_CAP),
        total_risk_cap=CAPPED_TOTAL_RISK_CAP,
        equity_reservation_bps=CAPPED_RESERVATION_BPS,
    ),
)
TOTAL = 3  # RiskCapExceeded's tier index for the total cap


def hex32(digest: bytes) -> str:
    """A bytes32 as `Reverted` decodes it."""
    return "0x" + digest.hex()


def code_field(name: str) -> str:
    """`UnknownCode`'s field, a short name as bytes32, as `Reverted` decodes it."""
    return hex32(name.encode().ljust(32, b"\0"))


# ---- expectations ----


def reserve_cost(bundle: Bundle, asks: tuple[Ask, ...] = ITEMS) -> int:
    """A bundle's units at its items' reserve prices."""
    return sum(q * asks[item].reserve_price_micro_usd
               for item, q in zip(bundle.items, bundle.quantities, strict=True))


def award(market: Market, bid: Bid, index: int, asks: tuple[Ask, ...] = ITEMS) -> Award:
    """The award a fill of `bid`'s bundle `index` is kept as."""
    bundle = bid.bundles[index]
    return Award(market.digest(bid), index, last_to_end(bundle, asks), bundle.value_micro_usd,
                 reserve_cost(bundle, asks))


def last_to_end(bundle: Bundle, asks: tuple[Ask, ...] = ITEMS) -> int:
    """The bundle's item whose slot ends last (the first of them on a tie): a future's
    delivery ends with it."""
    return max(bundle.items, key=lambda item: (
        asks[item].slot_start_timestamp + asks[item].slot_seconds, -item))


def awards(market: Market, *chosen: tuple[Bid, int], asks: tuple[Ask, ...] = ITEMS) -> list[Award]:
    """The awards of a batch of these fills, in the ascending digest order it takes them."""
    return sorted((award(market, bid, index, asks) for bid, index in chosen),
                  key=lambda a: a.bid_digest)


def welfare(*chosen: tuple[Bid, int], asks: tuple[Ask, ...] = ITEMS) -> int:
    """Σ value − Σ reserve cost over the filled bundles."""
    return sum(bid.bundles[i].value_micro_usd - reserve_cost(bid.bundles[i], asks)
               for bid, i in chosen)


def needed_welfare(standing_micro_usd: int, min_improvement_bps: int) -> int:
    """What a challenge must reach to replace a result: the policy's step, and at least 1."""
    return standing_micro_usd + max(standing_micro_usd * min_improvement_bps // BPS, 1)


def allocation(item_count: int, *chosen: tuple[Bid, int]) -> list[tuple[int, int]]:
    """(allocated, unreserved) per item, as `allocationOf` reads: units in all, and units of
    bids outside POLICY's equity classes."""
    allocated, unreserved = [0] * item_count, [0] * item_count
    for bid, index in chosen:
        bundle = bid.bundles[index]
        equity = (POLICY.rules.equity_class_mask >> bid.equity_class) & 1
        for item, quantity in zip(bundle.items, bundle.quantities, strict=True):
            allocated[item] += quantity
            unreserved[item] += 0 if equity else quantity
    return list(zip(allocated, unreserved, strict=True))


def risk_loads(*chosen: tuple[Bid, int], asks: tuple[Ask, ...] = ITEMS) -> tuple[int, ...]:
    """Each tier's risk load, then the total: the bid's band weight times its GPU units."""
    rules = POLICY.rules
    loads = [0, 0, 0]
    for bid, index in chosen:
        band = rules.band_of(bid.risk_bps)
        assert band is not None, bid.risk_bps
        bundle = bid.bundles[index]
        for item, quantity in zip(bundle.items, bundle.quantities, strict=True):
            if asks[item].kind == KIND_CODES["gpu"]:
                loads[asks[item].tier] += rules.band_risk_weights[band] * quantity
    return (*loads, sum(loads))


def by_digest(market: Market, *chosen: tuple[Bid, int]) -> list[tuple[Bid, int]]:
    return sorted(chosen, key=lambda pair: market.digest(pair[0]))


# ---- set-up steps ----


def register_policy(market: Market, policy: ChainPolicy) -> int:
    """Registers `policy` as the current one; its id from the `PolicySet` event."""
    call = market.system.policies.functions.setPolicy(policy.as_args())
    receipt = market.chain.send(call, market.governance)
    (registered,) = event_args(market.system.policies, receipt, "PolicySet")
    return int(registered["policyId"])


def open_round_under(market: Market, policy: ChainPolicy) -> int:
    """A round with ASKS pinned to `policy`; POLICY is current again afterwards."""
    register_policy(market, policy)
    round_id = market.open_round()
    register_policy(market, POLICY)
    return round_id


def second_provider(market: Market) -> LocalAccount:
    """A provider other than `market.provider`, with ETH for gas and 10 CST of bond."""
    account = Account.from_key(b"\x0b" * 32)
    market.chain.transfer_eth(market.governance, account.address, 10**18)
    fund_and_bond(market.system, market.governance, account, 10 * CST)
    return account


def post_asks(market: Market, round_id: int, asks: tuple[Ask, ...], provider: LocalAccount) -> Any:
    call = market.house.functions.postAsks(round_id, [a.as_args() for a in asks])
    return market.chain.send(call, provider)


def next_block_at(market: Market, timestamp: int) -> None:
    """Sets the clock so that the next transaction is mined in a block stamped `timestamp`:
    the embedded chain mines `advance_time`'s block one second short of its target and stamps
    the next one second later (callers check the receipt's block)."""
    market.chain.advance_time(timestamp - market.now())


def block_timestamp(market: Market, receipt: Any) -> int:
    return int(market.chain.w3.eth.get_block(receipt.block_number)["timestamp"])


def posted_version(market: Market, receipt: Any) -> int:
    """The result version a batch was added to, from its `BatchPosted` event."""
    (posted,) = event_args(market.house, receipt, "BatchPosted")
    return int(posted["version"])


# ---- reads ----


def bond_of(market: Market, account: str) -> tuple[int, int]:
    """(bonded, bondLocked): the account's free bond and what rounds hold of it."""
    balance = market.vault_balance(account)
    return balance.bonded_wei, balance.bond_locked_wei


def cst_balance(market: Market, account: str) -> int:
    return int(market.system.cst.functions.balanceOf(account).call())


def house_state(market: Market, round_id: int, involved: Sequence[Bid] = (),
                *accounts: LocalAccount) -> dict[str, Any]:
    """What a refused step in a round could have touched: the round, its results and what
    each holds of the items the involved bids name, those bids' records, the vault balances of
    the auctioneer and of `accounts` (a slash or a seized bond shows there), the house's USD."""
    house = market.house.functions
    state = market.round(round_id)
    versions = range(1, state.version_count + 1)
    items = sorted({item for bid in involved for bundle in bid.bundles for item in bundle.items
                    if item < state.item_count})
    holders = [market.auctioneer, *accounts]
    return {
        "round": state,
        "results": [market.result(round_id, v) for v in versions],
        "allocations": {(v, item): tuple(house.allocationOf(round_id, v, item).call())
                        for v in versions for item in items},
        "records": [market.record(market.digest(bid)) for bid in involved],
        "vault": {a.address: market.vault_balance(a.address) for a in holders},
        "house_usd": market.usd(market.house.address),
    }
