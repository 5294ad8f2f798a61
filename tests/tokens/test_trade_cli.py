"""`rcm trade` as people run it, against a Hardhat node: alice signs an order to sell the future
she won into a file, bob fills it and holds the future, a second fill and a fill of a cancelled
order are refused in one line; alice buys it back by criteria, which bob fills; a bad buy order
is refused in one line; orders go through a relay served beside the node, by id; and every
--json document follows the convention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oracle.node.spawn import free_port
from service.background import opened, polling, serving
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


def test_a_buy_order_by_criteria_is_filled_by_a_holder_and_a_second_one_cancelled(
        node: Node, future: str, tmp_path: Path) -> None:
    """Bob holds the future the test above sold him: 3 units of item 1 of its round. Alice
    buys it back by criteria, without naming it."""
    cli = node.cli
    (held,) = cli.json("wallet", "futures", "bob")
    assert held["id"] == future
    criteria = ["--round", str(held["round"]), "--item", "1", "--min-qty", "3"]
    cli.ok("testnet", "fund", "alice", "--usd", "50")
    order = tmp_path / "criteria.json"
    signed = cli.json("trade", "buy", "alice", *criteria, "--price", "20", "--out", str(order))
    check_document(signed)
    assert (signed["side"], signed["round"], signed["item"], signed["min_quantity_units"]) == (
        "buy", held["round"], 1, 3)
    assert "tx" in signed["approval"]  # the exchange may now take alice's 20 USD
    sold = cli.json("trade", "fill", "bob", str(order))
    check_document(sold, acts=True)
    assert (sold["future"], sold["seller"], sold["buyer"], sold["price_micro_usd"]) == (
        future, node.accounts["bob"].address, node.accounts["alice"].address, 20_000_000)
    assert [f["id"] for f in cli.json("wallet", "futures", "alice")] == [future]

    again = tmp_path / "again.json"
    cli.json("trade", "buy", "alice", *criteria, "--price", "20", "--out", str(again))
    check_document(cli.json("trade", "cancel", "alice", str(again)), acts=True)
    node.rejects("bob", "trade", "fill", "bob", str(again), match="ORDER: was cancelled already")
    moved = cli.json("trade", "cancel-all", "alice")
    check_document(moved, acts=True)
    assert moved["counter"] == 1
    assert "its orders now carry counter 2" in cli.ok("trade", "cancel-all", "alice")


@pytest.mark.parametrize(("words", "match"), [
    (["--round", "1", "--item", "1", "--min-qty", "3", "--price", "0"], "--price: "),
    (["FUTURE", "--round", "1", "--item", "1", "--min-qty", "3", "--price", "1"],
     "FUTURE: names a future and criteria: one or the other"),
    (["--round", "1", "--item", "1", "--price", "1"], "--min-qty: needed"),
    (["--round", "1", "--item", "9", "--min-qty", "3", "--price", "1"],
     "--item: round 1 has no item 9"),
    (["--round", "1", "--item", "1", "--min-qty", "4000", "--price", "1"],
     "--min-qty: round 1's item 1 has 10 units in all: no future delivers 4,000 of it"),
    (["--round", "1", "--item", "1", "--min-qty", "3", "--price", "1e400"],
     "--price: is above 9,223,372,036,854.775807 USD"),
])
def test_a_bad_buy_order_is_refused_in_one_line(node: Node, future: str, tmp_path: Path,
                                                words: list[str], match: str) -> None:
    args = [future if word == "FUTURE" else word for word in words]
    node.rejects("alice", "trade", "buy", "alice", *args, "--out", str(tmp_path / "o.json"),
                 match=match)
    assert not (tmp_path / "o.json").exists()


def test_orders_go_through_a_relay_by_id_and_leave_its_book_when_filled_or_cancelled(
        node: Node, future: str, tmp_path: Path) -> None:
    """Alice holds the future again (above). She posts a sell order to the relay; bob fills it
    by its id's first digits; a buy order of bob's is cancelled by id; the book empties."""
    cli = node.cli
    with opened(node.system, tmp_path / "relay.sqlite") as service, \
            polling(service.indexer, 0.05) as poller, \
            serving(service.relay, caught_up=poller.caught_up) as url:
        posted = cli.json("trade", "sell", "alice", future, "--price", "25", "--relay", url)
        check_document(posted)
        assert posted["relay"] == url and "file" not in posted
        (held,) = cli.json("wallet", "futures", "alice")
        where = ["--round", str(held["round"]), "--item", "1", "--relay", url]
        book = cli.json("trade", "book", *where, rpc=False)
        assert [ask["order"] for ask in book["top_asks"]] == [posted["order"]]
        bought = cli.json("trade", "fill", "bob", posted["order"][:10], "--relay", url)
        check_document(bought, acts=True)
        assert (bought["future"], bought["price_micro_usd"]) == (future, 25_000_000)
        wanted = cli.json("trade", "buy", "alice", "--round", str(held["round"]), "--item", "1",
                          "--min-qty", "3", "--price", "5", "--relay", url)
        bids = cli.json("trade", "book", *where, rpc=False)["top_bids"]
        assert [bid["order"] for bid in bids] == [wanted["order"]]
        cancelled = cli.json("trade", "cancel", "alice", wanted["order"], "--relay", url)
        check_document(cancelled, acts=True)
        emptied = cli.json("trade", "book", *where, rpc=False)
        assert (emptied["top_asks"], emptied["top_bids"]) == ([], [])
        (traded, *_) = cli.json("trade", "trades", "--relay", url, rpc=False)
        assert (traded["buyer"], traded["price_micro_usd"]) == (
            node.accounts["bob"].address, 25_000_000)
        node.rejects("alice", "trade", "fill", "alice", "not-an-order", "--relay", url,
                     match="ORDER: is neither an order file nor an order id")
        node.rejects("alice", "trade", "fill", "alice", "0x00000000", "--relay", url,
                     match="ORDER: no order 0x00000000… here")
    gone = f"http://127.0.0.1:{free_port()}"
    node.rejects("bob", "trade", "sell", "bob", future, "--price", "30", "--relay", gone,
                 match=f"--relay: no relay answers at {gone}")


def test_a_second_relay_on_a_port_in_use_is_refused_in_one_line(node: Node) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        node.cli.rejects("market", "serve", "--port", str(port),
                         match=f"--port: 127.0.0.1:{port} is in use")
