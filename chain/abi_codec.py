"""ABI encoding of call arguments, and decoding of return data and event logs, without web3 or
eth-abi (which take a read-only command over a second to import).

Values come out exactly as web3 gives them: ints, bools, checksummed `str` addresses, `bytes`,
`str`, tuples for structs and lists for arrays. Types are canonical ABI type strings such as
`uint96`, `bytes32` or `(uint64,address)[]`; `type_string` makes one of an ABI JSON entry.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

WORD = 32


class AbiError(ValueError):
    """A value its ABI type cannot hold, or data that does not decode as its types say."""


def _keccak_256() -> Callable[[bytes], bytes]:
    # safe-pysha3, which eth-tester[py-evm] installs on CPython, imports in a millisecond;
    # pycryptodome's Keccak, which web3 installs, takes 60 ms (it loads cffi).
    try:
        from sha3 import keccak_256
    except ImportError:
        from Crypto.Hash import keccak

        return lambda data: keccak.new(digest_bits=256, data=data).digest()
    return lambda data: keccak_256(data).digest()


keccak = _keccak_256()
"""Keccak-256 as Ethereum uses it (not hashlib's SHA3-256, which pads differently)."""


@cache
def selector(signature: str) -> bytes:
    """A function's or error's selector: the first four bytes of the hash of its signature,
    such as `balanceOf(address)` or `post(uint256,(bytes32,uint8)[])`."""
    return keccak(signature.encode())[:4]


def type_string(param: dict[str, Any]) -> str:
    """The canonical type of an input or output of an ABI JSON entry: a struct as `(t1,t2)`."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(type_string(c) for c in param["components"]) + ")" + kind[5:]
    return kind


def signature(entry: dict[str, Any]) -> str:
    """`name(type,...)` of an ABI function, event or error."""
    return f"{entry['name']}({','.join(type_string(p) for p in entry['inputs'])})"


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def to_checksum_address(address: str | bytes) -> str:
    """EIP-55: a hex digit is upper case where the same nibble of the hash of the lower-case
    hex is 8 or more."""
    if isinstance(address, str):
        if not _ADDRESS.fullmatch(address):
            raise AbiError(f"{address!r} is not an address")
        hex_digits = address[2:].lower()
    else:
        hex_digits = address.hex()
    digest = keccak(hex_digits.encode()).hex()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c
                          for c, h in zip(hex_digits, digest, strict=False))


def checksum_fits(address: str) -> bool:
    """Whether a well-formed address's case agrees with EIP-55: mixed case claims a checksum,
    which must then be right; all-lower and all-upper hex claim none."""
    digits = address[2:]
    return digits in (digits.lower(), digits.upper()) or to_checksum_address(address) == address


# ---- types ----


class AbiType(ABC):
    """How one ABI type encodes a value and decodes its encoding."""

    @property
    def dynamic(self) -> bool:
        """Whether its encoding sits in its container's tail, behind an offset in the head."""
        return False

    def head_size(self) -> int:
        """The bytes it takes in its container's head."""
        return WORD

    @abstractmethod
    def encode(self, value: Any) -> bytes: ...

    @abstractmethod
    def decode(self, data: bytes, start: int) -> Any:
        """The value whose encoding starts at `start` of `data`."""


@dataclass(frozen=True)
class Int(AbiType):
    bits: int
    signed: bool

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.bits}"

    def _holds(self, value: int) -> bool:
        if self.signed:
            return -(1 << (self.bits - 1)) <= value < 1 << (self.bits - 1)
        return 0 <= value < 1 << self.bits

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, int) or isinstance(value, bool) or not self._holds(value):
            raise AbiError(f"{value!r} is not a {self}")
        return (value % (1 << 256)).to_bytes(WORD, "big")

    def decode(self, data: bytes, start: int) -> int:
        value = int.from_bytes(_word(data, start), "big")
        if self.signed and value >> 255:
            value -= 1 << 256
        if not self._holds(value):
            raise AbiError(f"a {self} with dirty padding at byte {start}")
        return value


class Address(AbiType):
    def __str__(self) -> str:
        return "address"

    def encode(self, value: Any) -> bytes:
        valid = isinstance(value, str) and _ADDRESS.fullmatch(value) and checksum_fits(value)
        if not valid:
            raise AbiError(f"{value!r} is not an address")
        return bytes(12) + bytes.fromhex(value[2:])

    def decode(self, data: bytes, start: int) -> str:
        word = _word(data, start)
        if any(word[:12]):
            raise AbiError(f"an address with dirty padding at byte {start}")
        return to_checksum_address(word[12:])


