"""Unix times as people read them, for messages from every layer."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(timestamp: int) -> str:
    """A unix time as people read it: `2027-06-07 12:00:00 UTC`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def unix_and_utc(timestamp: int) -> str:
    """A unix time as the chain counts it and as people read it, for errors about deadlines:
    `1767225600 (2026-01-01 00:00:00 UTC)`; the seconds alone past the calendar's year 9999
    (a bid's default expiry is 2^63 - 1)."""
    try:
        return f"{timestamp} ({utc_text(timestamp)})"
    except (OverflowError, ValueError, OSError):
        return str(timestamp)


_DURATION_UNITS = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))


def duration_text(seconds: int) -> str:
    """A length of time as people read it, exactly: 172800 -> `2 d`, 602050 ->
    `6 d 23 h 14 min 10 s`."""
    parts = []
    for unit, size in _DURATION_UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count:,} {unit}")
    return " ".join(parts) or "0 s"
