"""`rcm enclave`: the software attester — signs job evidence the way a TEE's quoting service would.

Software only: the enclave key is a file on this machine, so its evidence proves nothing about
what ran. It is for tests and demos, and its evidence says so (`platform.tee = "software"`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from oracle import attester
from oracle.attestation import ResourceUse, certificate_fingerprint
from oracle.errors import MalformedEvidence

app = typer.Typer(
    no_args_is_help=True,
    help="Software attester (not a TEE): sign job evidence the way a TEE's quoting service would.",
)

SOFTWARE_WARNING = "software attester: signed with a key on this machine, not by TEE hardware"


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to write root.pem, enclave.pem, enclave.key.")
    ],
) -> None:
    """Create a provider root and an enclave key certified by it."""
    enclave = attester.new_enclave()
    attester.write_enclave(directory, enclave)
    typer.echo(
        f"wrote {directory / attester.ROOT_FILE}, enclave.pem, enclave.key ({SOFTWARE_WARNING})"
    )
    typer.echo(f"root fingerprint (sha256): {certificate_fingerprint(enclave.cert_chain[1])}")


@app.command()
def attest(
    enclave: Annotated[Path, typer.Option(help="Directory written by `rcm enclave init`.")],
    job: Annotated[str, typer.Option(help="Job id: 0x-prefixed 32-byte hex.")],
    dataset: Annotated[list[str], typer.Option(help="Dataset id (0x sha256); repeatable.")],
    noise_multiplier: Annotated[float, typer.Option(help="DP-SGD noise multiplier σ.")],
    sampling_rate: Annotated[float, typer.Option(help="Poisson sampling rate q.")],
    steps: Annotated[int, typer.Option(help="Training steps T.")],
    delta: Annotated[float, typer.Option(help="δ of the (ε, δ) guarantee.")],
    claimed_epsilon: Annotated[
        float | None, typer.Option(help="ε the run claims; default: the accountant's value.")
    ] = None,
    purpose: Annotated[str, typer.Option(help="Purpose of the job.")] = attester.DEFAULT_PURPOSE,
    risk_rating: Annotated[
        int, typer.Option(help="Safety-risk rating, 1 (low) to 5.")
    ] = attester.DEFAULT_RISK_RATING,
    evaluation: Annotated[
        list[str] | None,
        typer.Option(
            "--eval",
            help="NAME=SCORE of a behaviour evaluation; repeatable, "
            "overrides the passing defaults.",
        ),
    ] = None,
    gpu_hours: Annotated[
        float, typer.Option(help="GPU-hours used.")
    ] = attester.DEFAULT_RESOURCES.gpu_hours,
    energy_kwh: Annotated[
        float, typer.Option(help="Energy used, kWh.")
    ] = attester.DEFAULT_RESOURCES.energy_kwh,
    storage_gb: Annotated[
        float, typer.Option(help="Storage used, GB.")
    ] = attester.DEFAULT_RESOURCES.storage_gb,
    nonce: Annotated[str | None, typer.Option(help="0x 32-byte nonce; default: random.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write here; default: standard output.")] = None,
) -> None:
    """Sign evidence of a finished job; everything not given takes a passing default."""
    identity = attester.read_enclave(enclave)
    try:
        evidence = attester.make_evidence(
            job.lower(),
            [d.lower() for d in dataset],
            noise_multiplier=noise_multiplier,
            sampling_rate=sampling_rate,
            steps=steps,
            delta=delta,
            claimed_epsilon=claimed_epsilon,
            purpose=purpose,
            risk_rating=risk_rating,
            evaluations=attester.DEFAULT_EVALUATIONS | _scores(evaluation or []),
            resources=ResourceUse(
                gpu_hours=gpu_hours, energy_kwh=energy_kwh, storage_gb=storage_gb
            ),
            nonce=nonce.lower() if nonce else None,
            issued_at=int(time.time()),
        )
    except ValidationError as exc:
        raise MalformedEvidence.from_errors(exc.errors()) from None
    document = attester.attest(identity, evidence).model_dump_json(indent=2)
    if out is None:
        typer.echo(document)
    else:
        out.write_text(document + "\n")
    typer.echo(
        f"{SOFTWARE_WARNING}; job {evidence.job}, claimed ε {evidence.dp.claimed_epsilon:.4g}",
        err=True,
    )


def _scores(pairs: list[str]) -> dict[str, float]:
    scores = {}
    for pair in pairs:
        name, _, score = pair.partition("=")
        try:
            scores[name] = float(score)
        except ValueError:
            raise MalformedEvidence(f"--eval: expected NAME=SCORE, got {pair!r}") from None
    return scores
