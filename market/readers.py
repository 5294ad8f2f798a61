"""Reading market instances: the JSON format of `market.model`, and the CATS text format of the
combinatorial-auction literature (Leyton-Brown, Pearson & Shoham 2000).

A CATS file becomes a market whose goods are items of capacity 1 with no reserve price, and
whose bids that share a dummy good become one bid with one bundle per line (an XOR). Prices are
kept to the micro-unit, so an optimum found here is an optimum of the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from chain.validation import describe_validation_error, first_problem
from market.errors import MarketError
from market.model import MAX_MICRO_USD, Ask, Bid, Bundle, Item, Market, ResourceKind, Tier
from market.result import Clearing

MICROS = Decimal(1_000_000)
MAX_PRICE = Decimal(MAX_MICRO_USD) / MICROS  # a bundle's value, in the file's units
MAX_GOODS = 2**16  # goods are items, numbered as a round numbers its items (uint16)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class CatsAuction:
    """A CATS file as a market, and where each bundle came from in the file."""

    market: Market
    lines: dict[tuple[str, int], int]  # (bid id, bundle index) -> 0-based bid index in the file

    def in_file_terms(self, clearing: Clearing) -> Clearing:
        """Adds the winners as the file numbers its bids, and welfare in its price units."""
        return clearing.model_copy(update={
            "winners": sorted(self.lines[fill.bid, fill.bundle] for fill in clearing.allocation),
            "objective": float(Decimal(clearing.welfare) / MICROS)})


CATS_OPENINGS = ("goods", "bids", "dummy")  # a CATS file's header lines, after `%` comments


def read_instance(path: Path) -> Market | CatsAuction:
    """A JSON market if the file begins with '{', a CATS file if it begins with a CATS header
    or comment; anything else, an empty file included, is refused naming the file."""
    text = _read_text(path)
    first = next(iter(text.split(maxsplit=1)), "")
    if first.startswith("{"):
        return read_market_json(text, path)
    if first.startswith("%") or first in CATS_OPENINGS:
        return read_cats(text)
    found = f"it begins {first[:20]!r}" if first else "it is empty"
    raise MarketError(f"{path}: neither a JSON market nor a CATS file ({found})")


def read_json_file(path: Path, model: type[M]) -> M:
    """A JSON file as `model`; an error names the file and the first bad field."""
    text = _read_text(path)
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        field, reason = first_problem(exc)
        raise MarketError(f"{reason} (in {path})", field=field or None) from exc


def read_market_json(text: str, path: Path | None = None) -> Market:
    """An error names its field, or if the text is not JSON at all, `path`, the file it came
    from."""
    try:
        return Market.model_validate_json(text)
    except ValidationError as exc:
        described = describe_validation_error(exc)
        unparsed = path is not None and exc.errors()[0]["type"] == "json_invalid"
        raise MarketError(f"{path}: {described}" if unparsed else described) from exc


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MarketError(f"{path}: cannot read: {exc}") from exc


def read_cats(text: str) -> CatsAuction:
    header: dict[str, int] = {}
    bid_lines: list[tuple[int, Decimal, list[int]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split()
        if not tokens or tokens[0].startswith("%"):
            continue
        if tokens[0] in ("goods", "bids", "dummy") and len(bid_lines) == 0:
            header[tokens[0]] = _header_count(tokens, number)
            continue
        if "goods" not in header or "bids" not in header:
            raise MarketError(f"line {number}: expected the 'goods' and 'bids' header first")
        bid_lines.append((number, *_bid_line(tokens, number, header)))
    if "bids" not in header:
        raise MarketError("CATS file: no 'goods'/'bids' header")
    if len(bid_lines) != header["bids"]:
        raise MarketError(f"line {len(text.splitlines())}: header says {header['bids']} bids, "
                          f"found {len(bid_lines)}")
    return _cats_market(header["goods"], bid_lines)


def _header_count(tokens: list[str], number: int) -> int:
    if len(tokens) != 2 or not tokens[1].isdigit():
        raise MarketError(f"line {number}: expected '{tokens[0]} COUNT'")
    count = int(tokens[1])
    if tokens[0] == "goods" and count > MAX_GOODS:
        raise MarketError(f"line {number}: {count} goods, at most {MAX_GOODS}")
    return count


def _bid_line(tokens: list[str], number: int, header: dict[str, int]
              ) -> tuple[Decimal, list[int]]:
    """Price and goods (dummy goods included) of `INDEX PRICE GOOD... #`."""
    if len(tokens) < 4 or tokens[-1] != "#":
        raise MarketError(f"line {number}: expected 'INDEX PRICE GOOD... #'")
    try:
        price = Decimal(tokens[1])
        goods = [int(token) for token in tokens[2:-1]]
    except (InvalidOperation, ValueError):
        raise MarketError(f"line {number}: expected 'INDEX PRICE GOOD... #'") from None
    if not tokens[0].isdigit():
        raise MarketError(f"line {number}: bid index {tokens[0]!r} is not a number")
    if not price.is_finite() or price < 0:
        raise MarketError(f"line {number}: price {tokens[1]} is not a non-negative number")
    if price > MAX_PRICE:
        raise MarketError(f"line {number}: price {tokens[1]} is above the largest bundle "
                          f"value, {MAX_PRICE}")
    limit = header["goods"] + header.get("dummy", 0)
    for good in goods:
        if not 0 <= good < limit:
            raise MarketError(f"line {number}: good {good} is outside 0..{limit - 1}")
    if len(set(goods)) != len(goods):
        raise MarketError(f"line {number}: a good is named twice")
    return price, goods


def _cats_market(num_goods: int, bid_lines: list[tuple[int, Decimal, list[int]]]
                 ) -> CatsAuction:
    groups: dict[int, list[int]] = {}  # dummy good -> indices into bid_lines
    for index, (number, _, goods) in enumerate(bid_lines):
        dummies = [good for good in goods if good >= num_goods]
        if len(dummies) > 1:
            raise MarketError(f"line {number}: a bid may name at most one dummy good")
        if len(dummies) == len(goods):
            raise MarketError(f"line {number}: the bid names no real good")
        key = dummies[0] if dummies else -1 - index  # a bid without a dummy is its own group
        groups.setdefault(key, []).append(index)
    items = [Item(id=f"g{good}", kind=ResourceKind.GPU, region="cats", slot="0",
                  tier=Tier.STANDARD, unit="good") for good in range(num_goods)]
    asks = [Ask(provider="cats", item=item.id, capacity=1, reserve_price=0) for item in items]
    bids: list[Bid] = []
    lines: dict[tuple[str, int], int] = {}
    for members in sorted(groups.values()):
        bid_id = f"b{members[0]}"
        bundles = []
        for position, index in enumerate(members):
            number, price, goods = bid_lines[index]
            value = int((price * MICROS).to_integral_value(ROUND_HALF_EVEN))
            bundles.append(Bundle(items={f"g{good}": 1 for good in goods if good < num_goods},
                                  value=value))
            lines[bid_id, position] = index
        bids.append(Bid(id=bid_id, buyer=bid_id, bundles=bundles))
    try:
        market = Market(items=items, asks=asks, bids=bids)
    except ValidationError as exc:  # the sum of every price: each is bounded above
        raise MarketError(describe_validation_error(exc)) from None
    return CatsAuction(market, lines)
