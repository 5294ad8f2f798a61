"""`rcm auction clear` prices and `rcm auction explain` as a buyer runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from market.examples import CLEARING_TIME, consortium_instance
from tests.market.test_cli_auction import rcm, rcm_process

SOLVE = ("--now", str(CLEARING_TIME), "--time-limit", "20", "--workers", "1", "--seed", "3")


@pytest.fixture(scope="module")
def consortium_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explain") / "consortium.json"
    path.write_text(consortium_instance().model_dump_json())
    return path


def test_clear_prints_item_prices_and_payments_by_component(consortium_file: Path) -> None:
    result = json.loads(rcm("auction", "clear", consortium_file, *SOLVE).stdout)
    assert set(result["item_prices_micro_usd"]) == {item.id for item in
                                                    consortium_instance().items}
    assert [payment["winner"] for payment in result["payments"]] == [
        fill["bid"] for fill in result["allocation"]]
    for payment in result["payments"]:
        components = payment["components_micro_usd"]
        assert set(components) == {"supply_demand", "privacy_risk", "safety_risk", "equity"}
        assert sum(components.values()) == payment["total_micro_usd"]


def test_clear_does_not_price_cats_input(tmp_path: Path) -> None:
    cats = tmp_path / "tiny.txt"
    cats.write_text("goods 2\nbids 3\ndummy 0\n0 10 0 1 #\n1 6.5 0 #\n2 6 1 #\n")
    result = json.loads(rcm("auction", "clear", cats, "--workers", "1").stdout)
    assert "payments" not in result and result["winners"] == [1, 2]


def test_explain_shows_a_winners_payment_component_by_component(consortium_file: Path
                                                                ) -> None:
    run = rcm("auction", "explain", consortium_file, "--bid", "nhs-sepsis-warning", *SOLVE)
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    assert "nhs-sepsis-warning (hse-ireland) won bundle 0" in text
    # USD to the cent: the payment is 13,070.333333 USD to the micro-USD.
    assert "pays 13,070.33 USD and keeps 6,129.67 USD" in text
    for line in ("gpu-euw1-w49-confidential 32 300.00 9,600.00",
                 "supply_demand 11,300.00", "privacy_risk 2,260.00",
                 "safety_risk 640.33 risk 3,200 bps (medium band): 5.67 %",
                 "equity -1,130.00", "total 13,070.33"):
        assert line in text
    assert re.search(r"\.\d{3}", text) is None, text  # no amount past its cents


def test_explain_shows_why_a_bid_lost_and_what_its_bundles_would_cost(
        consortium_file: Path) -> None:
    run = rcm("auction", "explain", consortium_file, "--bid", "streamline-ads", *SOLVE)
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    assert "streamline-ads (streamline) lost: outbid — needs 40 units" in text
    assert "Its bundles at the round's item prices (USD)" in text and " 0 12,000.00 " in text


def test_explain_rejects_an_unknown_bid_with_exit_2(consortium_file: Path) -> None:
    run = rcm_process("auction", "explain", consortium_file, "--bid", "nobody")
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: --bid: no bid 'nobody' in {consortium_file}"


def test_explain_refuses_cats_input(tmp_path: Path) -> None:
    cats = tmp_path / "tiny.txt"
    cats.write_text("goods 1\nbids 1\n0 1 0 #\n")
    run = rcm_process("auction", "explain", cats, "--bid", "b0")
    assert run.returncode == 2
    assert "CATS files are not priced" in run.stderr


def test_clear_rejects_negative_pricing_weights_naming_the_field(tmp_path: Path) -> None:
    document = consortium_instance().model_dump(mode="json")
    document["policy"]["pricing"] = {"equity_discount_bps": -5}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    run = rcm_process("auction", "clear", path)
    assert run.returncode == 2
    assert run.stderr.strip() == ("error: policy.pricing.equity_discount_bps: Input should be "
                                  "greater than or equal to 0")
