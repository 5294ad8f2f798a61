"""The wallet and testnet commands as a user runs them, against a Hardhat node started here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chain.times import utc_text
from tests.support import Cli, free_port, heavy_modules_loaded_by, running_testnet

pytestmark = pytest.mark.hardhat
CST = 10**18
# Issue 18: mixed case that is not its EIP-55 checksum, which once sent 1 CST with exit 0.
MISTYPED = "0xB5f6E8eB1A846824b38a3f214F0CF487A9386617"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    with running_testnet(tmp_path_factory.mktemp("wallet-cli")) as cli:
        cli.ok("wallet", "new", "alice", rpc=False)
        cli.ok("wallet", "new", "bob", rpc=False)
        funded = cli.ok("testnet", "fund", "alice", "--cst", "1000", "--usd", "50")
        assert ": 1,000 CST, 50.00 USD, 10 ETH\n" in funded  # as every amount shows
        yield cli


def _balance(cli: Cli, name: str) -> dict[str, Any]:
    """The balances as numbers: JSON carries those beyond 2^53 as decimal strings."""
    data = cli.json("wallet", "balance", name)
    assert isinstance(data, dict)
    return {key: value if value is None or key == "address" or key.endswith("_iso")
            else int(value) for key, value in data.items()}


def test_issue_flow_bond_and_balance_json(cli: Cli) -> None:
    cli.ok("wallet", "bond", "alice", "100")
    raw = cli.json("wallet", "balance", "alice")
    # Wei amounts pass 2^53: decimal strings, which no JSON reader rounds; small ones stay ints.
    assert (raw["cst_wei"], raw["bonded_wei"], raw["usd_micro_usd"]) == (
        str(900 * CST), str(100 * CST), 50_000_000)
    balance = _balance(cli, "alice")
    assert set(balance) >= {"address", "eth_wei", "cst_wei", "usd_micro_usd", "staked_wei",
                            "locked_wei", "bonded_wei"}
    assert balance["cst_wei"] == 900 * CST and balance["bonded_wei"] == 100 * CST
    assert balance["usd_micro_usd"] == 50_000_000 and balance["eth_wei"] > 0


def test_import_a_key_file_and_refuse_a_bad_key(cli: Cli, tmp_path: Path) -> None:
    key = tmp_path / "dave.key"
    key.write_text("0x" + "42" * 32 + "\n")
    imported = cli.json("wallet", "import", "dave", "--key-file", str(key), rpc=False)
    from eth_account import Account

    assert imported["address"] == Account.from_key(b"\x42" * 32).address
    key.write_text("0x1234")
    cli.rejects("wallet", "import", "erin", "--key-file", str(key),
                match="--key-file: must be 32 bytes", rpc=False)
    (cli.home / "keystores" / "dave.json").unlink()  # keep `list` below as it was


def test_list_shows_wallets(cli: Cli) -> None:
    listed = cli.json("wallet", "list", rpc=False)
    assert [w["name"] for w in listed] == ["alice", "bob", "governance"]  # type: ignore[union-attr]


def test_stake_unstake_and_transfer(cli: Cli) -> None:
    before = _balance(cli, "alice")
    assert cli.ok("wallet", "stake", "alice", "10.5").startswith("staked 10.5 CST\ntx 0x")
    cli.ok("wallet", "unstake", "alice", "0.5")
    # The recipient by the name its wallet has here, and whole.
    assert " ".join(cli.ok("wallet", "transfer", "alice", "bob", "5.000").split()).startswith(
        "sent 5 CST to bob (0x")
    sent = cli.json("wallet", "transfer", "alice", "bob", "1.25", "--token", "usd")
    assert (sent["asset"], sent["amount_micro_usd"], sent["to"]) == (
        "usd", 1_250_000, _balance(cli, "bob")["address"])
    assert sent["tx"].startswith("0x") and sent["gas"] > 0
    after = _balance(cli, "alice")
    assert after["staked_wei"] == before["staked_wei"] + 10 * CST
    assert after["cst_wei"] == before["cst_wei"] - 15 * CST
    bob = _balance(cli, "bob")
    assert (bob["cst_wei"], bob["usd_micro_usd"]) == (5 * CST, 1_250_000)


def test_unbond_then_withdraw_only_after_the_delay(cli: Cli) -> None:
    first = cli.json("wallet", "unbond", "alice", "10")
    assert first["unbonding_wei"] == str(10 * CST)
    said = " ".join(cli.ok("wallet", "unbond", "alice", "20").split())
    ready_at = cli.json("wallet", "balance", "alice")["unbonding_ready_at"]
    assert ready_at >= first["unbonding_ready_at"]  # the delay restarted for all of it
    assert said.startswith(f"started unbonding 20 CST; all 30 CST unbonding withdrawable from "
                           f"{utc_text(ready_at)} (`rcm wallet withdraw alice`) tx 0x"), said
    cli.rejects("wallet", "withdraw", "alice", match="nothing to withdraw yet: 30 CST unbonds in "
                                                      "7 d, at ")
    advanced = " ".join(cli.ok("testnet", "advance", str(7 * 24 * 3600)).split())
    assert re.fullmatch(r"moved chain time 7 d forward: it is now \d{4}-\d\d-\d\d "
                        r"\d\d:\d\d:\d\d UTC", advanced), advanced
    before = _balance(cli, "alice")["cst_wei"]
    withdrawn = cli.json("wallet", "withdraw", "alice")
    assert (withdrawn["usd_micro_usd"], int(withdrawn["cst_wei"])) == (0, 30 * CST)
    assert len(withdrawn["tx"]) == len(withdrawn["gas"]) == 1
    assert _balance(cli, "alice")["cst_wei"] == before + 30 * CST
    cli.rejects("wallet", "withdraw", "alice", match="nothing to withdraw")


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("wallet", "stake", "alice", "1"), {"password": "wrong"}, "wrong password"),
        (("wallet", "stake", "carol", "1"), {}, "unknown wallet 'carol'"),
        (("wallet", "transfer", "alice", "0x1234", "1"), {},
         "TO: expected 0x and 40 hex digits, got '0x1234'"),
        (("testnet", "fund", MISTYPED, "--cst", "1"), {}, f"NAME: {MISTYPED}: bad EIP-55"),
        (("deploy", "--from", "alice", "--payment-token", MISTYPED), {},
         f"--payment-token: {MISTYPED}: bad EIP-55"),
        (("wallet", "stake", "alice", "0"), {}, "AMOUNT: must be greater than 0"),
        (("wallet", "stake", "alice", "1e30"), {}, "exceeds the CST balance"),
        (("wallet", "unstake", "alice", "100000"), {}, "exceeds the free stake of 10 CST"),
        (("wallet", "unbond", "alice", "100000"), {}, "exceeds the bond of 70 CST"),
        (("wallet", "transfer", "alice", "bob", "1", "--token", "btc"), {}, "--token"),
        (("testnet", "fund", "alice", "--cst", "-1"), {}, "--cst: must be greater than 0"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_sends_nothing(
    cli: Cli, args: tuple[str, ...], kwargs: dict[str, str], match: str
) -> None:
    nonce = cli.nonce("alice")
    cli.rejects(*args, match=match, **kwargs)
    assert cli.nonce("alice") == nonce


def test_a_mistyped_address_is_refused_and_nothing_is_sent(cli: Cli) -> None:
    before = _balance(cli, "alice")
    cli.rejects("wallet", "transfer", "alice", MISTYPED, "1",
                match=f"TO: {MISTYPED}: bad EIP-55 checksum (mixed case must match; "
                      "did you mistype it?)")
    assert _balance(cli, "alice") == before


def test_an_address_without_a_checksum_is_paid_in_either_case(cli: Cli) -> None:
    bob = _balance(cli, "bob")
    for written in (str(bob["address"]).lower(), "0x" + str(bob["address"])[2:].upper()):
        cli.ok("wallet", "transfer", "alice", written, "1")
    assert _balance(cli, "bob")["cst_wei"] == bob["cst_wei"] + 2 * CST


def test_a_wallet_with_no_eth_is_told_it_needs_gas_and_nothing_is_sent(cli: Cli) -> None:
    cli.ok("wallet", "new", "dry", rpc=False)
    cli.ok("wallet", "transfer", "alice", "dry", "5")
    before = _balance(cli, "dry")
    assert before["eth_wei"] == 0
    for action in (["wallet", "transfer", "dry", "alice", "1"],
                   ["wallet", "budget", "register", "dry", "--epsilon", "1", "--delta", "1e-6",
                    "--purpose", "research", "--content-hash", "0x" + "11" * 32]):
        cli.rejects(*action, match="dry (0x")
        cli.rejects(*action, match=") has 0 ETH and needs up to 0.000")  # exact, not 5.8e-05
        cli.rejects(*action, match="ETH to pay for this transaction's gas (send it ETH; on a "
                                   "local chain, `rcm testnet fund NAME`)")
    assert _balance(cli, "dry") == before and cli.nonce("dry") == 0


@pytest.mark.parametrize(
    "name, match", [("alice", "already exists"), ("../evil", "not a valid wallet name")]
)
def test_new_rejects_taken_and_unsafe_names(cli: Cli, name: str, match: str) -> None:
    cli.rejects("wallet", "new", name, match=match, rpc=False)


def test_unreachable_rpc_is_one_line(cli: Cli) -> None:
    dead = Cli(cli.home, f"http://127.0.0.1:{free_port()}")
    dead.rejects("wallet", "balance", "alice", match="cannot reach the chain")


def test_history_lists_transfers_oldest_first_with_time_and_tx(cli: Cli) -> None:
    alice = cli.json("wallet", "balance", "alice")["address"]
    cli.ok("wallet", "transfer", "alice", "bob", "2")
    entries = cli.json("wallet", "history", "bob")
    last = entries[-1]
    assert (last["what"], last["amount"], last["unit"], last["counterparty"]) == (
        "CST received", str(2 * CST), "cst_wei", alice)
    assert last["timestamp_iso"].endswith("Z") and last["tx"].startswith("0x")
    assert [e["block"] for e in entries] == sorted(e["block"] for e in entries)
    shown = cli.ok("wallet", "history", "bob")
    assert "CST received" in shown and f"\n  tx {last['tx']}\n" in shown  # whole, to copy
    assert heavy_modules_loaded_by(cli, "wallet", "history", "bob") == []


def test_balance_shows_the_clearing_house_credit(cli: Cli) -> None:
    assert _balance(cli, "bob")["credit_micro_usd"] == 0
    assert "credit" in cli.ok("wallet", "balance", "bob")


def test_round_list_shows_each_round_with_its_deadlines(cli: Cli) -> None:
    before = cli.json("round", "list")
    opened = cli.json("round", "open")
    rounds = cli.json("round", "list")
    assert len(rounds) == len(before) + 1
    listed = rounds[-1]
    assert (listed["round"], listed["phase"], listed["item_count"], listed["bid_count"]) == (
        opened["round"], "commit", 0, 0)
    deadlines = listed["deadlines"]
    assert deadlines == opened["deadlines"] and isinstance(deadlines["commit_ends_at"], int)
    assert deadlines["commit_ends_at_iso"].endswith("Z")
    assert f"{opened['round']} " in cli.ok("round", "list")
    assert heavy_modules_loaded_by(cli, "round", "list") == []


def test_rpc_from_the_config_file_unless_a_flag_names_one(cli: Cli) -> None:
    config = cli.home / "config.toml"
    assert "RCM_RPC" not in cli.env
    try:
        config.write_text(f'rpc = "{cli.rpc}"\n')
        assert int(cli.json("wallet", "balance", "alice", rpc=False)["cst_wei"]) > 0
        config.write_text('rpc = "http://127.0.0.1:1"\n')
        cli.rejects("wallet", "balance", "alice", rpc=False, match="cannot reach")
        assert int(cli.json("wallet", "balance", "alice")["cst_wei"]) > 0  # --rpc wins
        config.write_text("rpc = 8545\n")
        cli.rejects("wallet", "balance", "alice", rpc=False,
                    match=f"config.rpc: must be a non-empty string in {config}")
    finally:
        config.unlink()


def test_a_wallet_password_of_its_own_comes_before_rcm_password(cli: Cli) -> None:
    cli.env["RCM_PASSWORD_ALICE"] = "pw"
    try:
        done = cli("wallet", "stake", "alice", "1", password="not alice's")
        assert done.returncode == 0, done.stderr
    finally:
        del cli.env["RCM_PASSWORD_ALICE"]
    cli.rejects("wallet", "stake", "alice", "1", password="not alice's",
                match="wrong password for alice.json")


def test_restarted_node_makes_the_manifest_stale(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs last in this module: it replaces the deployed node with an empty one."""
    from chain import testnet

    cli.ok("testnet", "stop", rpc=False)
    monkeypatch.setenv("RCM_HOME", str(cli.home))
    testnet.start(port=int(cli.rpc.rsplit(":", 1)[1]))  # a bare node: nothing deployed
    cli.rejects("wallet", "balance", "alice", match="stale: no code at")


