"""The market package's errors: bad instances and unreadable files."""

from chain.errors import RcmError


class MarketError(RcmError):
    """A malformed or inconsistent market instance; the message names the field or the line."""
