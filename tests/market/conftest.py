"""Builders for small hand-checkable markets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from market.model import Ask, Bid, Bundle, Item, Market, Policy, ResourceKind, Tier

MarketBuilder = Callable[..., Market]
# Scores at the default policy's band minimums: a low-, medium- and high-risk bid.
LOW_BPS, MEDIUM_BPS, HIGH_BPS = 1_000, 3_000, 6_000


def goods_market(bids: dict[str, list[tuple[dict[str, int], int]]],
                 capacity: dict[str, int] | None = None, *, policy: Policy | None = None,
                 reserve: dict[str, int] | None = None,
                 supply: dict[str, list[tuple[int, int]]] | None = None,
                 tiers: dict[str, Tier] | None = None, **bid_fields: dict[str, Any]) -> Market:
    """GPU items named in the bids, of capacity 1 at reserve 0 unless `capacity`/`reserve`
    say otherwise or `supply` gives an item's asks as (units, price); bids as
    {id: [(items, value), ...]}; each keyword maps a Bid field to {bid id: value}."""
    names = sorted({item for bundles in bids.values() for items, _ in bundles for item in items}
                   | set(capacity or {}) | set(supply or {}))
    items = [Item(id=name, kind=ResourceKind.GPU, region="r", slot="s",
                  tier=(tiers or {}).get(name, Tier.STANDARD), unit="gpu") for name in names]
    steps = {name: (supply or {}).get(name, [((capacity or {}).get(name, 1),
                                              (reserve or {}).get(name, 0))])
             for name in names}
    asks = [Ask(provider=f"p{n}", item=name, capacity=units, reserve_price=price)
            for name in names for n, (units, price) in enumerate(steps[name])]
    bid_list = [Bid(id=bid_id, buyer=bid_id,
                    bundles=[Bundle(items=items_, value=value) for items_, value in bundles],
                    **{field: values[bid_id] for field, values in bid_fields.items()
                       if bid_id in values})
                for bid_id, bundles in bids.items()]
    return Market(items=items, asks=asks, bids=bid_list, policy=policy or Policy())


@pytest.fixture(scope="session")
def build_market() -> MarketBuilder:
    return goods_market
