"""Every `rcm` command's --json document follows one convention (README: JSON output and
errors): amounts are integers named for their smallest unit, none beyond 2^53 - 1 (those are
decimal strings), ids 0x-hex, addresses EIP-55, times unix seconds with an ISO 8601 twin, and an
acting command says what it sent. The leaf commands are read from the CLI itself, so a command
added later is walked here or excluded below with its reason; one Hardhat node serves them all."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from chain.addresses import checksummed
from rcm.cli import cli as rcm_cli
from rcm.commands.common import MAX_SAFE_INTEGER, is_time_key
from tests.support import Cli, free_port

pytestmark = pytest.mark.hardhat
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PHASE = 120  # chain seconds per round phase
PRICING_WINDOW = 3_600  # the launch policy's
UNBONDING_DELAY = 604_800

# A key whose value is an integer names its unit...
UNIT_SUFFIXES = ("_wei", "_micro_usd", "_micro_eps", "_atto", "_bps", "_seconds", "_units",
                 "_count", "_at")
# ...or is one of these: numbers that count or index things, not amounts. (`timestamp` is a time,
# `items` maps items to units or lists item indices.)
UNITLESS = {"round", "block", "item", "items", "index", "bundle", "version", "policy_id",
            "chain_id", "gas", "nonce", "counter", "threshold", "timestamp", "seed"}
# Keys holding ids (or lists of them): 0x and 64 hex digits.
ID_KEYS = {"tx", "digest", "id", "job", "dataset", "future", "futures", "expired", "timed_out",
           "bid", "winner", "content_hash", "config_digest"}
# Keys holding addresses (or lists of them); any 40-hex-digit string must be EIP-55 anyway.
ADDRESS_KEYS = {"address", "from", "to", "seller", "bidder", "provider", "poster", "owner",
                "signers", "counterparty"}
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
ID = re.compile(r"0x[0-9a-f]{64}")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

# Leaf commands with no --json: they print no JSON document by design.
NO_JSON = {
    ("auction", "clear"): "always prints its one document; the walk checks it all the same",
    ("auction", "explain"): "an explanation for people; `clear` has the numbers",
    ("auction", "generate"): "writes a market instance, an input file",
    ("enclave", "init"): "writes key files; prints their paths",
    ("enclave", "attest"): "prints the signed attestation, the file `oracle submit` reads",
    ("oracle", "init"): "writes key and config files; prints their paths",
    ("oracle", "serve"): "a server: it answers over HTTP and logs on stderr",
    ("market", "serve"): "a server: it answers over HTTP and logs on stderr",
    ("testnet", "stop"): "stops the node; the fixture's teardown runs it",
}
# Documents checked where a test already builds what they need, with check_document:
ELSEWHERE = {
    ("demo",): "tests/rcm/test_demo.py runs `demo --json` on its own node",
    ("round", "challenge"): "tests/rcm/test_round_attacks_cli.py: a better result to post",
    ("round", "price"): "tests/rcm/test_round_attacks_cli.py: oracle nodes that price",
    ("oracle", "submit"): "tests/oracle/test_cli_quorum.py: oracle nodes that judge",
    **{("trade", verb): "tests/tokens/test_trade_cli.py: a won future to trade"
       for verb in ("sell", "buy", "fill", "cancel", "cancel-all")},
    **{("market", verb): "tests/rcm/test_market_prices_cli.py: a priced round and trades"
       for verb in ("prices", "index")},
    **{("trade", verb): "tests/service/test_trade_relay_cli.py: a relay to read"
       for verb in ("book", "trades")},
    **{("simulate", verb): "tests/rcm/test_simulate_cli.py: no chain, a sweep to report on"
       for verb in ("run", "sweep", "report")},
}


def check_document(document: Any, acts: bool = False, formats: tuple[str, ...] = ()) -> None:
    """Asserts the convention on one --json document; `acts`: it reports sent transactions;
    `formats`: keys whose values are an input file's format (`round policy`), left unchecked."""
    problems = list(_problems(document, "$", None, formats))
    if acts:
        sent = [d for d in _dicts(document) if "tx" in d]
        if not sent:
            problems.append("$: an acting command's document has no tx")
        problems += [f"$: tx without gas in {d}" for d in sent if "gas" not in d]
    assert not problems, "\n".join(problems)


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _dicts(item)


