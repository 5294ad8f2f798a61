"""`rcm risk assess`: a job's safety risk as the regulator's rubric scores its declaration, and
each factor's share, so a buyer sees why its job stakes what it stakes. The risk package is
imported inside the command so that `rcm risk --help` stays instant."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rcm.commands.common import JsonOption, print_json

if TYPE_CHECKING:
    from risk.assess import Assessment
    from risk.rubric import Rubric

app = typer.Typer(no_args_is_help=True,
                  help="Score a job's safety risk with the regulator's rubric.")


# Without a callback typer runs a lone command as the group itself: `rcm risk FILE`.
@app.callback()
def _group() -> None:
    pass


@app.command()
def assess(
    declaration: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                                help="A workload declaration (JSON).")],
    rubric: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False,
        help="The regulator's rubric (TOML); default: risk/rubrics/launch.toml.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Score the declared job in basis points of its notional, factor by factor; a practice
    the rubric prohibits makes it ineligible whatever the stake."""
    from risk.assess import assess as score
    from risk.declaration import declaration_hash, read_declaration
    from risk.rubric import DEFAULT_RUBRIC, read_rubric, rubric_hash

    declared = read_declaration(declaration)
    regulator, source = read_rubric(rubric or DEFAULT_RUBRIC)
    assessment = score(declared, regulator)
    if json_out:
        print_json({
            "risk_bps": assessment.risk_bps,
            "eligible": assessment.eligible,
            "prohibited": list(assessment.prohibited),
            "rubric_version": regulator.version,
            "rubric_hash": "0x" + rubric_hash(source).hex(),
            "declaration_hash": "0x" + declaration_hash(declared).hex(),
            "factors": [asdict(factor) for factor in assessment.factors],
            "capped": assessment.capped,
        })
        return
    _print_assessment(assessment, regulator)


def _print_assessment(assessment: Assessment, regulator: Rubric) -> None:
    from rcm.commands.tables import table
    from risk.declaration import flop_text

    rows = []
    for factor in assessment.factors:
        value = flop_text(factor.value) if isinstance(factor.value, int) else factor.value
        label = f"{factor.factor}: {value}" if value is not None else factor.factor
        rows.append([label, f"{factor.added_bps:,}", factor.source])
    rows.append(["total", f"{assessment.uncapped_bps:,}", ""])
    lines = [table(["factor: declared", "bps", "source"], rows,
                   title=f"rubric {regulator.version}", right={1})]
    risk = f"risk: {assessment.risk_bps:,} bps = {assessment.risk_bps / 100:.2f} % of the notional"
    if assessment.capped:
        risk += f", capped (the factors add {assessment.uncapped_bps:,})"
    lines.append(risk)
    lines += [f"ineligible: {practice} ({regulator.prohibited[practice]})"
              for practice in assessment.prohibited]
    typer.echo("\n".join(lines))
