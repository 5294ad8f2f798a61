"""Long 0x ids named by their first hex digits, as git names a commit by an abbreviated hash."""

from __future__ import annotations

from collections.abc import Callable
from string import hexdigits

from tokens.errors import TokensError

MIN_PREFIX_DIGITS = 8


def resolve_prefix(text: str, known: Callable[[], dict[str, int]], kind: str, field: str,
                   whole_digits: int | None = None) -> int | None:
    """The id `text` names among `known()` (0x-hex as rcm shows each, in any of the forms it
    shows → the id): the one it
    spells, else the one it is the start of (at least 8 hex digits). None when `text` is no
    0x-hex, has `whole_digits` digits, or (with no `whole_digits`: any length may be whole)
    matches none: the caller reads it as a whole id. `kind` names the ids (`this wallet's
    futures`)."""
    digits = text[2:].lower() if text.lower().startswith("0x") else ""
    if not digits or not set(digits) <= set(hexdigits) or len(digits) == whole_digits:
        return None
    ids = known()
    exact = ids.get("0x" + digits)
    if exact is not None:
        return exact
    # Leading zeros tell ids apart no more than no digits do: 64-digit dataset ids start with 40.
    if len(digits.lstrip("0")) < MIN_PREFIX_DIGITS:
        raise TokensError(f"{text} is too short to name an id: give at least "
                          f"{MIN_PREFIX_DIGITS} hex digits after its leading zeros", field=field)
    matches = sorted({id_ for shown, id_ in ids.items() if shown[2:].startswith(digits)})
    if len(matches) > 1:
        raise TokensError(f"{text} is the start of {len(matches)} of {kind}; give more digits",
                          field=field)
    if matches:
        return matches[0]
    if whole_digits is None:
        return None
    raise TokensError(f"{text} is the start of none of {kind}", field=field)