def _problems(value: Any, path: str, unit: str | None, formats: tuple[str, ...]
              ) -> Iterator[str]:
    """`unit`: the key that names what integers here count (None: no key names it)."""
    if _is_int(value):
        if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
            yield f"{path}: {value} is beyond 2^53 - 1; a decimal string keeps it exact"
        if unit is None:
            yield f"{path}: an integer under no key that names its unit"
    elif isinstance(value, str) and ADDRESS.fullmatch(value) and value != checksummed(value):
        yield f"{path}: {value} is not EIP-55"
    elif isinstance(value, list):  # its records name their own integers; its numbers are `unit`
        for index, item in enumerate(value):
            yield from _problems(item, f"{path}[{index}]",
                                 None if isinstance(item, dict) else unit, formats)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in formats:
                yield from _entry(value, key, item, f"{path}.{key}", unit, formats)


def _entry(parent: dict[str, Any], key: str, value: Any, path: str, unit: str | None,
           formats: tuple[str, ...]) -> Iterator[str]:
    named = key.endswith(UNIT_SUFFIXES) or key in UNITLESS or (key == "amount" and "unit" in
                                                                parent)
    # A mapping under a unit's key (`item_prices_micro_usd`: item -> price) is in that unit.
    yield from _problems(value, path, key if named else unit, formats)
    if is_time_key(key) and _is_int(value) and not ISO.fullmatch(str(parent.get(f"{key}_iso"))):
        yield f"{path}: no ISO 8601 twin {key}_iso"
    values = value if isinstance(value, list) else [value]
    if key in ID_KEYS and not all(v is None or ID.fullmatch(str(v)) for v in values):
        yield f"{path}: {value} is not a 0x id of 64 hex digits"
    if key in ADDRESS_KEYS and not all(v is None or ADDRESS.fullmatch(str(v)) for v in values):
        yield f"{path}: {value} is not an address"


def _is_int(value: Any) -> bool:
    """An integer, or one beyond 2^53 - 1 as its decimal string."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.lstrip("-").isdigit())


@cache
def leaf_commands() -> dict[tuple[str, ...], bool]:
    """Every leaf command of `rcm`, and whether it takes --json."""
    leaves: dict[tuple[str, ...], bool] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if not hasattr(command, "list_commands"):
            leaves[path] = any("--json" in param.opts for param in command.params)
            return
        for name in command.list_commands(None):
            walk(command.get_command(None, name), (*path, name))

    walk(rcm_cli, ())
    return leaves


def test_the_checker_refuses_what_the_convention_forbids() -> None:
    check_document({"round": 1, "cst_wei": str(10**21), "expires_at": 0,
                    "expires_at_iso": "1970-01-01T00:00:00Z", "tx": "0x" + "ab" * 32, "gas": 1,
                    "item_prices_micro_usd": {"0": 5}, "to": checksummed("0x" + "ab" * 20)},
                   acts=True)
    for bad in ({"cst": 1}, {"cst_wei": 2**53}, {"expires_at": 0}, {"dataset": "12"},
                {"dataset": hex(12)}, {"to": "0x" + "ab" * 20}, {"prices": {"0": 5}},
                {"welfare": 5}, {"items": [{"item": 0, "quantity": 2, "tier": 1}]}):
        with pytest.raises(AssertionError):
            check_document(bad)
    with pytest.raises(AssertionError, match="tx without gas"):
        check_document({"tx": "0x" + "ab" * 32}, acts=True)


@dataclass
class Walk:
    cli: Cli
    work: Path
    documents: list[tuple[tuple[str, ...], Any, bool, tuple[str, ...]]] = field(
        default_factory=list)

    def json(self, *args: str, acts: bool = False, rpc: bool = True,
             formats: tuple[str, ...] = ()) -> Any:
        """The command's document (stdout is exactly one JSON document), kept for the checks."""
        done = self.cli(*args, "--json", rpc=rpc)
        assert done.returncode == 0, done.stderr or done.stdout
        document = json.loads(done.stdout)
        words = tuple(arg for arg in args if not arg.startswith("-"))
        command = max((c for c in leaf_commands() if words[:len(c)] == c), key=len)
        self.documents.append((command, document, acts, formats))
        return document

    def file(self, name: str, document: dict[str, Any]) -> str:
        path = self.work / name
        path.write_text(json.dumps(document))
        return str(path)


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    work = tmp_path_factory.mktemp("json-convention")
    port = free_port()
    walk = Walk(Cli(work / "home", f"http://127.0.0.1:{port}"), work)
    walk.json("testnet", "start", "--port", str(port), rpc=False)
    try:
        _every_command(walk)
        yield walk
    finally:
        walk.cli("testnet", "stop", rpc=False)


