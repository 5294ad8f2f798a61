"""`rcm enclave`: the software attester — signs job evidence the way a TEE's quoting service would.

Software only: the enclave key is a file on this machine, so its evidence proves nothing about
what ran. It is for tests and demos, and its evidence says so (`platform.tee = "software"`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from oracle import attester
from oracle.attestation import ResourceUse, certificate_fingerprint
from oracle.errors import EnclaveError, MalformedEvidence
from rcm.commands.common import DEFAULT_RPC_URL, RpcOption, load_system, report
from rcm.commands.tables import paragraph
from risk.declaration import declaration_hash, read_declaration

app = typer.Typer(
    no_args_is_help=True,
    help="Software attester (not a TEE): sign job evidence the way a TEE's quoting service would.",
)

SOFTWARE_WARNING = "software attester: signed with a key on this machine, not by TEE hardware"


def _used(field: str) -> str:
    return f"{getattr(attester.DEFAULT_RESOURCES, field):g}, or what the future bought"


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to write root.pem, enclave.pem, enclave.key.")
    ],
) -> None:
    """Create a provider root and an enclave key certified by it."""
    from chain.settlement import enclave_digest

    enclave = attester.new_enclave()
    attester.write_enclave(directory, enclave)
    measurement = enclave_digest(attester.DEFAULT_MEASUREMENTS.launch_digest()).hex()
    report(False, {}, "\n".join([
        f"wrote {directory / attester.ROOT_FILE}, enclave.pem, enclave.key ({SOFTWARE_WARNING})",
        f"root fingerprint (sha256): {certificate_fingerprint(enclave.cert_chain[1])}",
        f"enclave measurement (an ask's enclave_measurement): {measurement}",
    ]))


@app.command()
def attest(
    enclave: Annotated[Path, typer.Option(help="Directory written by `rcm enclave init`.")],
    noise_multiplier: Annotated[float, typer.Option(help="DP-SGD noise multiplier σ.")],
    sampling_rate: Annotated[float, typer.Option(help="Poisson sampling rate q.")],
    steps: Annotated[int, typer.Option(min=1, help="Training steps T.")],
    job: Annotated[
        str | None, typer.Option(help="Job id: 0x-prefixed 32-byte hex (or give --future).")
    ] = None,
    future: Annotated[
        str | None,
        typer.Option(
            help="A redeemed future's id: the job it redeemed into, its dataset, δ, purpose "
            "and bought capacity read from the chain (--rpc); options given override them."
        ),
    ] = None,
    dataset: Annotated[
        list[str] | None, typer.Option(help="Dataset id (0x sha256); repeatable.")
    ] = None,
    delta: Annotated[float | None, typer.Option(help="δ of the (ε, δ) guarantee.")] = None,
    claimed_epsilon: Annotated[
        float | None, typer.Option(help="ε the run claims; default: the accountant's value.")
    ] = None,
    purpose: Annotated[
        str | None, typer.Option(help=f"Purpose of the job; default {attester.DEFAULT_PURPOSE}.")
    ] = None,
    declared: Annotated[
        Path | None,
        typer.Option(
            help="The workload declaration (JSON) the job's bid committed to: its hash goes in "
            "the evidence (default: the future's, or what ran's), and it ran unless --ran says "
            "otherwise."
        ),
    ] = None,
    ran: Annotated[
        Path | None,
        typer.Option(
            help="What ran, as a workload declaration (JSON); default: --declared, or an "
            "evaluation job the rubric scores at its base."
        ),
    ] = None,
    evaluation: Annotated[
        list[str] | None,
        typer.Option(
            "--eval",
            help="NAME=SCORE of a behaviour evaluation; repeatable, "
            "overrides the passing defaults.",
        ),
    ] = None,
    gpu_hours: Annotated[
        float | None, typer.Option(help=f"GPU-hours used; default {_used('gpu_hours')}.")
    ] = None,
    energy_kwh: Annotated[
        float | None, typer.Option(help=f"Energy used, kWh; default {_used('energy_kwh')}.")
    ] = None,
    storage_gb: Annotated[
        float | None, typer.Option(help=f"Storage used, GB; default {_used('storage_gb')}.")
    ] = None,
    nonce: Annotated[str | None, typer.Option(help="0x 32-byte nonce; default: random.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write here; default: standard output.")] = None,
    rpc: RpcOption = DEFAULT_RPC_URL,
) -> None:
    """Sign evidence of a finished job; everything not given takes a passing default."""
    identity = attester.read_enclave(enclave)
    if (job is None) == (future is None):
        raise MalformedEvidence("job: give --job, or --future for a redeemed future's job")
    terms = _redeemed(future, rpc) if future else _outside_the_market(job or "")
    given = {"gpu_hours": gpu_hours, "energy_kwh": energy_kwh, "storage_gb": storage_gb}
    committed = read_declaration(declared) if declared else None
    try:
        evidence = attester.make_evidence(
            terms.job,
            [d.lower() for d in dataset] if dataset else terms.need("datasets", "--dataset"),
            noise_multiplier=noise_multiplier,
            sampling_rate=sampling_rate,
            steps=steps,
            delta=delta if delta is not None else terms.need("delta", "--delta"),
            claimed_epsilon=claimed_epsilon,
            purpose=purpose or terms.need("purpose", "--purpose"),
            ran=read_declaration(ran) if ran else committed,
            declared="0x" + declaration_hash(committed).hex() if committed else terms.declared,
            evaluations=attester.DEFAULT_EVALUATIONS | _scores(evaluation or []),
            resources=ResourceUse.model_validate(
                terms.resources.model_dump() | {k: v for k, v in given.items() if v is not None}
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
        paragraph(f"{SOFTWARE_WARNING}; job {evidence.job}, claimed ε "
                  f"{evidence.dp.claimed_epsilon:.4g}"),
        err=True,
    )


@dataclass(frozen=True)
class _JobTerms:
    """What a job's evidence defaults to where no option is given: a future's terms, or for a
    job outside the market the attester's passing values. None: the user must say."""

    origin: str
    job: str
    datasets: list[str] | None
    delta: float | None
    purpose: str | None
    resources: ResourceUse
    declared: str | None = None  # the declaration hash the future's bid committed to

    def need(self, field: str, option: str) -> Any:
        value = getattr(self, field)
        if value is None:
            raise MalformedEvidence(f"{field}: give {option} ({self.origin} has no default)")
        return value


