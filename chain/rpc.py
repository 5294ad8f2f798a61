"""Reading the chain without web3, which takes a read-only command over a second to import:
JSON-RPC over one kept-alive HTTP connection, or into the embedded chain's web3 provider, and
contracts whose view functions are called as web3's are."""

from __future__ import annotations

import http.client
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from chain.abi_codec import AbiError, decode, encode, selector, to_checksum_address, type_string
from chain.errors import ChainError

TIMEOUT_SECONDS = 10.0


class RpcError(ChainError):
    """The node's error answer to a request; `data` is what it attached, such as a revert's
    data."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message, field="rpc")
        self.data = data


class Transport(Protocol):
    def send(self, payload: Any) -> Any:
        """The answer to a JSON-RPC request, or the list of answers to a batch."""


class HttpTransport:
    """JSON-RPC over one HTTP(S) connection, kept alive between requests."""

    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChainError(f"expected an http(s) URL, got {url!r}", field="rpc")
        self.url, self.timeout = url, timeout
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connection: http.client.HTTPConnection | None = None

    def send(self, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        reused = self._connection is not None
        try:
            try:
                status, answer = self._post(body)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # The node closed the connection while it sat idle: a fresh one, once.
                self.close()
                status, answer = self._post(body)
        except TimeoutError as exc:
            self.close()
            raise ChainError(f"no answer from the chain at {self.url} within {self.timeout:g} s",
                             field="rpc") from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ChainError(f"cannot reach the chain at {self.url}: {type(exc).__name__}",
                             field="rpc") from exc
        if status != 200:
            raise ChainError(f"the chain at {self.url} answered HTTP {status}", field="rpc")
        try:
            return json.loads(answer)
        except ValueError as exc:
            raise ChainError(f"the chain at {self.url} answered with no JSON",
                             field="rpc") from exc

    def _post(self, body: bytes) -> tuple[int, bytes]:
        if self._connection is None:
            connection = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = connection(self._host, self._port, timeout=self.timeout)
        self._connection.request("POST", self._path, body, {"Content-Type": "application/json"})
        response = self._connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class EmbeddedTransport:
    """Requests answered in-process by the embedded chain's web3 provider (`make_request`),
    one by one: it takes no batches."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    def send(self, payload: Any) -> Any:
        if isinstance(payload, list):
            return [self.send(request) for request in payload]
        try:
            answer = self.provider.make_request(payload["method"], payload["params"])
        except Exception as exc:
            # eth-tester raises what a node answers with an error, a revert with its data.
            raise RpcError(str(exc)) from exc
        return {**answer, "id": payload["id"]}


