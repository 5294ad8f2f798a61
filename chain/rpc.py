"""Talking to the chain without web3, which takes a command over a second to import: JSON-RPC
over one kept-alive HTTP connection, or into the embedded chain's web3 request manager."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

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
    """JSON-RPC over one HTTP(S) connection, kept alive between requests, one request at a time:
    the market service's indexer and its request handlers share it from their threads, and an
    http.client connection used by two at once fails ("Request-sent")."""

    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChainError(f"expected an http(s) URL, got {url!r}", field="rpc")
        self.url, self.timeout = url, timeout
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def send(self, payload: Any) -> Any:
        with self._lock:
            return self._send(payload)

    def _send(self, payload: Any) -> Any:
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
            raise ChainError(f"cannot reach the chain at {self.url}: {_why(exc)} (is a node "
                             "running there?)", field="rpc") from exc
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
    """Requests answered in process by the embedded chain through web3's request manager, whose
    middleware turns JSON-RPC into eth-tester's calls; one by one, as it takes no batches."""

    def __init__(self, w3: Any) -> None:
        self.w3 = w3

    def send(self, payload: Any) -> Any:
        if isinstance(payload, list):
            return [self.send(request) for request in payload]
        try:
            result = self.w3.manager.request_blocking(payload["method"], payload["params"])
        except Exception as exc:
            # eth-tester raises what a node answers with an error, a revert with its data.
            return {"id": payload["id"], "error": {"message": str(exc), "exception": exc}}
        return {"id": payload["id"], "result": result}


class RpcClient:
    """The JSON-RPC requests rcm makes."""

    def __init__(self, transport: Transport, sender: str | None = None) -> None:
        self.transport = transport
        self.sender = sender  # the `from` of calls, for a chain that needs one
        self._ids = itertools.count(1)

    @classmethod
    def http(cls, url: str, timeout: float = TIMEOUT_SECONDS) -> RpcClient:
        return cls(HttpTransport(url, timeout))

    @classmethod
    def embedded(cls, w3: Any) -> RpcClient:
        # eth-tester runs a call as a transaction whose sender must afford its gas.
        return cls(EmbeddedTransport(w3), w3.eth.accounts[0])

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
        return quantity(self.request("eth_chainId", []))

    def balance(self, address: str) -> int:
        """The account's ether, in wei."""
        return quantity(self.request("eth_getBalance", [address, "latest"]))

    def code(self, address: str) -> bytes:
        return data_of(self.request("eth_getCode", [address, "latest"]))

    def codes(self, addresses: Sequence[str]) -> list[bytes]:
        """The code at each address, in one batch."""
        return [data_of(code) for code in
                self.batch([("eth_getCode", [address, "latest"]) for address in addresses])]

    def block(self, tag: str | int = "latest") -> dict[str, Any]:
        """A block's header fields (camelCase, as JSON-RPC names them)."""
        number = hex(tag) if isinstance(tag, int) else tag
        return dict(self.request("eth_getBlockByNumber", [number, False]))

    def call(self, transaction: dict[str, Any], block: str = "latest") -> bytes:
        """What running `transaction` ({to, data, from?, value?}) at `block` returns; a revert
        raises what `chain.reverts.decode_revert` makes of it (`Reverted`, the custom error)."""
        if self.sender is not None and "from" not in transaction:
            transaction = {"from": self.sender, **transaction}
        try:
            return data_of(self.request("eth_call", [transaction, block]))
        except RpcError as exc:
            from chain.reverts import decode_revert  # imports eth-abi: on a revert only

            raise decode_revert(exc) from exc

    def send_raw(self, raw: bytes, timeout: float = 60.0) -> dict[str, Any]:
        """Sends a signed transaction and returns its receipt once it is mined."""
        tx_hash = self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        deadline = time.monotonic() + timeout
        pause = 0.0
        while (receipt := self.request("eth_getTransactionReceipt", [tx_hash])) is None:
            if time.monotonic() > deadline:
                raise ChainError(f"transaction {tx_hash} was not mined within {timeout:g} s",
                                 field="rpc")
            time.sleep(pause)
            pause = min(0.5, pause + 0.02)
        return dict(receipt)

    def _request(self, method: str, params: list[Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}


def _result(answer: Any) -> Any:
    if not isinstance(answer, dict) or not ("result" in answer or "error" in answer):
        raise ChainError(f"expected a JSON-RPC answer, got {str(answer)[:200]}", field="rpc")
    if "error" in answer:
        error = answer["error"] if isinstance(answer["error"], dict) else {}
        failure = RpcError(str(error.get("message", answer["error"])), error.get("data"))
        raise failure from error.get("exception")  # the embedded chain's, with a revert's data
    return answer["result"]


def quantity(value: Any) -> int:
    """Hex over the wire; an int from the embedded chain."""
    return int(value, 16) if isinstance(value, str) else int(value)


def data_of(value: Any) -> bytes:
    """Hex over the wire; hex or bytes from the embedded chain."""
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def _why(exc: BaseException) -> str:
    """What went wrong in words (`connection refused`), not as a Python exception's name."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return reason[0].lower() + reason[1:]
