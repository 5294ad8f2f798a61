"""`rcm trade` as people run it, against a Hardhat node: alice signs an order to sell the future
she won into a file, bob fills it and holds the future, a second fill and a fill of a cancelled
order are refused in one line, and every --json document follows the convention."""

from __future__ import annotations

import json
from pathlib import Path

from tests.rcm.test_json_convention import check_document
from tests.tokens.test_market_wallet_cli import Node
from tests.tokens.test_market_wallet_cli import future as future  # alice's, unclaimed
from tests.tokens.test_market_wallet_cli import node as node  # the module's own Hardhat node


def test_a_future_is_sold_by_a_signed_order_file_and_filled_in_one_transaction(
        node: Node, future: str, tmp_path: Path) -> None:
    cli = node.cli
    order = tmp_path / "order.json"
    signed = cli.json("trade", "sell", "alice", future[:12], "--price", "30", "--out", str(order))
    check_document(signed)
    assert (signed["future"], signed["price_micro_usd"]) == (future, 30_000_000)
    assert json.loads(order.read_text())["signature"] == signed["signature"]
    node.rejects("alice", "trade", "sell", "alice", future, "--price", "0", "--out",
                 str(tmp_path / "free.json"), match="--price: ")
    cli.ok("testnet", "fund", "bob", "--usd", "50")
    bought = cli.json("trade", "fill", "bob", str(order))
    check_document(bought, acts=True)
    assert (bought["future"], bought["seller"], bought["price_micro_usd"]) == (
        future, node.accounts["alice"].address, 30_000_000)
    assert [f["id"] for f in cli.json("wallet", "futures", "bob")] == [future]
    node.rejects("owner", "trade", "fill", "owner", str(order), match="ORDER: was filled already")

    resale = tmp_path / "resale.json"
    cli.json("trade", "sell", "bob", future, "--price", "40", "--out", str(resale))
    check_document(cli.json("trade", "cancel", "bob", str(resale)), acts=True)
    node.rejects("alice", "trade", "fill", "alice", str(resale),
                 match="ORDER: was cancelled already")
    check_document(cli.json("trade", "cancel-all", "bob"), acts=True)
    node.rejects("alice", "trade", "sell", "alice", future, "--price", "1", "--out",
                 str(tmp_path / "gone.json"), match="FUTURE_ID: ")
