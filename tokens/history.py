"""A wallet's history, rebuilt from the events of the deployment's contracts: tokens in and
out, stake and bond, bids, futures and ε budgets, oldest first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from chain.contract import ZERO_ADDRESS
from chain.events import emitted
from tokens.budgets import hex_dataset_id

if TYPE_CHECKING:
    from chain.contract import Contract, Event
    from chain.system import System

CST_WEI, MICRO_USD, MICRO_EPS, FUTURES = "cst_wei", "micro_usd", "micro_eps", "futures"

# SafetyVault's events, all about an `account`: every change to its stake or bond.
_VAULT = {
    "Staked": "staked", "Unstaked": "unstaked", "StakeLocked": "stake locked",
    "StakeReleased": "stake released", "StakeSlashed": "stake slashed", "Bonded": "bonded",
    "UnbondingStarted": "unbonding started", "Withdrawn": "CST withdrawn",
    "BondLocked": "bond locked", "BondReleased": "bond released",
    "LockedBondSeized": "bond seized",
}
# ClearingHouse's events about one of the wallet's bids, by its digest.
_BID = {"Revealed": "bid revealed", "Cancelled": "bid cancelled",
        "Forfeited": "bid forfeited", "Released": "bid released", "Issued": "future won"}


class Entry(BaseModel):
    """One thing that happened to the wallet. `amount` is in `unit` (`cst_wei`, `micro_usd`,
    `micro_eps` or `futures`), None where nothing was counted (a reveal); `ref` is what the entry
    is about: a bid's digest or a future's id (0x-hex), a dataset's id, a round."""

    block: int
    timestamp: int
    what: str
    amount: int | None
    unit: str | None
    counterparty: str | None
    ref: str | None
    tx: str


def history(system: System, address: str) -> list[Entry]:
    """What the chain records of `address`, oldest first. A token transfer to or from one of
    the deployment's contracts is not listed: that contract's own event says what it was (a
    stake, a deposit, a withdrawal). A mint or burn is listed only in a transaction that
    records nothing else of the wallet (a faucet's mint, a claim), not under the registration
    or the bid it is part of."""
    contracts = [system.cst, system.payment_token, system.vault, system.clearing_house,
                 system.ledger, system.futures]
    found = emitted(system, contracts)
    own = {system.vault.address, system.clearing_house.address, system.ledger.address,
           system.futures.address}
    house = system.clearing_house
    bids = {bytes(e.args["digest"]) for c, e in found
            if c is house and e.name == "Committed" and e.args["bidder"] == address}
    recorded: list[tuple[Event, dict[str, Any]]] = []
    transfers: list[tuple[Event, dict[str, Any]]] = []
    for contract, event in found:
        if event.name in ("Transfer", "TransferSingle", "TransferBatch"):
            transfers += [(event, t) for t in _transfers(system, contract, event, address)
                          if t["counterparty"] not in own]
        else:
            recorded += [(event, e) for e in _recorded(system, contract, event, address, bids)]
    acted = {event.transaction_hash for event, _ in recorded}
    listed = recorded + [(event, t) for event, t in transfers
                         if t["counterparty"] != ZERO_ADDRESS
                         or event.transaction_hash not in acted]
    listed.sort(key=lambda pair: (pair[0].block_number, pair[0].log_index))
    times = system.chain.block_timestamps([event.block_number for event, _ in listed])
    return [Entry(block=event.block_number, timestamp=times[event.block_number],
                  tx="0x" + event.transaction_hash.hex(),
                  **{"counterparty": None, "ref": None, **fields})
            for event, fields in listed]


def _recorded(system: System, contract: Contract, event: Event, address: str,
              bids: set[bytes]) -> list[dict[str, Any]]:
    """The entries a contract's own event (not a token transfer) makes for the wallet."""
    args, name = event.args, event.name
    if contract is system.vault:
        if name not in _VAULT or args.get("account") != address:
            return []
        return [{"what": _VAULT[name], "amount": args.get("amount", args.get("burned")),
                 "unit": CST_WEI, "counterparty": args.get("recipient")}]
    if contract is system.clearing_house:
        return _house(event, address, bids)
    if contract is system.ledger:
        return _ledger(event, address)
    return []


