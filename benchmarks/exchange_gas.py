"""Gas of trading a compute future on the FuturesExchange, on the embedded chain, as one JSON
line. Every figure is a whole transaction's `gasUsed`: intrinsic gas and calldata included, as
ProjectOpenSea's marketplace-benchmarks count them.

A round of the settlement tests' market (`tests/contracts/settlement_fixtures.py`) issues
one-unit futures to a seller and a buyer, who claim them as ERC-1155 tokens, approve the
exchange on ComputeFutures and the payment token, and hold USD (1,000 USD funded, less what
their bids paid), as traders with a history do; the treasury, which receives the fee, holds
some already. `gas_fill_sell_total`: the buyer fills the seller's signed sell order for one
future with a 1 % fee (`fill_sell_nofee`: with no fee); `gas_fill_buy_total`: the seller fills
the buyer's signed buy order, with the fee; `gas_fill_sell_unclaimed_total`: a sell order of a
future never claimed, minted to the buyer through `ClearingHouse.claimFor`, with the fee.
`gas_fill_criteria_total`: the seller fills the buyer's signed buy order by criteria (any
future of the round with at least one unit of the item) with a claimed future, proven by its
bid's terms, salt and one-bundle envelope, with the fee; `gas_fill_criteria_calldata`: what its
calldata costs of that (4 gas a zero byte, 16 any other).
`gas_cancel`: a maker cancels one order; `gas_increment_counter`: a maker's first increment.
Each fill writes a fresh order status (zero to non-zero) and moves a future to an account that
held none of it; the chain's clock is fixed, so every run reports the same gas.

    python benchmarks/exchange_gas.py --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eth_account import Account

from chain.bid import fill_args
from chain.connection import connect
from chain.deploy import deploy_system
from chain.exchange import CriteriaOrder, Side

# The market it trades in is the tests' (tests/ is not an installed package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.contracts.exchange_fixtures import Exchange, future_id, issue_futures
from tests.contracts.settlement_fixtures import USD, build_market

START_TIMESTAMP = 1_900_000_000
FEE_BPS = 100
PRICE = 5 * USD


def measure() -> dict[str, int]:
    chain = connect()
    if int(chain.latest_timestamp()) < START_TIMESTAMP:
        chain.advance_time(START_TIMESTAMP - int(chain.latest_timestamp()))
    governance, auctioneer, provider, owner, seller, buyer = (chain.dev_account(i)
                                                              for i in range(6))
    system = deploy_system(chain, governance)
    nodes = sorted((Account.from_key(bytes([0x40 + i]) * 32) for i in range(3)),
                   key=lambda node: int(node.address, 16))
    market = build_market(system, governance, auctioneer, provider, owner, [seller, buyer], nodes)
    seller_bids = issue_futures(market, [seller, buyer], 5)[:5]
    futures = [future_id(market, bid) for bid in seller_bids]
    claimed = [market.digest(bid) for bid in (*seller_bids[:3], seller_bids[4])]
    chain.send(system.clearing_house.functions.claim(claimed), seller)
    exchange = Exchange(market)
    exchange.approve(seller, buyer)
    chain.send(system.usd.functions.mint(governance.address, USD), governance)

    def fill(side: Side, future: int, salt: int) -> int:
        maker, taker = (seller, buyer) if side is Side.SELL else (buyer, seller)
        order = exchange.order(maker, side, future, PRICE, salt=salt)
        return exchange.fill(order, exchange.sign(order, maker), taker).gas_used

    ex = system.exchange.functions
    sell_nofee = fill(Side.SELL, futures[0], 1)
    chain.send(ex.setFee(governance.address, FEE_BPS), governance)
    sell = fill(Side.SELL, futures[1], 2)
    buy = fill(Side.BUY, futures[2], 3)
    unclaimed = fill(Side.SELL, futures[3], 4)
    proven = seller_bids[4]
    criteria = CriteriaOrder(buyer.address, proven.round_id, proven.bundles[0].items[0], 1, PRICE,
                             market.now() + 3_600, 6)
    call = ex.fillCriteria(criteria.as_args(), exchange.sign(criteria, buyer),
                           fill_args(proven, 0))
    by_criteria = chain.send(call, seller).gas_used
    calldata = sum(16 if byte else 4 for byte in call.data)
    order = exchange.order(seller, Side.SELL, futures[1], PRICE, salt=5)
    cancel = chain.send(ex.cancel([order.as_args()]), seller).gas_used
    increment = chain.send(ex.incrementCounter(), seller).gas_used
    return {
        "fee_bps": FEE_BPS,
        "gas_fill_sell_total": sell,
        "gas_fill_sell_nofee_total": sell_nofee,
        "gas_fill_buy_total": buy,
        "gas_fill_sell_unclaimed_total": unclaimed,
        "gas_fill_criteria_total": by_criteria,
        "gas_fill_criteria_calldata": calldata,
        "gas_cancel": cancel,
        "gas_increment_counter": increment,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()
    row = measure()
    print(json.dumps(row) if args.json else row)


if __name__ == "__main__":
    main()
