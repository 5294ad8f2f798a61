"""`rcm round`: the regulator's round policy, and a round's life on the auctioneer's side —
open it, watch it, close its book, challenge its result, price it with the oracle quorum,
finalise it. `rcm auction run` clears and posts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chain.amounts import grouped
from chain.times import utc_text
from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    load_system,
    open_wallet,
    print_json,
    report,
    tx_summary,
    with_tx,
)
from rcm.commands.tables import account, counted, item_text, paragraph, short, table

if TYPE_CHECKING:
    from chain.clearing_house import Round
    from chain.system import System
    from market.round_book import Book
    from rcm.sdk import RoundView

app = typer.Typer(no_args_is_help=True,
                  help="Round policy; open, watch, close, challenge, price and finalise rounds.")

RoundId = Annotated[int, typer.Argument(min=1, max=2**32 - 1, help="The round's id.")]
Wallet = Annotated[str, typer.Option("--wallet", help="Wallet that signs (a keystore name).")]
Seconds = Annotated[int, typer.Option(min=1, help="Length of the phase, seconds.")]
GOVERNANCE = "governance"
PHASE_ENDS = ("commit", "reveal", "post", "challenge")


@app.command("list")
def list_(rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """Every round, oldest first: its phase, policy, when bidding and challenges end (with
    --json every phase's end; challenges extend the last), asks and bids committed."""
    from rcm.sdk import Market

    rounds = Market(load_system(rpc)).rounds()
    if json_out:
        print_json([_listed(view) for view in rounds])
    else:
        _print_rounds(rounds)


def _print_rounds(rounds: list[RoundView]) -> None:
    rows = []
    for view in rounds:
        ends = _phase_ends(view.state)
        rows.append([str(view.round_id), view.phase.name.lower(), str(view.state.policy_id),
                     utc_text(ends[0])[:16], utc_text(ends[-1])[:16],
                     str(view.state.item_count), str(view.bid_count)])
    typer.echo(table(["round", "phase", "policy", "bids until", "challenges until", "asks",
                      "bids"], rows, title="rounds (UTC)", right={5, 6}))


@app.command("open")
def open_(
    commit: Seconds = 3_600,
    reveal: Seconds = 3_600,
    post: Seconds = 3_600,
    challenge: Seconds = 3_600,
    wallet: Wallet = GOVERNANCE,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Open a round (AUCTIONEER_ROLE) under the regulator's current policy: commit, reveal,
    post and challenge phases in a row, from now."""
    from chain.settlement import Deadlines

    system, account = open_wallet(wallet, rpc)
    now = system.chain.latest_timestamp()
    deadlines = Deadlines.after(now, commit, reveal, post, challenge)
    house = system.clearing_house
    receipt = system.chain.send(house.functions.openRound(deadlines.as_args()), account)
    opened = house.events_in(receipt, "RoundOpened")[0].args
    round_id = int(opened["roundId"])
    data = {"round": round_id, "policy_id": int(opened["policyId"]),
            "deadlines": _deadlines(deadlines.as_args()), **tx_summary(receipt)}
    report(json_out, data, with_tx(f"opened round {round_id} under policy {data['policy_id']}: "
                                   f"bids until {utc_text(deadlines.commit_timestamp)}",
                                   data["tx"]))


@app.command()
def policy(
    file: Annotated[Path | None, typer.Argument(
        exists=True, dir_okay=False,
        help="A policy to register (JSON: {\"policy\": market.model.Policy, \"rates\": {…}, "
             "\"rubric\": TOML path}); without it, print the current one in the same form.")
    ] = None,
    wallet: Wallet = GOVERNANCE,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """The regulator's round policy: rules the chain enforces on every round opened under it
    (risk bands and tiers, risk caps, ε per purpose, equity reservation), pricing weights,
    bond, slash and window rates, and the risk rubric bids are scored with (its hash; a copy
    is kept under $RCM_HOME/rubrics). Registering one (REGULATOR_ROLE) makes it current;
    rounds already open keep theirs."""
    from chain.policy import current_policy_id
    from market.onchain import PolicyFile
    from market.readers import read_json_file
    from market.round_book import read_policy
    from market.rubrics import keep_rubric, policy_rubric_source

    if file is None:
        system = load_system(rpc)
        policy_id = current_policy_id(system.policies)
        current = PolicyFile.from_chain(read_policy(system, policy_id))
        document = {"policy_id": policy_id, **current.model_dump(mode="json")}
        if json_out:
            print_json(document)
        else:
            typer.echo(current.model_dump_json(indent=2))
            # On stderr: stdout is the file `round policy FILE` registers as it is.
            typer.echo(f"(policy {policy_id}, current)", err=True)
        return
    policy_file = read_json_file(file, PolicyFile)
    # Kept before anything is sent: bids on this machine find the rubric by the hash.
    rubric_hash = keep_rubric(policy_rubric_source(policy_file.rubric, file.parent))
    chain_policy = policy_file.to_chain(rubric_hash)
    system, account = open_wallet(wallet, rpc)
    receipt = system.chain.send(system.policies.functions.setPolicy(chain_policy.as_args()),
                                account)
    registered = system.policies.events_in(receipt, "PolicySet")
    policy_id = int(registered[0].args["policyId"])
    sent = tx_summary(receipt)
    report(json_out, {"policy_id": policy_id, **sent},
           with_tx(f"registered policy {policy_id} (rubric 0x{rubric_hash.hex()}); rounds opened "
                   "from now on pin it", sent["tx"]))


@app.command()
def status(round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """The round's phase, result, items and every bid's state; once cleared (by `rcm auction
    run` on this machine), why each bid won or lost."""
    from market.round_book import read_book
    from market.settlement import load_result

    system = load_system(rpc)
    book = read_book(system, round_id)
    document = _status(system, book, load_result(system, round_id))
    if json_out:
        print_json(document)
    else:
        _print_status(document)


@app.command()
def close(round_id: RoundId, wallet: Wallet = GOVERNANCE, rpc: RpcOption = DEFAULT_RPC_URL,
          json_out: JsonOption = False) -> None:
    """Close the round's book once the reveal phase is over: every commitment left unrevealed
    is released less what the policy makes it forfeit. Anyone may do it."""
    from market.round_book import read_book
    from market.settlement import forfeit_unrevealed

    system, account = open_wallet(wallet, rpc)
    receipts = forfeit_unrevealed(system, account, read_book(system, round_id))
    report(json_out, {"round": round_id, "forfeited_count": len(receipts),
                      **tx_summary(receipts)},
           f"round {round_id} closed: {counted(len(receipts), 'unrevealed bid')} forfeited")


@app.command("challenge")
def challenge_(
    round_id: RoundId,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="A result, as `auction run` saves it.")],
    wallet: Wallet = GOVERNANCE,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Replace the standing result with a better allocation (one that beats its welfare by the
    policy's step). The challenge locks the policy's challenger bond; it reopens the window for
    an answer."""
    from market.round_book import read_book
    from market.settlement import challenge, read_result_file

    result = read_result_file(file)
    system, account = open_wallet(wallet, rpc)
    receipts = challenge(system, account, read_book(system, round_id), result)
    report(json_out, {"round": round_id, "welfare_micro_usd": result.welfare,
                      **tx_summary(receipts)},
           f"round {round_id}: result replaced, welfare {grouped(result.welfare, 'usd')} USD")


@app.command()
def price(
    round_id: RoundId,
    nodes: Annotated[str, typer.Option(help="Comma-separated oracle node URLs.")],
    wallet: Wallet = GOVERNANCE,
    rpc: RpcOption = DEFAULT_RPC_URL,
    json_out: JsonOption = False,
) -> None:
    """Price the round's final allocation once its challenge window has closed: every node
    recomputes the Ethical Pricing Function from the chain and signs; k matching reports go on
    chain. Anyone may do it."""
    from chain.policy_oracle import OracleSet
    from market.settlement import submit_prices
    from oracle.errors import OracleError
    from oracle.quorum import choose_prices, collect_prices

    urls = [url.strip() for url in nodes.split(",") if url.strip()]
    if not urls:
        raise OracleError("--nodes: give at least one node URL")
    system, account = open_wallet(wallet, rpc)
    quorum = choose_prices(collect_prices(round_id, urls), OracleSet.read(system))
    receipt = submit_prices(system, account, quorum.report, quorum.signatures)
    paid = sum(quorum.report.payments_micro_usd)
    report(json_out, {"round": round_id, "payments_micro_usd": paid,
                      "signers": [signer for signer, _ in quorum.signatures],
                      **tx_summary(receipt)},
           with_tx(f"round {round_id} priced: "
                   f"{counted(len(quorum.report.payments_micro_usd), 'payment')}, "
                   f"{grouped(paid, 'usd')} USD in all", tx_summary(receipt)["tx"]))


@app.command()
def finalise(round_id: RoundId, wallet: Wallet = GOVERNANCE, rpc: RpcOption = DEFAULT_RPC_URL,
             json_out: JsonOption = False) -> None:
    """Issue the winners' futures, release the losers and the round's bonds, once the round
    is final (priced, or its pricing window passed: winners then pay their reserve cost).
    Anyone may do it; safe to repeat."""
    from market.round_book import read_book
    from market.settlement import settle

    system, account = open_wallet(wallet, rpc)
    receipts = settle(system, account, read_book(system, round_id))
    report(json_out, {"round": round_id, **tx_summary(receipts)},
           f"round {round_id} finalised in {counted(len(receipts), 'transaction')}")


@app.command()
def expire(round_id: RoundId, wallet: Wallet = GOVERNANCE, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """End what the round's futures still lock once their time is up: a future never redeemed
    by the end of its delivery expires (its provider is paid, the ε goes back to its holder);
    a job with no verdict by its deadline times out (its payment goes to the treasury, the
    buyer's stake and the provider's slash are burned). Anyone may do it; safe to repeat."""
    from tokens.futures import end_deliveries

    system, account = open_wallet(wallet, rpc)
    ended = end_deliveries(system, account, round_id)
    report(json_out, {"round": round_id, "expired": ["0x" + d.hex() for d in ended.expired],
                      "timed_out": ["0x" + d.hex() for d in ended.timed_out],
                      **tx_summary(ended.receipts)},
           f"round {round_id}: {counted(len(ended.expired), 'future')} expired, "
           f"{counted(len(ended.timed_out), 'job')} timed out")


def _status(system: System, book: Book, result: Any) -> dict[str, Any]:
    from chain.clearing_house import Allocation, Result
    from chain.settlement import SolverStatus
    from market.onchain import market_item
    from market.round_book import read_batches

    house = system.clearing_house
    outcome: dict[str, str] = {}
    if result is not None:
        outcome |= {fill.bid: f"won bundle {fill.bundle}" for fill in result.allocation}
        outcome |= {loss.bid: f"lost: {loss.reason} — {loss.detail}" for loss in result.losing}
    state = book.state
    version = state.standing_version
    standing = Result.read(house, book.round_id, version) if version else None
    awarded = {a.bid_digest for batch in read_batches(system, book.round_id, version)
               for a in batch} if version else set()
    return {
        "round": book.round_id,
        "phase": book.phase.name.lower(),
        "policy_id": state.policy_id,
        "deadlines": _deadlines(_phase_ends(state)),
        "result": None if standing is None else {
            "version": version, "poster": standing.poster, "fill_count": standing.fill_count,
            "welfare_micro_usd": standing.welfare_micro_usd,
            # a challenge claims nothing of a solver; only the auctioneer's post does
            "claimed": (SolverStatus(standing.solver_status).name.lower()
                        if standing.solver_status else None),
            "bound_micro_usd": standing.bound_micro_usd, "priced": state.priced,
            "issued_count": state.issued_count, "closed": state.closed},
        "items": [{
            "item": a.item, "label": market_item(a.item, a.ask).label,
            "provider": a.provider, "kind": a.ask.resource,
            "region": a.ask.region, "slot_starts_at": a.ask.slot_start_timestamp,
            "tier": a.ask.tier_name, "unit": a.ask.unit, "capacity_units": a.ask.capacity,
            "allocated_units": Allocation.read(house, book.round_id, version,
                                              a.item).allocated_units,
            "reserve_price_micro_usd": a.ask.reserve_price_micro_usd,
        } for a in book.asks],
        "bids": [{
            "digest": "0x" + digest.hex(), "bidder": _unless_zero(record.bidder),
            "status": record.status.name.lower(), "in_result": digest in awarded,
            "deposit_micro_usd": record.deposit_micro_usd,
            "payment_micro_usd": record.payment_micro_usd,
            "outcome": outcome.get("0x" + digest.hex()),
        } for digest, record in book.records.items()],
    }


def _listed(view: RoundView) -> dict[str, Any]:
    state = view.state
    return {"round": view.round_id, "phase": view.phase.name.lower(),
            "policy_id": state.policy_id, "deadlines": _deadlines(_phase_ends(state)),
            "item_count": state.item_count, "bid_count": view.bid_count, "closed": state.closed}


def _phase_ends(state: Round) -> tuple[int, int, int, int]:
    """When bidding, revealing, posting and challenging end; challenges extend the last."""
    deadlines = state.deadlines
    return (deadlines.commit_timestamp, deadlines.reveal_timestamp, deadlines.post_timestamp,
            state.challenge_end_timestamp)


def _deadlines(ends: tuple[int, ...]) -> dict[str, int]:
    """Each phase's end in unix seconds, `commit_ends_at` … `challenge_ends_at`."""
    return {f"{phase}_ends_at": end for phase, end in zip(PHASE_ENDS, ends, strict=True)}


def _unless_zero(address: str) -> str | None:
    """An address, or None for the zero address (a field not written yet)."""
    return address if int(address, 16) else None


def _print_status(document: dict[str, Any]) -> None:
    from tokens.wallets import names_by_address

    names = names_by_address()
    ends = {phase: utc_text(document["deadlines"][f"{phase}_ends_at"]) for phase in PHASE_ENDS}
    typer.echo(paragraph(
        f"round {document['round']} (policy {document['policy_id']}): {document['phase']} "
        f"phase; bids until {ends['commit']}, reveals until {ends['reveal']}, result until "
        f"{ends['post']}, challenges until {ends['challenge']}"))
    items = [[str(item["item"]), item_text(item["kind"], item["region"], item["tier"]),
              utc_text(item["slot_starts_at"])[:16], str(item["capacity_units"]),
              str(item["allocated_units"]), grouped(item["reserve_price_micro_usd"], "usd"),
              account(item["provider"], names)]
             for item in document["items"]]
    typer.echo("\n" + table(["item", "what", "slot (UTC)", "units", "sold", "reserve USD",
                             "provider"], items, title="items", right={3, 4, 5}))
    result = document["result"]
    bids = [[short(bid["digest"]), account(bid["bidder"], names) or "(sealed)", bid["status"],
             grouped(bid["deposit_micro_usd"], "usd"), _payment(bid, document),
             bid["outcome"] or ""] for bid in document["bids"]]
    typer.echo("\n" + table(["bid", "bidder", "status", "deposit USD", "pays USD", "outcome"],
                             bids, title="bids", right={3, 4}))
    if result:
        claim = (f" ({result['claimed']}, bound {grouped(result['bound_micro_usd'], 'usd')})"
                 if result["claimed"] else " (a challenge)")
        typer.echo("\n" + paragraph(
            f"result {result['version']}: {counted(result['fill_count'], 'fill')}, welfare "
            f"{grouped(result['welfare_micro_usd'], 'usd')} USD{claim}, by {result['poster']}; "
            f"{'priced' if result['priced'] else 'not priced'}, "
            f"{counted(result['issued_count'], 'future')} issued"))


def _payment(bid: dict[str, Any], status: dict[str, Any]) -> str:
    """What a bid pays, as its record says. A winner's record says 0 until its future is
    issued (`round finalise`): at the quorum's price, or at its bundle's reserve cost once the
    pricing window has passed unpriced."""
    if not (bid["in_result"] and bid["status"] == "revealed"):
        return grouped(bid["payment_micro_usd"], "usd")
    if status["result"]["priced"] or status["phase"] == "final":
        return "pending until issued"
    return "pending until priced"
