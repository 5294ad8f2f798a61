from chain.errors import RcmError


class TokensError(RcmError):
    """A wallet or token action that cannot be done; `field` names the input at fault."""


class UnknownWallet(TokensError):
    """No keystore of that name under `$RCM_HOME/keystores`."""


class RoundNotClosed(TokensError):
    """The future's round has not closed yet; finalising the round closes it."""
