"""Output for people: at most 80 columns whatever the terminal, or none (a pipe, a test), with
0x ids and addresses shortened (--json has them whole) and nothing cut off."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Collection, Mapping, Sequence

from chain.amounts import counted as counted  # where the commands have always found it

UNBROKEN = re.compile(r"`[^`]*`|\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC")
NO_BREAK = "\x00"
WIDTH = 80
GAP = "  "
MIN_TEXT = 12  # a text column narrower than this wraps too many words


def short(hex_text: str | None) -> str:
    """0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f -> 0x2361…1E8f: enough to tell apart, and to
    find in full under --json."""
    return "" if hex_text is None else f"{hex_text[:6]}…{hex_text[-4:]}"


def account(address: str | None, names: Mapping[str, str]) -> str:
    """An address in a table: the name of the wallet here that holds it, from `names`
    (`tokens.wallets.names_by_address()`, read once per table), else `short`."""
    return (address and names.get(address.lower())) or short(address)


def item_text(kind: str, region: str, tier: str) -> str:
    """What a round's item is, as `round status` and `wallet futures` both name it:
    `gpu, euw1, certified tier`."""
    return f"{kind}, {region}, {tier} tier"


def paragraph(text: str) -> str:
    """Prose wrapped to the width, continuation lines indented."""
    # Never inside a word: ids, amounts and names like gpu-euw1-w49 stay whole to copy; nor
    # inside a `command` to paste or a time (2026-12-04 16:54 UTC).
    kept = UNBROKEN.sub(lambda found: found.group().replace(" ", NO_BREAK), text)
    wrapped = textwrap.fill(kept, WIDTH, subsequent_indent="    ", break_long_words=False,
                            break_on_hyphens=False)
    return wrapped.replace(NO_BREAK, " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "",
          right: Collection[int] = (), below: Sequence[str] = ()) -> str:
    """Columns two spaces apart under dashed headers (none when `headers` is empty); the
    columns `right` (amounts) aligned right. Where the table is too wide, its cells wrap onto
    more lines: text columns' first, the widest first (Rich's tables would cut them short with
    an ellipsis instead). `below[i]`, where given, is a line under row i across the columns,
    indented: a whole id (a tx hash) that would leave a column of its own no room beside it."""
    columns = len(headers) if headers else max(map(len, rows), default=0)
    heads = list(headers) or [""] * columns
    widths = [max(len(line) for cell in (heads[i], *(row[i] for row in rows))
                  for line in cell.splitlines() or [""])
              for i in range(columns)]
    # Narrowed first down to a floor that breaks no word of a text column and no amount of a
    # right one (its header wraps instead); past every floor, the widest text column.
    floors = [max((len(part) for cell in (*(row[i] for row in rows), *(
                  [] if i in right else [heads[i]])) for part in cell.split()), default=1)
              for i in range(columns)]
    while sum(widths) + len(GAP) * (len(widths) - 1) > WIDTH:
        narrowed = max(range(len(widths)), key=lambda i: (
            widths[i] > floors[i], i not in right and widths[i] > MIN_TEXT, widths[i]))
        widths[narrowed] -= 1
    lines = [paragraph(title)] if title else []
    ruled = [heads, ["-" * width for width in widths]] if headers else []
    notes = [""] * len(ruled) + list(below)
    for number, cells in enumerate((*ruled, *rows)):
        # Names such as `nhs-sepsis-warning` stay whole where they fit.
        wrapped = [[part for line in cell.splitlines()
                    for part in textwrap.wrap(line, width, break_on_hyphens=False)]
                   for cell, width in zip(cells, widths, strict=True)]
        for depth in range(max(1, *map(len, wrapped))):
            parts = []
            for i, (cell, width) in enumerate(zip(wrapped, widths, strict=True)):
                text = cell[depth] if depth < len(cell) else ""
                parts.append(text.rjust(width) if i in right else text.ljust(width))
            lines.append(GAP.join(parts).rstrip())
        if number < len(notes) and notes[number]:
            lines.append(paragraph(GAP + notes[number]))
    return "\n".join(lines)


class Table:
    """A table built row by row, laid out by `table()` when printed, its columns of numbers
    aligned right."""

    def __init__(self, *headers: str, title: str = "") -> None:
        self.headers, self.title = headers, title
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)

    def __str__(self) -> str:
        numeric = {i for i in range(len(self.rows[0]) if self.rows else 0)
                   if all(_NUMBER.fullmatch(row[i]) for row in self.rows)}
        return table(self.headers, self.rows, self.title, numeric)


_NUMBER = re.compile(r"-?[\d,]+(\.\d+)?")
