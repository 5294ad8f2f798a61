from __future__ import annotations

from pathlib import Path

import pytest

from market.errors import MarketError
from market.model import MAX_MICRO_USD, Market
from market.readers import CatsAuction, read_cats, read_instance
from market.result import Clearing, Fill, Status

CATS = """\
%% a CATS file: three goods, one dummy good tying bids 1 and 2 into an XOR
goods 3
bids 4
dummy 1

0\t10.5\t0\t1\t#
1\t7\t1\t3\t#
2\t6.25\t2\t3\t#
% a comment between bids
3\t0.000001\t0\t#
"""


def test_cats_goods_become_items_of_capacity_one() -> None:
    market = read_cats(CATS).market
    assert [item.id for item in market.items] == ["g0", "g1", "g2"]
    assert market.capacity == {"g0": 1, "g1": 1, "g2": 1}


def test_cats_dummy_goods_become_xor_bids_in_file_order() -> None:
    auction = read_cats(CATS)
    assert [(bid.id, [b.items for b in bid.bundles]) for bid in auction.market.bids] == [
        ("b0", [{"g0": 1, "g1": 1}]), ("b1", [{"g1": 1}, {"g2": 1}]), ("b3", [{"g0": 1}])]
    assert auction.lines == {("b0", 0): 0, ("b1", 0): 1, ("b1", 1): 2, ("b3", 0): 3}


def test_cats_prices_become_exact_micro_units() -> None:
    values = [bundle.value for bid in read_cats(CATS).market.bids for bundle in bid.bundles]
    assert values == [10_500_000, 7_000_000, 6_250_000, 1]


def test_cats_result_reports_winners_by_file_index_and_objective_in_file_units() -> None:
    auction = read_cats(CATS)
    clearing = Clearing(allocation=[Fill(bid="b1", bundle=1, items={"g2": 1}),
                                    Fill(bid="b0", bundle=0, items={"g0": 1, "g1": 1})],
                        losing=[], welfare=16_750_000, bound=16_750_000, gap=0.0,
                        status=Status.OPTIMAL, seconds=0.1)
    reported = auction.in_file_terms(clearing)
    assert (reported.winners, reported.objective) == ([0, 2], 16.75)


@pytest.mark.parametrize(("text", "message"), [
    ("goods 2\nbids 1\n0 1.0 0 x #\n", "line 3: expected 'INDEX PRICE GOOD... #'"),
    ("goods 2\nbids 1\n0 1.0 0 1\n", "line 3: expected 'INDEX PRICE GOOD... #'"),
    ("goods 2\nbids 1\n\n0 -1 0 #\n", "line 4: price -1 is not a non-negative number"),
    ("goods 2\nbids 1\n0 1 5 #\n", "line 3: good 5 is outside 0..1"),
    ("goods 2\nbids 1\n0 1 1 1 #\n", "line 3: a good is named twice"),
    ("goods 1\nbids 1\ndummy 2\n0 1 0 1 2 #\n", "line 4: a bid may name at most one dummy good"),
    ("goods 1\nbids 1\ndummy 1\n0 1 1 #\n", "line 4: the bid names no real good"),
    ("goods 2\nbids 2\n0 1 0 #\n", "line 3: header says 2 bids, found 1"),
    ("0 1 0 #\n", "line 1: expected the 'goods' and 'bids' header first"),
    ("goods two\n", "line 1: expected 'goods COUNT'"),
    ("x1 1 0 #\n", "line 1: expected the 'goods' and 'bids' header first"),
    ("goods 2\nbids 1\nx1 1 0 #\n", "line 3: bid index 'x1' is not a number"),
    ("% only a comment\n", "CATS file: no 'goods'/'bids' header"),
    ("goods 65537\n", "line 1: 65537 goods, at most 65536"),
    ("goods 1\nbids 1\n0 281474976.7106551 0 #\n",
     "line 3: price 281474976.7106551 is above the largest bundle value, 281474976.710655"),
])
def test_cats_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(MarketError) as caught:
        read_cats(text)
    assert str(caught.value) == message


def test_cats_takes_the_most_goods_and_the_largest_price_a_round_holds() -> None:
    market = read_cats("goods 65536\nbids 1\n0 281474976.710655 65535 #\n").market
    assert (len(market.items), market.bids[0].bundles[0].value) == (65_536, MAX_MICRO_USD)


def test_read_instance_tells_json_from_cats(tmp_path: Path) -> None:
    cats = tmp_path / "auction.txt"
    cats.write_text(CATS)
    assert isinstance(read_instance(cats), CatsAuction)
    json_file = tmp_path / "market.json"
    json_file.write_text(read_cats(CATS).market.model_dump_json())
    assert isinstance(read_instance(json_file), Market)


def test_read_instance_reports_an_unreadable_file(tmp_path: Path) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(MarketError, match="cannot read"):
        read_instance(binary)


@pytest.mark.parametrize(("text", "found"), [
    ("", "it is empty"),
    (" \n\t\n", "it is empty"),
    ("[1, 2]", "it begins '[1,'"),
    ("auction of 3 goods", "it begins 'auction'"),
])
def test_read_instance_refuses_what_is_neither_json_nor_cats_naming_the_file(
        tmp_path: Path, text: str, found: str) -> None:
    path = tmp_path / "market.json"
    path.write_text(text)
    with pytest.raises(MarketError) as caught:
        read_instance(path)
    assert str(caught.value) == f"{path}: neither a JSON market nor a CATS file ({found})"


def test_read_instance_names_the_file_when_its_json_does_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "market.json"
    path.write_text('{"items": ')
    with pytest.raises(MarketError) as caught:
        read_instance(path)
    assert str(caught.value).startswith(f"{path}: Invalid JSON: EOF while parsing")