def _house(event: Event, address: str, bids: set[bytes]) -> list[dict[str, Any]]:
    args, name = event.args, event.name
    digest = args.get("digest", args.get("futureId"))
    if name == "Committed" and args["bidder"] == address:
        return [{"what": "bid committed", "amount": args["terms"]["maxValueMicroUsd"],
                 "unit": MICRO_USD, "ref": _hex(digest)}]
    if name in _BID and digest in bids:
        paid = args.get("feeMicroUsd", args.get("paymentMicroUsd"))
        return [{"what": _BID[name], "amount": paid, "unit": MICRO_USD if paid is not None
                 else None, "ref": _hex(digest)}]
    if name == "Redeemed" and args["redeemer"] == address:
        return [{"what": "future redeemed", "amount": args["stakeWei"], "unit": CST_WEI,
                 "ref": _hex(digest)}]
    if name == "Expired" and args["holder"] == address:
        return [{"what": "future expired", "amount": None, "unit": None, "ref": _hex(digest)}]
    if name in ("Deposited", "Withdrawn") and args["account"] == address:
        return [{"what": f"USD {name.lower()}", "amount": args["amountMicroUsd"],
                 "unit": MICRO_USD}]
    if name == "VerdictEnforced" and args["paid"] == address:
        return [{"what": "paid for a job", "amount": args["paidMicroUsd"], "unit": MICRO_USD,
                 "ref": _hex(args["jobId"])}]
    if name == "AskPosted" and args["provider"] == address:
        return [{"what": "ask posted", "amount": None, "unit": None,
                 "ref": f"round {args['roundId']} item {args['item']}"}]
    return []


def _ledger(event: Event, address: str) -> list[dict[str, Any]]:
    args, name = event.args, event.name
    dataset = hex_dataset_id(args["id"]) if "id" in args else None
    if name == "DatasetRegistered" and args["owner"] == address:
        return [{"what": "ε budget registered", "amount": args["totalMicroEpsilon"],
                 "unit": MICRO_EPS, "ref": dataset}]
    if name == "Offered" and args["seller"] == address:
        return [{"what": "ε offered", "amount": args["amountMicroEpsilon"], "unit": MICRO_EPS,
                 "ref": dataset}]
    if name == "Bought" and address in (args["seller"], args["buyer"]):
        sold = args["seller"] == address
        return [{"what": "ε sold" if sold else "ε bought", "amount": args["amountMicroEpsilon"],
                 "unit": MICRO_EPS, "counterparty": args["buyer" if sold else "seller"],
                 "ref": dataset}]
    return []


def _transfers(system: System, contract: Contract, event: Event, address: str
               ) -> list[dict[str, Any]]:
    """The wallet's side of an ERC-20 or ERC-1155 transfer: each id of a batch on its own."""
    args = event.args
    sender, recipient = args["from"], args["to"]
    if address not in (sender, recipient):
        return []
    moved: list[tuple[str | None, int]]
    if event.name == "Transfer":
        moved = [(None, args["value"])]
        unit = CST_WEI if contract is system.cst else MICRO_USD
    else:
        ids, values = ((args["ids"], args["values"]) if event.name == "TransferBatch"
                       else ([args["id"]], [args["value"]]))
        futures = contract is system.futures
        moved = [(_hex(i.to_bytes(32, "big")) if futures else hex_dataset_id(i), v)
                 for i, v in zip(ids, values, strict=True)]
        unit = FUTURES if futures else MICRO_EPS
    counterparty = recipient if sender == address else sender
    return [{"what": _transfer_what(unit, sender == address, counterparty == ZERO_ADDRESS),
             "amount": value, "unit": unit, "counterparty": counterparty, "ref": ref}
            for ref, value in moved]


_ASSET = {CST_WEI: "CST", MICRO_USD: "USD", MICRO_EPS: "ε", FUTURES: "future"}


_MINTED, _CLAIMED = "minted", "claimed"  # the verbs of tokens made, as `mint_or_burn` reads them


def _transfer_what(unit: str, sent: bool, minted_or_burned: bool) -> str:
    if not minted_or_burned:
        verb = "sent" if sent else "received"
    elif sent:
        verb = "burned"
    else:
        # a future is minted only by its winner's claim
        verb = _CLAIMED if unit == FUTURES else _MINTED
    return f"{_ASSET[unit]} {verb}"


def mint_or_burn(entry: Entry) -> str | None:
    """`mint` or `burn` for an entry whose counterparty is the zero address, which nobody
    holds: tokens made (a faucet's mint, a claim) or destroyed (a burn, a bond seized and
    burned)."""
    if entry.counterparty != ZERO_ADDRESS:
        return None
    return "mint" if entry.what.endswith((_MINTED, _CLAIMED)) else "burn"


def _hex(raw: Any) -> str:
    return "0x" + bytes(raw).hex()
