"""Privacy budgets on the PrivacyBudgetLedger: register a dataset, grant, offer and buy ε, and
list what a wallet owns or holds. Checked before sending, like `tokens.operations`: a failing
check raises TokensError naming the field and nothing leaves the machine.

Units: ε in micro-ε (the ledger's token unit), δ in atto-δ (δ × 10¹⁸), prices in micro-USD
per whole ε. A dataset's δ is a per-job cap and a total over all jobs: the ledger charges every
job the cap, so the total is how many jobs at the cap the data owner allows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from chain.amounts import amount_text, epsilon_text
from chain.bid import purpose_id, purpose_name
from chain.contract import ZERO_ADDRESS
from chain.erc20 import allowance, balance_of
from chain.events import events
from chain.ledger import (
    CATEGORY_BITS,
    Dataset,
    Offer,
    category_bits,
    dataset_id,
    held_micro_epsilon,
    registered_categories,
    reserved_delta_atto,
    reserved_micro_epsilon,
)
from chain.policy import ChainPolicy
from chain.system import System
from tokens.errors import TokensError
from tokens.wallets import known_as

if TYPE_CHECKING:
    from chain.contract import Receipt
    from chain.signer import Signer

MICROS_PER_EPSILON = 10**6
ATTO_PER_DELTA = 10**18
UINT64 = 2**64
# `register`'s total δ when none is given: room for this many jobs at the per-job cap.
DEFAULT_JOBS_PER_DELTA_BUDGET = 100


# ---- what users type ----


def _decimal(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise TokensError(f"{text!r} is not a number", field=field) from None
    if not value.is_finite():
        raise TokensError(f"{text!r} is not a number", field=field)
    return value


def epsilon_micros(text: str, field: str = "epsilon", allow_zero: bool = False) -> int:
    """'2.5' ε -> 2500000 micro-ε."""
    value = _decimal(text, field)
    if value < 0 or (value == 0 and not allow_zero):
        raise TokensError(f"must be greater than 0, got {text}", field=field)
    micros = value.scaleb(6)
    if micros != micros.to_integral_value():
        raise TokensError("ε is counted in micro-ε, at most 6 decimal places", field=field)
    if micros >= UINT64:
        raise TokensError(f"{text} ε is more than the ledger can count", field=field)
    return int(micros)


def delta_atto(text: str, field: str = "delta") -> int:
    """'1e-5' -> 10**13: δ is a probability, stored as δ × 10¹⁸."""
    value = _decimal(text, field)
    if not 0 <= value < 1:
        raise TokensError(f"δ must be at least 0 and below 1, got {text}", field=field)
    atto = value.scaleb(18)
    if atto != atto.to_integral_value():
        raise TokensError("δ is counted in units of 1e-18", field=field)
    return int(atto)


def price_micro_usd(text: str, field: str = "price_usd") -> int:
    """'12.5' USD per ε -> 12500000 micro-USD per ε."""
    from chain.amounts import to_units

    units = to_units(text, "usd", field)
    if units >= UINT64:
        raise TokensError(f"{text} USD per ε is more than the ledger can count", field=field)
    return units


def file_content_hash(path: Path) -> bytes:
    """The dataset's content hash: SHA-256 of the file's bytes (what `sha256sum` prints)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as data:
            for chunk in iter(lambda: data.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise TokensError(f"cannot read {path}: {exc.strerror}", field="file") from None
    return digest.digest()


def parse_content_hash(text: str) -> bytes:
    raw = text.removeprefix("0x")
    try:
        value = bytes.fromhex(raw)
    except ValueError:
        value = b""
    if not text.startswith("0x") or len(value) != 32:
        raise TokensError(f"expected 0x and 64 hex digits, got {text!r}", field="content_hash")
    return value


def parse_dataset_id(text: str) -> int:
    """A dataset id in decimal or 0x-hex (as `register` prints it)."""
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise TokensError(f"{text!r} is not a dataset id", field="dataset") from None
    if not 0 < value < 2**96:
        raise TokensError(f"{text!r} is not a dataset id (ids have 96 bits)", field="dataset")
    return value


def hex_dataset_id(dataset: int) -> str:
    """A dataset id as --json documents and the SDK give it: 0x and 64 hex digits."""
    return f"0x{dataset:064x}"


def delta_text(atto: int) -> str:
    """10**13 atto-δ -> '0.00001'."""
    return format(Decimal(atto).scaleb(-18).normalize(), "f")


# ---- actions ----


# `PrivacyBudgetLedger.Budget`'s counters share one storage slot.
MAX_JOBS = 2**24 - 1
MAX_MICRO_EPSILON = 2**40 - 1


def register(
    system: System,
    owner: Signer,
    content_hash: bytes,
    total_micro_epsilon: int,
    max_delta_atto: int,
    total_delta_atto: int,
    purposes: list[str],
    categories: Sequence[str] = (),
) -> tuple[int, Receipt]:
    """Registers a dataset and mints its whole ε budget to the owner; returns its id.
    `categories` are the sensitive kinds of data it holds (`chain.ledger.CATEGORY_BITS`; none:
    public data), which every job on it must declare."""
    unknown = sorted(set(categories) - set(CATEGORY_BITS))
    if unknown:
        raise TokensError(f"{unknown[0]!r} is not a data category: one of "
                          f"{', '.join(CATEGORY_BITS)} (none: public data)", field="categories")
    if max_delta_atto == 0:
        raise TokensError("the per-job δ cap must be greater than 0", field="delta")
    if total_delta_atto < max_delta_atto:
        raise TokensError(
            f"{delta_text(total_delta_atto)} is below the per-job cap "
            f"{delta_text(max_delta_atto)}",
            field="total_delta",
        )
    if total_delta_atto >= ATTO_PER_DELTA:
        raise TokensError(
            f"δ must be below 1, got {delta_text(total_delta_atto)} (by default "
            f"{DEFAULT_JOBS_PER_DELTA_BUDGET} × the per-job cap)",
            field="total_delta",
        )
    if total_delta_atto // max_delta_atto > MAX_JOBS:
        raise TokensError(
            f"the ledger counts at most {MAX_JOBS:,} jobs of the per-job cap; "
            "lower the total or raise the per-job cap", field="total_delta")
    if total_micro_epsilon > MAX_MICRO_EPSILON:
        raise TokensError(f"a dataset's budget is at most "
                          f"{MAX_MICRO_EPSILON / 1e6:,.6f} ε", field="epsilon")
    if not purposes:
        raise TokensError("name at least one purpose the dataset consents to", field="purposes")
    if any(not p.strip() for p in purposes):
        raise TokensError("a purpose name must not be empty", field="purposes")
    dataset = dataset_id(owner.address, content_hash)
    if Dataset.read(system.ledger, dataset).registered:
        raise TokensError(
            f"this wallet already registered that content as dataset {hex(dataset)}",
            field="content_hash",
        )
    call = system.ledger.functions.register(
        content_hash,
        total_micro_epsilon,
        max_delta_atto,
        total_delta_atto,
        sorted({purpose_id(p) for p in purposes}),
        category_bits(categories),
    )
    return dataset, system.chain.send(call, owner)


def grant(system: System, sender: Signer, dataset: int, to: str, amount: int) -> Receipt:
    """Gives `amount` micro-ε of the sender's budget to `to` (an ERC-1155 transfer)."""
    _require_dataset(system, dataset)
    if to == ZERO_ADDRESS:
        raise TokensError("the zero address cannot hold budget", field="to")
    if to == sender.address:
        raise TokensError("is this wallet itself", field="to")
    _require_held(system, sender.address, dataset, amount)
    call = system.ledger.functions.safeTransferFrom(sender.address, to, dataset, amount, b"")
    return system.chain.send(call, sender)


def offer(system: System, seller: Signer, dataset: int, amount: int, price: int) -> Receipt:
    """Offers up to `amount` micro-ε at `price` micro-USD per ε; amount 0 withdraws the offer."""
    _require_dataset(system, dataset)
    if amount:
        _require_held(system, seller.address, dataset, amount)
    elif Offer.read(system.ledger, dataset, seller.address).amount_micro_epsilon == 0:
        raise TokensError(f"0 withdraws an offer, and there is none on {hex(dataset)}",
                          field="epsilon")
    return system.chain.send(system.ledger.functions.offer(dataset, amount, price), seller)


def cost_micro_usd(amount: int, price: int) -> int:
    """What the ledger charges: amount × price, rounded up to the micro-USD."""
    return -(-amount * price // MICROS_PER_EPSILON)


def buy(
    system: System, buyer: Signer, dataset: int, seller: str, amount: int, price: int
) -> Receipt:
    """Buys `amount` micro-ε from `seller`'s offer at the price the buyer expects, approving the
    payment token first if needed."""
    _require_dataset(system, dataset)
    if seller == buyer.address:
        raise TokensError("is this wallet itself", field="seller")
    offered = Offer.read(system.ledger, dataset, seller)
    if offered.amount_micro_epsilon == 0:
        raise TokensError(f"{known_as(seller)} offers no budget of dataset {hex(dataset)}",
                          field="seller")
    if price != offered.price_micro_usd_per_epsilon:
        raise TokensError(
            f"the seller asks {amount_text(offered.price_micro_usd_per_epsilon, 'usd')} "
            f"USD per ε, not {amount_text(price, 'usd')}",
            field="price_usd",
        )
    if amount > offered.amount_micro_epsilon:
        raise TokensError(
            f"{epsilon_text(amount)} ε exceeds the offer of "
            f"{epsilon_text(offered.amount_micro_epsilon)}",
            field="epsilon",
        )
    held = held_micro_epsilon(system.ledger, seller, dataset)
    if amount > held:
        raise TokensError(
            f"{epsilon_text(amount)} ε exceeds the seller's budget of {epsilon_text(held)}",
            field="epsilon",
        )
    cost = cost_micro_usd(amount, price)
    token = system.payment_token
    usd = balance_of(token, buyer.address)
    if cost > usd:
        raise TokensError(
            f"{epsilon_text(amount)} ε costs {amount_text(cost, 'usd')} USD, the wallet "
            f"holds {amount_text(usd, 'usd')}",
            field="epsilon",
        )
    if allowance(token, buyer.address, system.ledger.address) < cost:
        system.chain.send(token.functions.approve(system.ledger.address, cost), buyer)
    call = system.ledger.functions.buy(dataset, seller, amount, price)
    return system.chain.send(call, buyer)


# ---- what a wallet owns or holds ----


class DatasetView(BaseModel):
    """One dataset as a wallet sees it (`id`: 0x and 64 hex digits); the offer's price is per
    whole ε."""

    id: str
    owner: str
    content_hash: str
    total_micro_eps: int
    held_micro_eps: int
    reserved_micro_eps: int  # across all holders: reserved for committed bids
    consumed_micro_eps: int
    max_delta_atto: int
    total_delta_atto: int
    reserved_delta_atto: int
    consumed_delta_atto: int
    purposes: list[str]
    categories: list[str]  # the sensitive data it holds, as registered; none: public data
    offer_micro_eps: int
    offer_price_micro_usd: int


def datasets(system: System, address: str) -> list[DatasetView]:
    """Datasets `address` registered or ever received budget of, rebuilt from the ledger's
    registration and ERC-1155 transfer events, with their current state."""
    ledger = system.ledger
    registered = {
        int(e.args["id"]): bytes(e.args["contentHash"])
        for e in events(system, ledger, "DatasetRegistered", owner=address)
    }
    received = {int(e.args["id"]) for e in events(system, ledger, "TransferSingle", to=address)}
    for batch in events(system, ledger, "TransferBatch", to=address):
        received.update(int(i) for i in batch.args["ids"])
    views, named, categories = [], _policy_purposes(system), registered_categories(system)
    for dataset in sorted(registered.keys() | received):
        state = Dataset.read(ledger, dataset)
        content = registered.get(dataset) or _content_hash(system, dataset)
        offered = Offer.read(ledger, dataset, address)
        views.append(
            DatasetView(
                id=hex_dataset_id(dataset),
                owner=state.owner,
                content_hash="0x" + content.hex(),
                total_micro_eps=state.total_micro_epsilon,
                held_micro_eps=held_micro_epsilon(ledger, address, dataset),
                reserved_micro_eps=reserved_micro_epsilon(ledger, dataset),
                consumed_micro_eps=state.consumed_micro_epsilon,
                max_delta_atto=state.max_delta_atto,
                total_delta_atto=state.total_delta_atto,
                reserved_delta_atto=reserved_delta_atto(ledger, dataset),
                consumed_delta_atto=state.consumed_delta_atto,
                purposes=_purposes(system, dataset, named),
                categories=sorted(categories.get(dataset, ())),
                offer_micro_eps=offered.amount_micro_epsilon,
                offer_price_micro_usd=offered.price_micro_usd_per_epsilon,
            )
        )
    return views


def registered_datasets(system: System) -> list[int]:
    """Every dataset registered on the deployment."""
    return [int(e.args["id"]) for e in events(system, system.ledger, "DatasetRegistered")]


def _purposes(system: System, dataset: int, named: set[str]) -> list[str]:
    consents: dict[bytes, bool] = {}
    for e in events(system, system.ledger, "ConsentSet", id=dataset):
        consents[bytes(e.args["purpose"])] = bool(e.args["consented"])
    return [purpose_name(p, named) for p, consented in consents.items() if consented]


def _policy_purposes(system: System) -> set[str]:
    """The purposes the registered policies give ε limits, by name."""
    return {name for e in events(system, system.policies, "PolicySet")
            for name, _ in ChainPolicy.from_event(e.args["policy"]).epsilon_limits}


def _content_hash(system: System, dataset: int) -> bytes:
    (registered,) = events(system, system.ledger, "DatasetRegistered", id=dataset)
    return bytes(registered.args["contentHash"])


# ---- checks ----


def _require_dataset(system: System, dataset: int) -> None:
    if not Dataset.read(system.ledger, dataset).registered:
        raise TokensError(f"unknown dataset {hex(dataset)}", field="dataset")


def _require_held(system: System, address: str, dataset: int, amount: int) -> None:
    held = held_micro_epsilon(system.ledger, address, dataset)
    if amount > held:
        raise TokensError(
            f"{epsilon_text(amount)} ε exceeds the wallet's budget of "
            f"{epsilon_text(held)} ε in dataset {hex(dataset)}",
            field="epsilon",
        )