def _every_command(walk: Walk) -> None:
    """A round's life and a wallet's, each command once with --json."""
    for name in ("acme", "lab", "owner"):
        walk.json("wallet", "new", name, rpc=False)
    key = walk.work / "bob.key"
    key.write_text("0x" + "42" * 32)
    walk.json("wallet", "import", "bob", "--key-file", str(key), rpc=False)
    walk.json("wallet", "list", rpc=False)
    walk.json("testnet", "fund", "governance", "--cst", "200", acts=True)
    for name, cst in (("acme", "200"), ("lab", "500"), ("owner", "1"), ("bob", "1")):
        walk.json("testnet", "fund", name, "--cst", cst, "--usd", "3000", acts=True)
    walk.json("wallet", "stake", "lab", "400", acts=True)
    walk.json("wallet", "unstake", "lab", "10", acts=True)
    walk.json("wallet", "bond", "lab", "10", acts=True)
    walk.json("wallet", "unbond", "lab", "10", acts=True)
    walk.json("wallet", "transfer", "lab", "bob", "1", acts=True)
    walk.json("wallet", "transfer", "lab", "bob", "2", "--token", "usd", acts=True)
    walk.json("wallet", "bond", "governance", "100", acts=True)
    walk.json("wallet", "bond", "acme", "180", acts=True)
    walk.json("wallet", "unlock", "bob", "--for", "60s", rpc=False)
    walk.json("wallet", "lock", "bob", rpc=False)

    dataset = walk.json("wallet", "budget", "register", "owner", "--content-hash",
                        "0x" + "11" * 32, "--epsilon", "10", "--delta", "1e-5",
                        "--purpose", "research", acts=True)["dataset"]
    walk.json("wallet", "budget", "grant", "owner", dataset, "lab", "2", acts=True)
    walk.json("wallet", "budget", "sell", "owner", dataset, "3", "--price", "1.5", acts=True)
    walk.json("wallet", "budget", "buy", "lab", dataset, "owner", "2", "--price", "1.5",
              acts=True)
    walk.json("wallet", "budget", "list", "owner")

    walk.json("round", "policy", str(EXAMPLES / "policy.json"), acts=True)  # ε for research
    walk.json("round", "policy", formats=("policy", "rates"))
    round_id = str(walk.json("round", "open", *(f"--{phase}={PHASE}" for phase in (
        "commit", "reveal", "post", "challenge")), acts=True)["round"])
    walk.json("round", "list")
    now = walk.json("testnet", "advance", "1")["timestamp"]
    asks = json.loads((EXAMPLES / "asks.json").read_text())
    for ask in asks["asks"]:
        ask["slot"] = now - 86_400  # delivery has begun: the future can be redeemed
    walk.json("wallet", "ask", "acme", walk.file("asks.json", asks), "--round", round_id,
              acts=True)
    bids = json.loads((EXAMPLES / "bids.json").read_text())
    bids["bids"][0]["dataset"] = dataset
    bid_file = walk.file("bids.json", bids)
    walk.json("wallet", "bid", "lab", bid_file, "--round", round_id, "--dry-run")
    walk.json("wallet", "bid", "lab", bid_file, "--round", round_id, acts=True)
    walk.json("wallet", "bid", "lab", bid_file, "--round", round_id, acts=True)
    second = walk.json("round", "status", round_id)["bids"][-1]["digest"]
    cancelled = walk.json("wallet", "cancel", "lab", "--round", round_id, second[:20], acts=True)
    assert [bid["digest"] for bid in cancelled["cancelled"]] == [second]  # named by its prefix

    walk.json("testnet", "advance", str(PHASE))
    walk.json("wallet", "reveal", "lab", "--round", round_id, acts=True)
    walk.json("testnet", "advance", str(PHASE))
    walk.json("round", "close", round_id, acts=True)
    walk.json("auction", "run", "--round", round_id, "--workers", "1", acts=True)
    walk.json("testnet", "advance", str(2 * PHASE + PRICING_WINDOW))
    walk.json("round", "finalise", round_id, acts=True)
    asked = {item["item"]: item for item in walk.json("round", "status", round_id)["items"]}

    won = walk.json("wallet", "futures", "lab")[0]
    for item in won["items"]:  # a future's items are named as the round's
        terms = ("kind", "region", "unit", "tier", "slot_starts_at")
        assert [item[key] for key in terms] == [asked[item["item"]][key] for key in terms]
    future = won["id"]
    walk.json("wallet", "claim", "lab", future, acts=True)
    walk.json("wallet", "transfer-future", "lab", "bob", future, acts=True)
    walk.json("wallet", "transfer-future", "bob", "lab", future, acts=True)
    walk.json("wallet", "redeem", "lab", future, acts=True)
    walk.json("testnet", "advance", str(UNBONDING_DELAY))
    walk.json("round", "expire", round_id, acts=True)
    walk.json("wallet", "withdraw", "lab", acts=True)
    walk.json("wallet", "balance", "lab")
    walk.json("wallet", "history", "lab")

    # Its bids are named as the market file names them, not by digest.
    walk.documents.append((("auction", "clear"), json.loads(walk.cli.ok(
        "auction", "clear", str(EXAMPLES / "consortium.json"), "--workers", "1", rpc=False)),
        False, ("bid", "winner")))
    walk.json("risk", "assess", str(EXAMPLES / "declaration.json"), rpc=False)
    walk.cli.ok("enclave", "init", str(walk.work / "enclave"), rpc=False)
    oracle = walk.work / "oracle"
    walk.cli.ok("oracle", "init", str(oracle), "--nodes", "1", "--threshold", "1",
                "--trust-root", str(walk.work / "enclave" / "root.pem"), rpc=False)
    walk.json("oracle", "register", str(oracle), "--from", "governance", acts=True)
    # Last: a new deployment on the same chain replaces the manifest the others read. Its
    # document is the deployment (its contracts), not its dozens of transactions.
    walk.json("deploy", "--from", "governance")


def test_every_leaf_command_is_walked_or_excluded(walk: Walk) -> None:
    leaves = leaf_commands()
    walked = {command for command, *_ in walk.documents}
    assert {c for c, has_json in leaves.items() if not has_json} == set(NO_JSON)
    assert walked.isdisjoint(ELSEWHERE) and set(ELSEWHERE) <= set(leaves)
    assert walked | set(NO_JSON) | set(ELSEWHERE) == set(leaves)


def test_every_document_follows_the_convention(walk: Walk) -> None:
    for command, document, acts, formats in walk.documents:
        try:
            check_document(document, acts, formats)
        except AssertionError as exc:
            raise AssertionError(f"rcm {' '.join(command)}: {exc}") from None
