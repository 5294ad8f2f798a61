"""`rcm market prices|index` as people run them, in this process against the embedded chain of
tests/market/test_price_history.py (a priced round, an unpriced one, three fills): the series
as a table and as --json under the convention, and bad input refused in one line, exit 2; the
SDK's `Market.prices` and `Market.price_index` read the same; and with --relay (or $RCM_RELAY)
the market service's index of that chain answers each command exactly as the chain does."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import rcm as sdk
from oracle.node.spawn import free_port
from service.background import opened, serving
from tests.market.test_price_history import LABELS, Traded
from tests.market.test_price_history import traded as traded  # the module's own chain
from tests.rcm.test_json_convention import check_document
from tests.support import Run, rcm_in_process

Rcm = Callable[..., Run]


@pytest.fixture
def rcm(traded: Traded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Rcm:
    monkeypatch.setenv("RCM_HOME", str(tmp_path))
    for command in ("market", "round"):
        monkeypatch.setattr(f"rcm.commands.{command}.load_system",
                            lambda rpc: traded.market.system)

    return lambda *args: rcm_in_process([*args, "--rpc", "embedded"], capsys, monkeypatch)


def test_an_items_prices_print_as_a_table_of_clearing_and_trades(rcm: Rcm) -> None:
    run = rcm("market", "prices", "1:0")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == f"{LABELS[0]}: 3 prices"
    assert lines[1].split() == ["time", "(UTC)", "round", "source", "USD", "per", "unit", "units"]
    rows = [line.split()[2:] for line in lines[3:]]
    # 26 USD for 2 units at 3 and 3 at 2 (12 USD): 6.50 a unit here; then 10 times that back.
    assert rows == [["1", "clearing", "3.00", "2"], ["1", "trade", "6.50", "2"],
                    ["1", "trade", "65.00", "2"]]
    assert rcm("market", "prices", LABELS[0]).out == run.out


def test_round_status_labels_its_items_as_the_prices_command_takes_them(rcm: Rcm) -> None:
    run = rcm("round", "status", "2", "--json")
    assert run.code == 0, run.err
    assert [item["label"] for item in json.loads(run.out)["items"]] == LABELS


def test_prices_json_follows_the_convention_and_names_each_trades_parties(
        rcm: Rcm, traded: Traded) -> None:
    run = rcm("market", "prices", LABELS[1], "--json")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    check_document(document)
    buyer, rival = (account.address for account in traded.market.bidders)
    assert document["item"] == LABELS[1]
    assert [(p["source"], p["price_per_unit_micro_usd"], p["quantity_units"], p["seller"],
             p["buyer"], p["order_hash"]) for p in document["prices"]] == [
        ("clearing", 2_000_000, 3, None, None, None),
        ("trade", 4_333_333, 3, buyer, rival, "0x" + traded.orders[0].hex()),
        ("trade", 43_333_333, 3, rival, buyer, "0x" + traded.orders[1].hex())]


def test_the_index_prints_and_its_json_follows_the_convention(rcm: Rcm) -> None:
    run = rcm("market", "index")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "gpu in us-east, per unit"
    assert [line.split()[2:] for line in lines[3:7]] == [
        ["2.00", "2.00", "0", "0"], ["2.00", "2.00", "0", "1"], ["2.00", "2.00", "0", "2"],
        ["2.20", "2.00", "1", "2"]]  # the outsider's trade, clamped: 2 USD + 20 % of 1 USD
    document = json.loads(rcm("market", "index", "gpu", "us-east", "--json").out)
    check_document(document)
    assert [(p["index_micro_usd"], p["trade_count"], p["excluded_trade_count"])
            for p in document["index"]] == [(2_000_000, 0, 0), (2_000_000, 0, 1),
                                             (2_000_000, 0, 2), (2_200_000, 1, 2)]


@pytest.mark.parametrize("args, line", [
    (("prices", "7:0"), "error: ITEM: round 7 offered no item 0"),
    (("prices", "gpu-us-east-2040-01-01T00:00Z-certified"),
     "error: ITEM: no round offered gpu-us-east-2040-01-01T00:00Z-certified"),
    (("prices", "gpu/us-east"), "error: ITEM: 'gpu/us-east' is neither ROUND:INDEX nor a label"),
    (("index", "tpu"), "error: RESOURCE: expected one of gpu, power, storage, got 'tpu'"),
    (("index", "gpu", "mars"), "error: REGION: no gpu was priced in mars"),
])
def test_bad_input_is_refused_in_one_line_with_exit_2(rcm: Rcm, args: tuple[str, ...],
                                                       line: str) -> None:
    run = rcm("market", *args)
    assert (run.code, run.out, len(run.err.splitlines())) == (2, "", 1), run.err
    assert run.err.startswith(line), run.err


def test_the_sdk_reads_the_series_the_commands_print(traded: Traded) -> None:
    market = sdk.Market(traded.market.system)
    assert market.prices("1:0") == market.prices(LABELS[0]) == market.price_history().series(
        LABELS[0])
    assert [p.index_micro_usd for p in market.price_index("gpu", "us-east")][-1] == 2_200_000


@pytest.fixture
def relay_url(traded: Traded, tmp_path: Path) -> Iterator[str]:
    """The market service over the same chain, indexed to its head, on a free loopback port."""
    with opened(traded.market.system, tmp_path / "service" / "market.sqlite") as service:
        service.indexer.sync()
        with serving(service.relay) as url:
            yield url


@pytest.mark.parametrize("args", [
    ("prices", "1:0"), ("prices", "1:0", "--json"), ("prices", LABELS[1], "--json"),
    ("prices", LABELS[2], "--json"), ("prices", "2:3", "--json"), ("index",),
    ("index", "--json"), ("index", "gpu", "us-east", "--json"),
    ("prices", "7:0"), ("prices", "gpu/us-east"), ("index", "tpu"), ("index", "gpu", "mars"),
    ("index", "gpu", "mars", "--json"),
])
def test_the_relay_answers_each_command_as_the_chain_does(
        rcm: Rcm, relay_url: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
        ) -> None:
    from_chain = rcm("market", *args)
    assert from_chain.code == (2 if from_chain.err else 0), from_chain.err
    # With the chain unreadable, only the service can answer.
    monkeypatch.setattr("rcm.commands.market.load_system", _unreadable)
    assert rcm("market", *args, "--relay", relay_url) == from_chain


def test_rcm_relay_in_the_environment_reads_the_service(
        rcm: Rcm, relay_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from_chain = rcm("market", "prices", LABELS[1], "--json")
    monkeypatch.setenv("RCM_RELAY", relay_url)
    monkeypatch.setattr("rcm.commands.market.load_system", _unreadable)
    assert rcm("market", "prices", LABELS[1], "--json") == from_chain


def _unreadable(rpc: str) -> None:
    raise AssertionError(f"read the chain at {rpc}")


@pytest.mark.parametrize("args", [("prices", "1:0"), ("index", "--json")])
def test_a_relay_that_cannot_be_reached_is_one_line_and_exit_2(rcm: Rcm,
                                                               args: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = rcm("market", *args, "--relay", url)
    assert (run.code, run.out, len(run.err.splitlines())) == (2, "", 1), run.err
    message = (json.loads(run.err)["error"]["message"] if "--json" in args
               else run.err.removeprefix("error: "))
    assert message.startswith(f"--relay: no relay answers at {url}"), run.err
    assert message.rstrip().endswith("(start one with `rcm market serve`)")
