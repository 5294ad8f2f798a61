"""Pydantic's validation errors as rcm's: the first problem, led by the path of the field at
fault, which every package's errors carry as `field`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

# pydantic's last step of the path to a mapping's key, which the key before it already names
_KEY_MARKER = "[key]"


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem on one line, led by its field path: `bids[3].bundles[0].value: ...`."""
    path, reason = first_problem(exc)
    return f"{path}: {reason}" if path else reason


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """The field path of the first problem (`bids[3].bundles[0].value`, empty for the whole
    document) and what is wrong there, with how many more problems there are."""
    # A mistyped key is two problems, the key unknown and the field it meant missing: the
    # unknown key is the one that shows the typo.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    cause = first.get("ctx", {}).get("error")
    message = (str(cause) if isinstance(cause, ValueError)
               else "unknown field" if first["type"] == "extra_forbidden" else first["msg"])
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                   for part in first["loc"] if part != _KEY_MARKER)
    more = len(errors) - 1
    return path.lstrip("."), (f"{message} (and {more} more problem{'s' * (more > 1)})" if more
                              else message)
