"""chain.contract's Contract against web3's contracts on the embedded chain, with the system
deployed and a round in its challenge phase: every view the readers call gives exactly what web3
gives, the readers work on it unchanged, and a revert raises what `decode_revert` makes of it;
in process and over HTTP, from a node that answers as Hardhat does."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain import (
    clearing_house,
    compute_futures,
    erc20,
    exchange,
    ledger,
    policy,
    reputation,
    vault,
)
from chain.bid import Bundle
from chain.compiler import interface, load_interfaces
from chain.config import PROJECT_ROOT
from chain.connection import Chain
from chain.contract import Contract, Log
from chain.errors import ChainError
from chain.events import _embedded_logs
from chain.reverts import Reverted, _revert_data, decode_revert
from chain.rpc import HttpTransport, RpcClient, RpcError
from chain.system import System
from tests.contracts import conftest as contracts
from tests.contracts.settlement_fixtures import RESEARCH, USD, Market

# The deployment and market of tests/contracts, shared by the names pytest finds them by.
auctioneer = contracts.auctioneer
buyer = contracts.buyer
chain = contracts.chain
clearing = contracts.clearing
data_owner = contracts.data_owner
governance = contracts.governance
market = contracts.market
oracle = contracts.oracle
oracle_nodes = contracts.oracle_nodes
provider = contracts.provider
regulator = contracts.regulator
rival = contracts.rival
system = contracts.system

ABI_NAMES = {
    "clearing_house": "ClearingHouse", "vault": "SafetyVault", "cst": "ComputeSafetyToken",
    "usd": "TestUSD", "ledger": "PrivacyBudgetLedger", "futures": "ComputeFutures",
    "policies": "PolicyRegistry", "oracle": "PolicyOracle", "reputation": "ReputationRegistry",
    "exchange": "FuturesExchange",
}


@dataclass(frozen=True)
class Scene:
    """A round with the market's asks, whose one bid, the buyer's, is posted as the result;
    and an offer of the buyer's budget."""

    round_id: int
    digest: bytes
    buyer: str
    provider: str
    dataset: int
    policy_id: int
    vault: str
    house: str


@pytest.fixture(scope="module")
def scene(market: Market, buyer: LocalAccount, provider: LocalAccount) -> Scene:
    round_id = market.open_round()
    bid = market.bid(buyer, round_id, Bundle((0, 1), (2, 3), 20 * USD))
    market.fill(round_id, buyer, [bid])
    system = market.system
    market.chain.send(system.ledger.functions.offer(market.dataset, 1_000_000, 2 * USD), buyer)
    return Scene(round_id, market.digest(bid), buyer.address, provider.address, market.dataset,
                 system.policies.functions.currentPolicyId().call(), system.vault.address,
                 system.clearing_house.address)


class _NodeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps connections alive
    disable_nagle_algorithm = True  # else each answer's body waits out a delayed ACK
    server: _Node

    def do_POST(self) -> None:
        self.server.connections.add(self.client_address)
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = ([self.server.answer(r) for r in request] if isinstance(request, list)
                  else self.server.answer(request))
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        # Closing without a `Connection: close` header, as a node does with an idle connection.
        self.close_connection = self.server.drops_connections

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Node(ThreadingHTTPServer):
    """JSON-RPC over HTTP answered from the embedded chain as Hardhat answers: quantities in hex,
    a call without a sender run from the first account, a revert as error -32603 with its data
    under `data.data`."""

    def __init__(self, chain: Chain) -> None:
        super().__init__(("127.0.0.1", 0), _NodeHandler)
        self.manager = chain.w3.manager
        self.sender = chain.w3.eth.accounts[0]
        self.connections: set[tuple[str, int]] = set()
        self.drops_connections = False
        self.delay_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that stopped waiting hung up before its answer: no error of the node's

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        time.sleep(self.delay_seconds)
        method, params = request["method"], request["params"]
        if method == "eth_call":
            params = [{"from": self.sender, **params[0]}, *params[1:]]
        try:
            result = self.manager.request_blocking(method, params)
        except Exception as exc:
            error = {"message": str(exc), "data": _revert_data(exc)}
            return {"jsonrpc": "2.0", "id": request["id"],
                    "error": {"code": -32603, "message": str(exc), "data": error}}
        if isinstance(result, int) and not isinstance(result, bool):
            result = hex(result)
        return {"jsonrpc": "2.0", "id": request["id"], "result": result}


