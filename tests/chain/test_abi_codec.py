"""chain.abi_codec against eth-abi and web3: the same encoding of random values of random types
(nested tuples, fixed and dynamic arrays), the same decoded values as web3 gives them, the same
selectors, topics and checksums, and malformed values and data refused."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import eth_abi
import pytest
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector
from eth_utils import to_checksum_address as web3_checksum
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3._utils.abi import map_abi_data
from web3._utils.events import get_event_data
from web3._utils.normalizers import BASE_RETURN_NORMALIZERS

from chain import abi_codec
from chain.abi_codec import AbiError
from chain.compiler import load_interfaces

# A type as (canonical type string, a strategy for its values).
Typed = tuple[str, st.SearchStrategy[Any]]


def _address() -> st.SearchStrategy[str]:
    raw = st.binary(min_size=20, max_size=20)
    return st.one_of(raw.map(web3_checksum), raw.map(lambda b: "0x" + b.hex()))


def _elementary() -> st.SearchStrategy[Typed]:
    widths = st.integers(1, 32)
    return st.one_of(
        widths.map(lambda n: (f"uint{8 * n}", st.integers(0, 2 ** (8 * n) - 1))),
        widths.map(lambda n: (f"int{8 * n}", st.integers(-(2 ** (8 * n - 1)),
                                                         2 ** (8 * n - 1) - 1))),
        st.just(("address", _address())),
        st.just(("bool", st.booleans())),
        widths.map(lambda n: (f"bytes{n}", st.binary(min_size=n, max_size=n))),
        st.just(("bytes", st.binary(max_size=70))),
        st.just(("string", st.text(max_size=40))),
    )


def _fixed_array(item: Typed, length: int) -> Typed:
    return f"{item[0]}[{length}]", st.lists(item[1], min_size=length, max_size=length)


def _tuple(components: list[Typed]) -> Typed:
    return ("(" + ",".join(t for t, _ in components) + ")",
            st.tuples(*(values for _, values in components)))


def _composite(children: st.SearchStrategy[Typed]) -> st.SearchStrategy[Typed]:
    return st.one_of(
        st.builds(_fixed_array, children, st.integers(1, 3)),
        children.map(lambda item: (f"{item[0]}[]", st.lists(item[1], max_size=3))),
        st.lists(children, min_size=1, max_size=4).map(_tuple),
    )


TYPES = st.lists(st.recursive(_elementary(), _composite, max_leaves=8), max_size=4)


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[list[str], list[Any]]:
    typed = draw(TYPES)
    return [t for t, _ in typed], [draw(values) for _, values in typed]


def as_web3(types: list[str], data: bytes) -> list[Any]:
    """What web3 makes of `data`: eth-abi's decoding, normalized as a call's outputs are."""
    return list(map_abi_data(BASE_RETURN_NORMALIZERS, types, eth_abi.decode(types, data)))


@settings(max_examples=300, deadline=None)
@given(typed_values())
def test_encoding_is_eth_abis(case: tuple[list[str], list[Any]]) -> None:
    types, values = case
    assert abi_codec.encode(types, values) == eth_abi.encode(types, values)


@settings(max_examples=300, deadline=None)
@given(typed_values())
def test_decoding_gives_what_web3_gives(case: tuple[list[str], list[Any]]) -> None:
    types, values = case
    data = eth_abi.encode(types, values)
    # repr tells a tuple from a list and True from 1, where == does not.
    assert repr(abi_codec.decode(types, data)) == repr(as_web3(types, data))


@given(st.binary(min_size=20, max_size=20))
def test_checksums_are_eip55(raw: bytes) -> None:
    assert abi_codec.to_checksum_address(raw) == web3_checksum(raw)
    assert abi_codec.to_checksum_address("0x" + raw.hex()) == web3_checksum(raw)


def test_selectors_and_topics_of_every_contract_are_web3s() -> None:
    entries = [e for i in load_interfaces().values() for e in i.abi]
    functions = [e for e in entries if e["type"] == "function"]
    events = [e for e in entries if e["type"] == "event"]
    assert functions and events
    for function in functions:
        expected = function_abi_to_4byte_selector(function)
        assert abi_codec.selector(abi_codec.signature(function)) == expected
    for event in events:
        assert abi_codec.event_topic(event) == event_abi_to_log_topic(event)


NOTED = {"type": "event", "name": "Noted", "anonymous": False, "inputs": [
    {"name": "who", "type": "address", "indexed": True},
    {"name": "tag", "type": "string", "indexed": True},  # logged as its hash
    {"name": "amounts", "type": "int64[]", "indexed": False},
    {"name": "entry", "type": "tuple", "indexed": False, "components": [
        {"name": "label", "type": "string"},
        {"name": "pairs", "type": "tuple[2]", "components": [
            {"name": "key", "type": "bytes4"}, {"name": "on", "type": "bool"}]}]},
]}


@settings(max_examples=50, deadline=None)
@given(_address(), st.text(max_size=10), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3),
       st.text(max_size=10),
       st.lists(st.tuples(st.binary(min_size=4, max_size=4), st.booleans()), min_size=2,
                max_size=2))
def test_event_logs_decode_as_web3_decodes_them(who: str, tag: str, amounts: list[int],
                                                label: str,
                                                pairs: list[tuple[bytes, bool]]) -> None:
    topics = [abi_codec.event_topic(NOTED), eth_abi.encode(["address"], [who]),
              abi_codec.keccak(tag.encode())]
    data = eth_abi.encode(["int64[]", "(string,(bytes4,bool)[2])"], [amounts, (label, pairs)])
    log: Any = {"topics": topics, "data": data, "logIndex": 0, "transactionIndex": 0,
                "transactionHash": bytes(32), "address": who, "blockHash": bytes(32),
                "blockNumber": 1}
    expected = get_event_data(Web3().codec, NOTED, log)["args"]
    assert repr(abi_codec.decode_event(NOTED, topics, data)) == repr(expected)


@pytest.mark.parametrize(("abi_type", "value"), [
    ("uint8", 256),
    ("uint8", -1),
    ("int8", 128),
    ("uint256", True),
    ("bool", 1),
    ("address", "0x" + "ab" * 19),
    ("address", "0xabAB" + "ab" * 18),  # mixed case with a wrong checksum
    ("bytes32", b"\1" * 31),
    ("bytes", "0x00"),
    ("string", b"text"),
    ("uint8[2]", [1]),
    ("(uint8,bool)", (1,)),
])
def test_values_a_type_cannot_hold_are_refused(abi_type: str, value: Any) -> None:
    with pytest.raises(AbiError):
        abi_codec.encode([abi_type], [value])


WORD = 32


def _word(value: int) -> bytes:
    return value.to_bytes(WORD, "big")


@pytest.mark.parametrize(("types", "data"), [
    (["uint256"], bytes(31)),  # short
    (["uint8"], _word(256)),  # dirty padding
    (["int8"], _word(128)),
    (["bool"], _word(2)),
    (["address"], _word(2**160)),
    (["bytes4"], b"\1" * 5 + bytes(27)),
    (["bytes"], _word(WORD) + _word(40) + bytes(WORD)),  # 40 bytes, 32 given
    (["bytes"], _word(WORD) + _word(1) + b"\0\1" + bytes(30)),  # dirty padding
    (["string"], _word(WORD) + _word(1) + b"\xff" + bytes(31)),  # not UTF-8
    (["bytes"], _word(0)),  # an offset into the head
    (["uint8[]"], _word(WORD) + _word(2**200)),  # more items than data
])
def test_data_that_does_not_decode_is_refused(types: list[str], data: bytes) -> None:
    with pytest.raises(AbiError):
        abi_codec.decode(types, data)


@pytest.mark.parametrize("text", ["uint", "uint7", "uint264", "bytes0", "bytes33", "tuple",
                                  "(uint8", "(uint8,)", "uint8[", "uint8]", "address payable"])
def test_types_that_are_not_canonical_are_refused(text: str) -> None:
    with pytest.raises(AbiError):
        abi_codec.parse(text)


def test_importing_the_read_path_loads_neither_web3_nor_eth_abi() -> None:
    check = ("import sys, chain.rpc, chain.abi_codec; "
             "print(sorted(m for m in ('web3', 'eth_abi', 'eth_utils', 'eth_account', 'Crypto') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            check=True).stdout
    assert loaded.strip() == "[]"
