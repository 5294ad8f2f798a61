"""The one exception every package's base error derives from: the CLI maps it to exit 2."""


class RcmError(Exception):
    """Bad input or a rejected action; the message names the field or the check."""


class ChainError(RcmError):
    """A chain-side problem: unreachable RPC, stale manifest, reverted transaction."""