@pytest.fixture(scope="module")
def node(chain: Chain) -> Iterator[_Node]:
    server = _Node(chain)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module", params=["embedded", "http"])
def client(request: pytest.FixtureRequest, chain: Chain, node: _Node) -> Iterator[RpcClient]:
    if request.param == "embedded":
        yield chain.client
        return
    transport = HttpTransport(node.url)
    yield RpcClient(transport)
    transport.close()


def reading(client: RpcClient, system: System, attr: str) -> tuple[Any, Contract]:
    """The system's contract `attr` as web3's and as a Contract."""
    address = getattr(system, attr).address
    abi = interface(ABI_NAMES[attr]).abi
    return system.chain.w3.eth.contract(address=address, abi=abi), Contract(client, address, abi)


Args = Callable[[Scene], tuple[Any, ...]]
VIEWS: list[tuple[str, str, Args]] = [
    ("clearing_house", "roundCount", lambda s: ()),
    ("clearing_house", "phaseOf", lambda s: (s.round_id,)),
    ("clearing_house", "roundOf", lambda s: (s.round_id,)),
    ("clearing_house", "resultOf", lambda s: (s.round_id, 1)),
    ("clearing_house", "batchOf", lambda s: (s.round_id, 1, 0)),
    ("clearing_house", "allocationOf", lambda s: (s.round_id, 1, 0)),
    ("clearing_house", "askOf", lambda s: (s.round_id, 3)),
    ("clearing_house", "providerBondOf", lambda s: (s.round_id, s.provider)),
    ("clearing_house", "bidOf", lambda s: (s.digest,)),
    ("clearing_house", "refundOf", lambda s: (s.digest,)),
    ("clearing_house", "creditOf", lambda s: (s.buyer,)),
    ("clearing_house", "eip712Domain", lambda s: ()),
    ("clearing_house", "futureOf", lambda s: (s.digest,)),
    ("vault", "balanceOf", lambda s: (s.buyer,)),
    ("vault", "requiredStake", lambda s: (s.buyer, 3_000, 50 * USD)),
    ("cst", "balanceOf", lambda s: (s.buyer,)),
    ("cst", "allowance", lambda s: (s.buyer, s.vault)),
    ("cst", "totalSupply", lambda s: ()),
    ("usd", "balanceOf", lambda s: (s.buyer,)),
    ("usd", "allowance", lambda s: (s.buyer, s.house)),
    ("ledger", "datasetOf", lambda s: (s.dataset,)),
    ("ledger", "offerOf", lambda s: (s.dataset, s.buyer)),
    ("ledger", "reservedOf", lambda s: (s.dataset,)),
    ("ledger", "reservedDeltaOf", lambda s: (s.dataset,)),
    ("ledger", "isConsented", lambda s: (s.dataset, RESEARCH)),
    ("ledger", "balanceOf", lambda s: (s.buyer, s.dataset)),
    ("futures", "balanceOf", lambda s: (s.buyer, int.from_bytes(s.digest, "big"))),
    ("futures", "isApprovedForAll", lambda s: (s.buyer, s.vault)),
    ("policies", "currentPolicyId", lambda s: ()),
    ("policies", "rulesOf", lambda s: (s.policy_id,)),
    ("policies", "rubricHashOf", lambda s: (s.policy_id,)),
    ("policies", "epsilonLimitOf", lambda s: (s.policy_id, RESEARCH)),
    ("oracle", "signers", lambda s: ()),
    ("oracle", "threshold", lambda s: ()),
    ("oracle", "configDigest", lambda s: ()),
    ("oracle", "consumerOf", lambda s: (s.digest,)),
    ("oracle", "isDecided", lambda s: (s.digest,)),
    ("reputation", "scoreOf", lambda s: (s.buyer,)),
    ("reputation", "discountBpsOf", lambda s: (s.buyer,)),
    ("exchange", "statusOf", lambda s: (s.digest,)),
    ("exchange", "counterOf", lambda s: (s.buyer,)),
    ("exchange", "fee", lambda s: ()),
]


