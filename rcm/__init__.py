"""rcm — Responsible Compute Markets: the library (`rcm.Market`, `rcm.Wallet`) and the `rcm`
command over it. Names are loaded on first use, so the command starts fast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chain.errors import RcmError
    from chain.settlement import Phase
    from rcm.sdk import Market, Wallet

__all__ = ["Market", "Phase", "RcmError", "Wallet"]


def __getattr__(name: str) -> Any:
    if name == "RcmError":
        from chain.errors import RcmError

        return RcmError
    if name == "Phase":
        from chain.settlement import Phase

        return Phase
    if name in ("Market", "Wallet"):
        from rcm import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'rcm' has no attribute {name!r}")
