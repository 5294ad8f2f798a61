"""The risk package's errors: declarations and rubrics that cannot be read or scored."""

from chain.errors import RcmError


class RiskError(RcmError):
    """A declaration or rubric refused; `field` is the path into it that failed
    (`capabilities[1]`, `compute.model_thresholds[2].flop`), or the argument when the whole
    file is at fault."""


class DeclarationError(RiskError):
    """A workload declaration that is not one: a missing field, an unknown value, a FLOP count
    out of range."""


class RubricError(RiskError):
    """A rubric that is malformed or not monotone: a regulator may not publish it."""