@pytest.mark.parametrize(("attr", "function", "args"), VIEWS,
                         ids=[f"{attr}.{function}" for attr, function, _ in VIEWS])
def test_every_view_reads_as_web3_reads_it(client: RpcClient, system: System, scene: Scene,
                                           attr: str, function: str, args: Args) -> None:
    web3_contract, contract = reading(client, system, attr)
    expected = getattr(web3_contract.functions, function)(*args(scene)).call()
    # repr tells a tuple from a list and True from 1, where == does not.
    assert repr(getattr(contract.functions, function)(*args(scene)).call()) == repr(expected)


def test_the_views_cover_every_view_the_readers_call() -> None:
    views = {e["name"] for i in load_interfaces().values() for e in i.abi
             if e["type"] == "function" and e["stateMutability"] in ("view", "pure")}
    called = {name for path in (PROJECT_ROOT / "chain").glob("*.py")
              for name in re.findall(r"functions\.(\w+)\(", path.read_text())}
    assert called & views <= {function for _, function, _ in VIEWS}


Reader = Callable[[Any, Scene], Any]
READERS: list[tuple[str, Reader]] = [
    ("clearing_house", lambda c, s: clearing_house.round_count(c)),
    ("clearing_house", lambda c, s: clearing_house.phase_of(c, s.round_id)),
    ("clearing_house", lambda c, s: clearing_house.Round.read(c, s.round_id)),
    ("clearing_house", lambda c, s: clearing_house.Result.read(c, s.round_id, 1)),
    ("clearing_house", lambda c, s: clearing_house.Batch.read(c, s.round_id, 1, 0)),
    ("clearing_house", lambda c, s: clearing_house.Allocation.read(c, s.round_id, 1, 0)),
    ("clearing_house", lambda c, s: clearing_house.AskState.read(c, s.round_id, 0)),
    ("clearing_house", lambda c, s: clearing_house.ProviderBond.read(c, s.round_id, s.provider)),
    ("clearing_house", lambda c, s: clearing_house.BidRecord.read(c, s.digest)),
    ("vault", lambda c, s: vault.VaultBalance.read(c, s.buyer)),
    ("vault", lambda c, s: vault.stake_to_lock_wei(c, s.buyer, 3_000, 50 * USD)),
    ("cst", lambda c, s: erc20.allowance(c, s.buyer, s.vault)),
    ("ledger", lambda c, s: ledger.Dataset.read(c, s.dataset)),
    ("ledger", lambda c, s: ledger.Offer.read(c, s.dataset, s.buyer)),
    ("ledger", lambda c, s: ledger.is_consented(c, s.dataset, RESEARCH)),
    ("futures", lambda c, s: compute_futures.future_balance(c, s.buyer, s.digest)),
    ("futures", lambda c, s: compute_futures.is_operator(c, s.buyer, s.vault)),
    ("policies", lambda c, s: policy.Rules.read(c, s.policy_id)),
    ("reputation", lambda c, s: reputation.discount_bps(c, s.buyer)),
    ("exchange", lambda c, s: exchange.status_of(c, s.digest)),
    ("exchange", lambda c, s: exchange.counter_of(c, s.buyer)),
    ("exchange", lambda c, s: exchange.Fee.read(c)),
]


@pytest.mark.parametrize(("attr", "reader"), READERS)
def test_the_readers_read_through_it_unchanged(client: RpcClient, system: System, scene: Scene,
                                               attr: str, reader: Reader) -> None:
    web3_contract, contract = reading(client, system, attr)
    assert reader(contract, scene) == reader(web3_contract, scene)