def _outside_the_market(job: str) -> _JobTerms:
    return _JobTerms(
        "the attester", job.lower(), None, None, attester.DEFAULT_PURPOSE,
        attester.DEFAULT_RESOURCES,
    )


def _redeemed(future: str, rpc: str) -> _JobTerms:
    """The future's terms from the chain. Its purpose is on chain as a hash: the name is the
    one of the round's policy's purposes that hashes to it, if any."""
    from chain.bid import purpose_id
    from chain.clearing_house import Round
    from chain.futures_terms import read_redeemed_future
    from market.round_book import parse_digest, read_policy
    from oracle.future import future_terms

    digest = parse_digest(future, "future")
    system = load_system(rpc)
    redeemed = read_redeemed_future(system, digest)
    if redeemed is None:
        raise EnclaveError(f"future: {future} is not a redeemed future on this chain")
    terms = future_terms(redeemed)
    policy = read_policy(system, Round.read(system.clearing_house, redeemed.record.round_id)
                         .policy_id)
    names = [name for name, _ in policy.epsilon_limits if purpose_id(name) == terms.purpose_id]
    return _JobTerms(
        "the future",
        "0x" + digest.hex(),
        [terms.dataset] if terms.dataset else None,
        terms.delta or None,
        names[0] if names else None,
        terms.bought,
        terms.declaration_hash,
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
