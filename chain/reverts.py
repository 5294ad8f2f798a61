"""Turn a failed call into a named custom error with its arguments, from the contracts' ABIs."""

from __future__ import annotations

import ast
from functools import cache
from typing import Any

from chain.errors import ChainError

PANIC_SELECTOR = "0x4e487b71"
ERROR_STRING_SELECTOR = "0x08c379a0"


class Reverted(ChainError):
    """A transaction that would revert; `name` and `args` are the custom error's."""

    def __init__(self, name: str, args: tuple[Any, ...]) -> None:
        self.name = name
        self.args_ = args
        rendered = ", ".join(str(a) for a in args)
        super().__init__(f"reverted: {name}({rendered})")


@cache
def _error_abis() -> dict[str, tuple[str, list[str]]]:
    from eth_utils import function_signature_to_4byte_selector

    from chain.compiler import load_interfaces

    errors: dict[str, tuple[str, list[str]]] = {}
    for compiled in load_interfaces().values():
        for entry in compiled.abi:
            if entry["type"] != "error":
                continue
            types = [_abi_type(i) for i in entry["inputs"]]
            signature = f"{entry['name']}({','.join(types)})"
            selector = "0x" + function_signature_to_4byte_selector(signature).hex()
            errors[selector] = (entry["name"], types)
    return errors


def _abi_type(entry: dict[str, Any]) -> str:
    if entry["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in entry["components"])
        return f"({inner}){entry['type'][5:]}"
    return str(entry["type"])


def _revert_data(exc: BaseException | None) -> str | None:
    """Revert data from web3 (`.data`, over JSON-RPC) or eth-tester (raw bytes in `args`)."""
    while exc is not None:
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return data
        raw = exc.args[0] if exc.args else None
        if isinstance(raw, str) and raw[:2] in ('b"', "b'"):
            # eth-tester reports an eth_call revert as the repr of its bytes.
            raw = ast.literal_eval(raw)
        if isinstance(raw, bytes):
            return "0x" + raw.hex()
        exc = exc.__cause__ or exc.__context__
    return None


def decode_revert(exc: Exception) -> ChainError:
    """The `Reverted` error `exc` carries, or a ChainError describing an unexplained failure."""
    from eth_abi import decode

    data = _revert_data(exc)
    if data is None or len(data) < 10:
        return ChainError(f"transaction rejected: {exc}")
    selector, payload = data[:10], bytes.fromhex(data[10:])
    if selector == ERROR_STRING_SELECTOR:
        return Reverted("Error", tuple(decode(["string"], payload)))
    if selector == PANIC_SELECTOR:
        return Reverted("Panic", tuple(decode(["uint256"], payload)))
    known = _error_abis().get(selector)
    if known is None:
        return Reverted(f"unknown error {selector}", ())
    name, types = known
    values = decode(types, payload)
    return Reverted(name, tuple(_readable(t, v) for t, v in zip(types, values, strict=True)))


def _readable(abi_type: str, value: Any) -> Any:
    from eth_utils import to_checksum_address

    if abi_type == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value