def test_a_revert_raises_the_custom_error_decode_revert_gives(
        client: RpcClient, chain: Chain, system: System, scene: Scene) -> None:
    web3_contract, contract = reading(client, system, "clearing_house")
    with pytest.raises(Exception) as through_web3:
        web3_contract.functions.close(scene.round_id).call()
    expected = decode_revert(through_web3.value)
    with pytest.raises(Reverted) as read:
        contract.functions.close(scene.round_id).call()
    assert isinstance(expected, Reverted)
    assert (read.value.name, read.value.args_) == (expected.name, expected.args_)
    assert read.value.name == "WrongPhase"


def test_a_call_where_no_contract_is_fails_clearly(client: RpcClient, system: System,
                                                   scene: Scene) -> None:
    contract = Contract(client, scene.buyer, interface("SafetyVault").abi)
    with pytest.raises(ChainError, match="is the contract deployed there") as caught:
        contract.functions.balanceOf(scene.buyer).call()
    assert caught.value.field == "rpc"


def test_the_client_reads_chain_id_balances_and_code(client: RpcClient, chain: Chain,
                                                     system: System, scene: Scene) -> None:
    assert client.chain_id() == chain.chain_id
    assert client.balance(scene.buyer) == chain.w3.eth.get_balance(scene.buyer)  # type: ignore[arg-type]
    addresses = [c.address for c in system.manifest.contracts.values()] + [scene.buyer]
    assert client.codes(addresses) == chain.codes(addresses)
    assert client.code(scene.buyer) == b""
    assert client.batch([]) == []


def _plain(value: Any) -> Any:
    """web3's nested AttributeDicts as dicts."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in dict(value).items()}
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def test_event_logs_decode_as_web3_decodes_them(system: System, scene: Scene) -> None:
    seen = set()
    for attr, name in ABI_NAMES.items():
        contract = getattr(system, attr)
        web3_contract = system.chain.w3.eth.contract(address=contract.address,
                                                     abi=interface(name).abi)
        web3_logs = system.chain.w3.eth.get_logs({"address": contract.address,
                                                  "fromBlock": system.manifest.deploy_block})
        walked = _embedded_logs(system, {contract.address}, system.manifest.deploy_block)
        assert walked == [Log.of(dict(log)) for log in web3_logs]
        for log, web3_log in zip(walked, web3_logs, strict=True):
            event = contract.event_of(log)
            expected = getattr(web3_contract.events, event.name)().process_log(web3_log).args
            assert repr(event.args) == repr(_plain(expected))
            seen.add(event.name)
    # Structs nested in structs, and arrays of structs, among them.
    assert {"PolicySet", "Revealed", "BatchPosted", "AskPosted", "Transfer"} <= seen


# ---- over HTTP ----


def test_requests_share_one_kept_alive_connection(node: _Node) -> None:
    transport = HttpTransport(node.url)
    before = len(node.connections)
    try:
        client = RpcClient(transport)
        chain_id = client.chain_id()
        assert client.batch([("eth_chainId", [])] * 3) == [hex(chain_id)] * 3
        client.code(node.sender)
    finally:
        transport.close()
    assert len(node.connections) == before + 1


def test_a_connection_the_node_dropped_is_reopened(node: _Node) -> None:
    transport = HttpTransport(node.url)
    before = len(node.connections)
    node.drops_connections = True
    try:
        client = RpcClient(transport)
        assert client.chain_id() == client.chain_id()
    finally:
        node.drops_connections = False
        transport.close()
    assert len(node.connections) == before + 2


def test_a_node_that_does_not_answer_in_time_fails_on_the_rpc_field(node: _Node) -> None:
    node.delay_seconds = 0.5
    try:
        with pytest.raises(ChainError, match=r"no answer .* within 0.2 s") as caught:
            RpcClient.http(node.url, timeout=0.2).chain_id()
    finally:
        node.delay_seconds = 0.0
    assert caught.value.field == "rpc"


def test_an_unreachable_node_fails_on_the_rpc_field() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ChainError, match="cannot reach the chain") as caught:
        RpcClient.http(f"http://127.0.0.1:{port}").chain_id()
    assert caught.value.field == "rpc"


def test_an_error_answer_raises_rpc_error(node: _Node) -> None:
    with pytest.raises(RpcError) as caught:
        RpcClient.http(node.url).request("eth_noSuchMethod", [])
    assert caught.value.field == "rpc"