class Bool(AbiType):
    def __str__(self) -> str:
        return "bool"

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, bool):
            raise AbiError(f"{value!r} is not a bool")
        return int(value).to_bytes(WORD, "big")

    def decode(self, data: bytes, start: int) -> bool:
        value = int.from_bytes(_word(data, start), "big")
        if value > 1:
            raise AbiError(f"a bool of {value} at byte {start}")
        return value == 1


@dataclass(frozen=True)
class FixedBytes(AbiType):
    size: int

    def __str__(self) -> str:
        return f"bytes{self.size}"

    def encode(self, value: Any) -> bytes:
        # Exactly `size` bytes, as web3 checks them: a short value is more likely a mistake
        # than a prefix.
        if not isinstance(value, bytes | bytearray) or len(value) != self.size:
            raise AbiError(f"{value!r} is not a {self}")
        return bytes(value).ljust(WORD, b"\0")

    def decode(self, data: bytes, start: int) -> bytes:
        word = _word(data, start)
        if any(word[self.size:]):
            raise AbiError(f"a {self} with dirty padding at byte {start}")
        return word[:self.size]


class Bytes(AbiType):
    @property
    def dynamic(self) -> bool:
        return True

    def __str__(self) -> str:
        return "bytes"

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, bytes | bytearray):
            raise AbiError(f"{value!r} is not bytes")
        return _encode_bytes(bytes(value))

    def decode(self, data: bytes, start: int) -> bytes:
        return _decode_bytes(data, start)


class String(AbiType):
    @property
    def dynamic(self) -> bool:
        return True

    def __str__(self) -> str:
        return "string"

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise AbiError(f"{value!r} is not a string")
        return _encode_bytes(value.encode())

    def decode(self, data: bytes, start: int) -> str:
        try:
            return _decode_bytes(data, start).decode()
        except UnicodeDecodeError as exc:
            raise AbiError(f"a string at byte {start} is not UTF-8") from exc


@dataclass(frozen=True)
class Array(AbiType):
    item: AbiType
    length: int | None  # None for a dynamic array, T[]

    def __str__(self) -> str:
        return f"{self.item}[{'' if self.length is None else self.length}]"

    @property
    def dynamic(self) -> bool:
        return self.length is None or self.item.dynamic

    def head_size(self) -> int:
        if self.length is None or self.item.dynamic:
            return WORD
        return self.length * self.item.head_size()

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, list | tuple) or self.length not in (None, len(value)):
            raise AbiError(f"{value!r} is not a {self}")
        items = _encode_sequence([self.item] * len(value), value)
        return items if self.length is not None else len(value).to_bytes(WORD, "big") + items

    def decode(self, data: bytes, start: int) -> list[Any]:
        length = self.length
        if length is None:
            length = int.from_bytes(_word(data, start), "big")
            start += WORD
        if length * self.item.head_size() > len(data) - start:
            raise AbiError(f"{length} items at byte {start} run past the data's end")
        return _decode_sequence([self.item] * length, data, start)


@dataclass(frozen=True)
class Tuple(AbiType):
    components: tuple[AbiType, ...]

    def __str__(self) -> str:
        return f"({','.join(str(c) for c in self.components)})"

    @property
    def dynamic(self) -> bool:
        return any(c.dynamic for c in self.components)

    def head_size(self) -> int:
        return WORD if self.dynamic else sum(c.head_size() for c in self.components)

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, list | tuple) or len(value) != len(self.components):
            raise AbiError(f"{value!r} is not a {self}")
        return _encode_sequence(self.components, value)

    def decode(self, data: bytes, start: int) -> tuple[Any, ...]:
        return tuple(_decode_sequence(self.components, data, start))


def _word(data: bytes, start: int) -> bytes:
    if start + WORD > len(data):
        raise AbiError(f"the data ends before byte {start + WORD}")
    return data[start:start + WORD]


