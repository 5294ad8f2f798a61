"""`rcm wallet ask|bid|reveal|cancel`: a provider's asks and a buyer's sealed bids in a round."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chain.amounts import amount_text
from rcm.commands.common import (
    DEFAULT_RPC_URL,
    JsonOption,
    RpcOption,
    report,
    sent_fields,
    wallet_on,
    with_tx,
)
from rcm.commands.tables import counted

if TYPE_CHECKING:
    from market.onchain import BidEntry
    from market.orders import Verdict
    from rcm.sdk import Wallet

Name = Annotated[str, typer.Argument(help="Wallet name (a keystore under $RCM_HOME/keystores).")]
RoundId = Annotated[int, typer.Option("--round", min=1, help="The round's id.")]
File = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A JSON file.")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Check every bid and print what each would lock, or refuse as the real "
                      "command would (exit 2); sign and send nothing.")]


def ask(name: Name, file: File, round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
        json_out: JsonOption = False) -> None:
    """Post a provider's asks from FILE (the README's ask file; docs/files.md); the round's
    policy locks a bond per unit offered until the round closes."""
    from market.onchain import AskFile
    from market.readers import read_json_file

    asks = read_json_file(file, AskFile).asks
    posted = wallet_on(name, rpc).post_asks(round_id, asks)
    report(json_out, {"round": round_id, "items": posted.items, **sent_fields(posted.sent)},
           with_tx(f"posted {counted(len(asks), 'ask')} to round {round_id} as items "
                   f"{posted.items[0]}..{posted.items[-1]}", posted.sent.tx))


def bid(name: Name, file: File, round_id: RoundId, dry_run: DryRun = False,
        rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """Sign and commit sealed bids from FILE (the README's bid file; docs/files.md): deposit,
    stake and ε. Each bid's risk is the round's rubric's score of its declaration; a bid
    stating less, a job the rubric prohibits or one that cannot win is refused, and then none
    of FILE is sent."""
    from market.orders import read_bids

    entries = read_bids(file)
    wallet = wallet_on(name, rpc)
    if dry_run:
        _dry_run(wallet, round_id, entries, json_out)
        return
    placed = wallet.bids(round_id, entries)
    rows = [{"digest": p.digest, "deposit_micro_usd": p.deposit_micro_usd,
             "stake_wei": p.stake_wei, **sent_fields(p.sent)} for p in placed]
    report(json_out, {"round": round_id, "bids": rows}, "\n".join(
        with_tx(f"committed {p.digest}: deposit {amount_text(p.deposit_micro_usd, 'usd')} USD, "
                f"stake {amount_text(p.stake_wei, 'cst')} CST", p.sent.tx) for p in placed))


def _dry_run(wallet: Wallet, round_id: int, entries: list[BidEntry], json_out: bool) -> None:
    """What `wallet bid` would do: refuse the file as it would (the bids go all or none), or
    say what each bid would lock."""
    verdicts = wallet.bids(round_id, entries, dry_run=True)
    refusal = next((v.refusal for v in verdicts if v.refusal is not None), None)
    if refusal is not None:
        raise refusal
    rows = [{"index": index, "risk_bps": v.risk_bps, "score_bps": v.score_bps,
             "deposit_micro_usd": v.deposit_micro_usd, "stake_wei": v.stake_wei}
            for index, v in enumerate(verdicts)]
    report(json_out, {"round": round_id, "dry_run": True, "bids": rows},
           "\n".join(_verdict_line(index, v) for index, v in enumerate(verdicts)))


def _verdict_line(index: int, verdict: Verdict) -> str:
    return (f"bids[{index}] would commit: risk {_risk(verdict)}, deposit "
            f"{amount_text(verdict.deposit_micro_usd, 'usd')} USD, stake "
            f"{amount_text(verdict.stake_wei, 'cst')} CST (dry run: nothing sent)")


def _risk(verdict: Verdict) -> str:
    """The score the bid stakes for, and the rubric's where the bid states another."""
    score = f"{verdict.score_bps:,} bps"
    if verdict.risk_bps == verdict.score_bps:
        return f"{score} (the rubric's score)"
    return f"{verdict.risk_bps:,} bps (the rubric's score: {score})"


def reveal(name: Name, round_id: RoundId, rpc: RpcOption = DEFAULT_RPC_URL,
           json_out: JsonOption = False) -> None:
    """Reveal this wallet's committed bids of the round (kept since `wallet bid`)."""
    revealed = wallet_on(name, rpc).reveal(round_id)
    rows = [{"digest": r.digest, **sent_fields(r.sent)} for r in revealed]
    report(json_out, {"round": round_id, "revealed": rows},
           "\n".join(with_tx(f"revealed {r.digest}", r.sent.tx) for r in revealed))


def cancel(name: Name, round_id: RoundId,
           digest: Annotated[str | None, typer.Argument(help="The bid's digest; default: all of "
                                                             "this wallet's bids in the round.")]
           = None,
           rpc: RpcOption = DEFAULT_RPC_URL, json_out: JsonOption = False) -> None:
    """Cancel committed bids before bidding closes; the deposit becomes withdrawable."""
    cancelled = wallet_on(name, rpc).cancel(round_id, digest)
    rows = [{"digest": c.digest, **sent_fields(c.sent)} for c in cancelled]
    report(json_out, {"round": round_id, "cancelled": rows},
           "\n".join(with_tx(f"cancelled {c.digest}", c.sent.tx) for c in cancelled))


def register(app: typer.Typer) -> None:
    for command in (ask, bid, reveal, cancel):
        app.command()(command)

