from chain.errors import RcmError


class TokensError(RcmError):
    """A wallet or token action that cannot be done: the message names the field."""