def _encode_bytes(value: bytes) -> bytes:
    padded = -(-len(value) // WORD) * WORD
    return len(value).to_bytes(WORD, "big") + value.ljust(padded, b"\0")


def _decode_bytes(data: bytes, start: int) -> bytes:
    length = int.from_bytes(_word(data, start), "big")
    body = start + WORD
    end = body + -(-length // WORD) * WORD
    if end > len(data):
        raise AbiError(f"{length} bytes at byte {start} run past the data's end")
    if any(data[body + length:end]):
        raise AbiError(f"bytes with dirty padding at byte {start}")
    return data[body:body + length]


def _encode_sequence(types: Sequence[AbiType], values: Sequence[Any]) -> bytes:
    """Heads in order, each dynamic value's head the offset of its encoding among the tails."""
    heads, tails = [], []
    offset = sum(t.head_size() for t in types)
    for abi_type, value in zip(types, values, strict=True):
        encoded = abi_type.encode(value)
        if abi_type.dynamic:
            heads.append(offset.to_bytes(WORD, "big"))
            tails.append(encoded)
            offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads + tails)


def _decode_sequence(types: Sequence[AbiType], data: bytes, start: int) -> list[Any]:
    values = []
    head, tails = start, start + sum(t.head_size() for t in types)
    for abi_type in types:
        if abi_type.dynamic:
            at = start + int.from_bytes(_word(data, head), "big")
            if not tails <= at < len(data):
                raise AbiError(f"the offset at byte {head} points outside the data")
            values.append(abi_type.decode(data, at))
        else:
            values.append(abi_type.decode(data, head))
        head += abi_type.head_size()
    return values


# ---- type strings ----

_ELEMENTARY = re.compile(r"(u?)int(\d+)|address|bool|bytes(\d*)|string")
_DIMENSION = re.compile(r"\[(\d*)\]")


@cache
def parse(type_str: str) -> AbiType:
    """The type a canonical ABI type string names."""
    abi_type, end = _parse(type_str, 0)
    if end != len(type_str):
        raise AbiError(f"{type_str!r} is not an ABI type")
    return abi_type


def _parse(text: str, at: int) -> tuple[AbiType, int]:
    abi_type: AbiType
    if text.startswith("(", at):
        components = []
        while True:
            component, at = _parse(text, at + 1)
            components.append(component)
            if not text.startswith(",", at):
                break
        if not text.startswith(")", at):
            raise AbiError(f"{text!r} is not an ABI type")
        abi_type, at = Tuple(tuple(components)), at + 1
    else:
        match = _ELEMENTARY.match(text, at)
        if match is None:
            raise AbiError(f"{text!r} is not an ABI type")
        abi_type, at = _elementary(match), match.end()
    while dimension := _DIMENSION.match(text, at):
        abi_type = Array(abi_type, int(dimension[1]) if dimension[1] else None)
        at = dimension.end()
    return abi_type, at


def _elementary(match: re.Match[str]) -> AbiType:
    name, bits, size = match[0], match[2], match[3]
    if bits:
        if int(bits) % 8 or not 8 <= int(bits) <= 256:
            raise AbiError(f"{name} is not an ABI type")
        return Int(int(bits), signed=not match[1])
    if size:
        if not 1 <= int(size) <= 32:
            raise AbiError(f"{name} is not an ABI type")
        return FixedBytes(int(size))
    return _NAMED[name]


_NAMED: dict[str, AbiType] = {
    "address": Address(), "bool": Bool(), "bytes": Bytes(), "string": String()}


# ---- values ----


def _sequence(types: Sequence[str]) -> Tuple:
    return Tuple(tuple(parse(t) for t in types))


def encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """The ABI encoding of `values` as a tuple of `types`, as eth-abi's `encode` gives it."""
    return _sequence(types).encode(values)


def decode(types: Sequence[str], data: bytes) -> list[Any]:
    """The values `data` encodes as a tuple of `types`, in a list as web3 gives a call's
    outputs."""
    return list(_sequence(types).decode(data, 0))


def event_topic(event: dict[str, Any]) -> bytes:
    """The first topic of the event's logs: the hash of its signature."""
    return keccak(signature(event).encode())


def decode_event(event: dict[str, Any], topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
    """The arguments of a log of `event` (its ABI entry) by name, as web3's `process_log` gives
    them: structs as dicts by field name, and each indexed argument of a dynamic type as the
    hash the topic holds."""
    indexed = [p for p in event["inputs"] if p.get("indexed")]
    if len(topics) != len(indexed) + 1 or topics[0] != event_topic(event):
        raise AbiError(f"the log is not a {event['name']} event")
    args = {}
    for param, topic in zip(indexed, topics[1:], strict=True):
        abi_type = parse(type_string(param))
        args[param["name"]] = topic if abi_type.dynamic else abi_type.decode(topic, 0)
    unindexed = [p for p in event["inputs"] if not p.get("indexed")]
    values = decode([type_string(p) for p in unindexed], data)
    args.update((p["name"], _named(p, v)) for p, v in zip(unindexed, values, strict=True))
    return args


def _named(param: dict[str, Any], value: Any) -> Any:
    kind = str(param["type"])
    if kind.endswith("]"):
        item = {**param, "type": kind[:kind.rindex("[")]}
        return [_named(item, v) for v in value]
    if kind == "tuple":
        return {c["name"]: _named(c, v)
                for c, v in zip(param["components"], value, strict=True)}
    return value
