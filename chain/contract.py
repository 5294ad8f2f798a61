"""Deployed contracts as the Python side uses them, without web3: a function with its arguments
encoded (`contract.functions.NAME(*args)`, to `.call()` or to send with `Chain.send`), the
events of a receipt decoded, and receipts and logs with named fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chain.abi_codec import (
    AbiError,
    decode,
    decode_event,
    encode,
    event_topic,
    selector,
    to_checksum_address,
    type_string,
)
from chain.errors import ChainError
from chain.rpc import RpcClient, data_of, quantity

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Log:
    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    log_index: int
    transaction_hash: bytes

    @classmethod
    def of(cls, log: dict[str, Any]) -> Log:
        """A log as JSON-RPC gives it, in hex, or as the embedded chain does."""
        return cls(to_checksum_address(log["address"]),
                   tuple(data_of(topic) for topic in log["topics"]), data_of(log["data"]),
                   quantity(log["blockNumber"]), quantity(log["logIndex"]),
                   data_of(log["transactionHash"]))


@dataclass(frozen=True)
class Receipt:
    transaction_hash: bytes
    block_number: int
    status: int
    gas_used: int
    effective_gas_price_wei: int
    contract_address: str | None
    logs: tuple[Log, ...]

    @classmethod
    def of(cls, receipt: dict[str, Any]) -> Receipt:
        created = receipt.get("contractAddress")
        return cls(data_of(receipt["transactionHash"]), quantity(receipt["blockNumber"]),
                   quantity(receipt["status"]), quantity(receipt["gasUsed"]),
                   quantity(receipt.get("effectiveGasPrice") or 0),
                   to_checksum_address(created) if created else None,
                   tuple(Log.of(log) for log in receipt["logs"]))

    @property
    def tx(self) -> str:
        return "0x" + self.transaction_hash.hex()


@dataclass(frozen=True)
class Event:
    """A decoded log: the event's name, its arguments by name (as web3 decodes them), and
    where it was emitted."""

    name: str
    args: dict[str, Any]
    block_number: int
    log_index: int
    transaction_hash: bytes


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


class Contract:
    """A deployed contract: `contract.functions.balanceOf(account).call()` returns what web3
    returns (a single output as itself, several in a list), and a revert raises
    `chain.reverts.Reverted`."""

    def __init__(self, client: RpcClient, address: str, abi: list[dict[str, Any]]) -> None:
        self.client = client
        self.address = to_checksum_address(address)
        self.abi = abi
        self.functions = Functions(self, abi)
        self._events = {event_topic(e): e for e in abi if e["type"] == "event"}

    def events_in(self, receipt: Receipt, name: str) -> list[Event]:
        """The `name` events this contract emitted in the transaction of `receipt`."""
        return [event for log in receipt.logs if (event := self.event_of(log)) is not None
                and event.name == name]

    def event_of(self, log: Log) -> Event | None:
        """The log decoded, if this contract emitted it and its ABI has the event."""
        abi = self._events.get(log.topics[0]) if log.topics else None
        if abi is None or log.address != self.address:
            return None
        return Event(abi["name"], decode_event(abi, log.topics, log.data), log.block_number,
                     log.log_index, log.transaction_hash)

    def topic(self, name: str) -> bytes:
        for topic, abi in self._events.items():
            if abi["name"] == name:
                return topic
        raise ChainError(f"the contract has no event {name}")


class Functions:
    """`contract.functions.NAME(*args)`: the call of function NAME with `args`, to be made."""

    def __init__(self, contract: Contract, abi: list[dict[str, Any]]) -> None:
        self._contract = contract
        self._overloads: dict[str, list[Function]] = {}
        for entry in abi:
            if entry["type"] == "function":
                self._overloads.setdefault(entry["name"], []).append(Function.of(entry))

    def __getattr__(self, name: str) -> Callable[..., ContractCall]:
        # Through __dict__: copy and pickle look attributes up before __init__ has run.
        overloads = self.__dict__.get("_overloads", {}).get(name)
        if overloads is None:
            raise AttributeError(f"the contract has no function {name}")
        return lambda *args: ContractCall(self._contract, _overload(overloads, args), args)


def _overload(overloads: list[Function], args: tuple[Any, ...]) -> Function:
    """The one of a name's functions taking this many arguments."""
    taking = [f for f in overloads if len(f.inputs) == len(args)]
    if len(taking) != 1:
        raise TypeError(f"{len(taking)} functions {overloads[0].name} take {len(args)} arguments")
    return taking[0]


class ContractCall:
    """A function with its arguments encoded: `call()` runs it at the latest block; `Chain.send`
    sends it as a transaction."""

    def __init__(self, contract: Contract, function: Function, args: tuple[Any, ...]) -> None:
        self.contract, self.function = contract, function
        try:
            self.data = function.selector + encode(function.inputs, args)
        except AbiError as exc:
            raise ChainError(f"{function.name}: {exc}") from exc

    @property
    def address(self) -> str:
        return self.contract.address

    def call(self, sender: str | None = None, block: str = "latest") -> Any:
        transaction = {"to": self.address, "data": "0x" + self.data.hex()}
        if sender is not None:
            transaction["from"] = sender
        returned = self.contract.client.call(transaction, block)
        try:
            values = decode(self.function.outputs, returned)
        except AbiError as exc:
            raise ChainError(
                f"{self.function.name} of {self.address} returned no "
                f"{', '.join(self.function.outputs)} ({exc}): is the contract deployed there?",
                field="rpc") from exc
        return values[0] if len(values) == 1 else values