class RpcClient:
    """The JSON-RPC requests a reader makes, at the latest block."""

    def __init__(self, transport: Transport, sender: str | None = None) -> None:
        self.transport = transport
        self.sender = sender  # the `from` of calls, for a chain that needs one
        self._ids = itertools.count(1)

    @classmethod
    def http(cls, url: str, timeout: float = TIMEOUT_SECONDS) -> RpcClient:
        return cls(HttpTransport(url, timeout))

    @classmethod
    def embedded(cls, provider: Any) -> RpcClient:
        # eth-tester runs a call as a transaction whose sender must afford its gas: the first
        # account, which `connect` makes web3's default sender too.
        return cls(EmbeddedTransport(provider), provider.ethereum_tester.get_accounts()[0])

    def request(self, method: str, params: list[Any]) -> Any:
        return _result(self.transport.send(self._request(method, params)))

    def batch(self, requests: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """The results of several requests, sent together."""
        if not requests:
            return []
        payload = [self._request(method, params) for method, params in requests]
        answers = self.transport.send(payload)
        if not isinstance(answers, list):
            raise ChainError(f"expected a batch of answers, got {str(answers)[:200]}", field="rpc")
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}  # in any order
        return [_result(by_id.get(request["id"])) for request in payload]

    def chain_id(self) -> int:
        return _quantity(self.request("eth_chainId", []))

    def balance(self, address: str) -> int:
        """The account's ether, in wei."""
        return _quantity(self.request("eth_getBalance", [address, "latest"]))

    def code(self, address: str) -> bytes:
        return _data(self.request("eth_getCode", [address, "latest"]))

    def codes(self, addresses: Sequence[str]) -> list[bytes]:
        """The code at each address, in one batch."""
        return [_data(code) for code in
                self.batch([("eth_getCode", [address, "latest"]) for address in addresses])]

    def call(self, to: str, data: bytes) -> bytes:
        """What the contract at `to` returns for call data `data`; a revert raises what
        `chain.reverts.decode_revert` makes of it (`Reverted`, with the custom error)."""
        transaction = {"to": to, "data": "0x" + data.hex()}
        if self.sender is not None:
            transaction["from"] = self.sender
        try:
            return _data(self.request("eth_call", [transaction, "latest"]))
        except RpcError as exc:
            from chain.reverts import decode_revert  # imports eth-abi: on a revert only

            raise decode_revert(exc) from exc

    def _request(self, method: str, params: list[Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}


def _result(answer: Any) -> Any:
    if not isinstance(answer, dict) or not ("result" in answer or "error" in answer):
        raise ChainError(f"expected a JSON-RPC answer, got {str(answer)[:200]}", field="rpc")
    if "error" in answer:
        error = answer["error"] if isinstance(answer["error"], dict) else {}
        raise RpcError(str(error.get("message", answer["error"])), error.get("data"))
    return answer["result"]


def _quantity(value: Any) -> int:
    """Hex over the wire; an int from the embedded chain's provider."""
    return int(value, 16) if isinstance(value, str) else int(value)


def _data(value: Any) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


# ---- contracts ----


@dataclass(frozen=True)
class Function:
    """A function of a contract's ABI, its inputs and outputs as canonical type strings."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Function:
        return cls(entry["name"], tuple(type_string(p) for p in entry["inputs"]),
                   tuple(type_string(p) for p in entry["outputs"]))

    @property
    def selector(self) -> bytes:
        return selector(f"{self.name}({','.join(self.inputs)})")


class ReadContract:
    """A deployed contract's view functions, called as web3's are:
    `contract.functions.balanceOf(account).call()` returns what web3 returns (a single output
    as itself, several in a list), and a revert raises `chain.reverts.Reverted`."""

    def __init__(self, client: RpcClient, address: str, abi: list[dict[str, Any]]) -> None:
        self.client = client
        self.address = to_checksum_address(address)
        self.functions = Functions(self, abi)


class Functions:
    """`contract.functions.NAME(*args)`: the call of function NAME with `args`, to be made."""

    def __init__(self, contract: ReadContract, abi: list[dict[str, Any]]) -> None:
        self._contract = contract
        self._overloads: dict[str, list[Function]] = {}
        for entry in abi:
            if entry["type"] == "function":
                self._overloads.setdefault(entry["name"], []).append(Function.of(entry))

    def __getattr__(self, name: str) -> Callable[..., ViewCall]:
        # Through __dict__: copy and pickle look attributes up before __init__ has run.
        overloads = self.__dict__.get("_overloads", {}).get(name)
        if overloads is None:
            raise AttributeError(f"the contract has no function {name}")
        return lambda *args: ViewCall(self._contract, _overload(overloads, args), args)


def _overload(overloads: list[Function], args: tuple[Any, ...]) -> Function:
    """The one of a name's functions taking this many arguments."""
    taking = [f for f in overloads if len(f.inputs) == len(args)]
    if len(taking) != 1:
        raise TypeError(f"{len(taking)} functions {overloads[0].name} take {len(args)} arguments")
    return taking[0]


class ViewCall:
    """A function with its arguments encoded; `call()` makes the call at the latest block."""

    def __init__(self, contract: ReadContract, function: Function, args: tuple[Any, ...]) -> None:
        self.contract, self.function = contract, function
        self.data = function.selector + encode(function.inputs, args)

    def call(self) -> Any:
        returned = self.contract.client.call(self.contract.address, self.data)
        try:
            values = decode(self.function.outputs, returned)
        except AbiError as exc:
            raise ChainError(
                f"{self.function.name} of {self.contract.address} returned no "
                f"{', '.join(self.function.outputs)} ({exc}): is the contract deployed there?",
                field="rpc") from exc
        return values[0] if len(values) == 1 else values
