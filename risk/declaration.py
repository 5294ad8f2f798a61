"""A workload declaration: what a job is, in the terms the regulator's rubric scores. The buyer
states it before bidding; later slices commit its hash in the bid and check it against what the
enclave reports ran."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
)

from chain.abi_codec import keccak
from chain.validation import first_problem
from risk.errors import DeclarationError

Task = Literal["training", "fine_tuning", "inference", "evaluation", "simulation",
               "synthetic_data"]
DataCategory = Literal["health", "genomic", "biometric", "financial", "public"]
Capability = Literal["bio_chem_sequence_design", "offensive_cyber", "autonomous_agents",
                     "biometric_identification", "surveillance"]
# The AI Act's Art. 5(1) prohibited practices, in the order of its points (a) to (h).
ProhibitedPractice = Literal[
    "subliminal_manipulation", "exploiting_vulnerabilities", "social_scoring",
    "predictive_policing_profiling", "untargeted_facial_scraping",
    "emotion_recognition_workplace_education", "biometric_categorisation_sensitive",
    "realtime_remote_biometric_id_law_enforcement"]
Release = Literal["internal", "api", "weights"]
RELEASES: tuple[Release, ...] = get_args(Release)  # narrowest first: who can use the model

# Tasks whose compute trains the model, so that the model's cumulative training compute
# includes the job's; the others run a model (or none) whose training is already done.
TRAINING_TASKS: frozenset[Task] = frozenset({"training", "fine_tuning"})

MAX_FLOP = 10**30  # over 1,000 times the largest training runs reported by 2025 (~5·10^26)
MAX_PARAMETERS = 10**15  # hundreds of times the largest models reported (~2·10^12)
MAX_PURPOSE_CHARS = 128


def _as_written(value: object) -> object:
    """A FLOP count written as a float (`1e25`: how JSON and TOML write large numbers) as the
    integer its digits say. The float nearest 10^25 is 10^25 + 905,969,664, which would cross a
    line drawn at 10^25."""
    if isinstance(value, float) and math.isfinite(value):
        digits = Decimal(repr(value))
        if digits == digits.to_integral_value():
            return int(digits)
    return value


Flop = Annotated[int, Field(ge=0, le=MAX_FLOP, strict=True), BeforeValidator(_as_written)]


class Declaration(BaseModel):
    """What a job is. Every field is required: an empty set is a statement (no sensitive data,
    no flagged capability), an absent one is not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Task
    model_parameters: int = Field(ge=0, le=MAX_PARAMETERS, strict=True)
    job_flop: Flop = Field(description="This job's compute, in FLOP: what the evidence measures.")
    model_flop: Flop = Field(
        description="The model's cumulative training compute once the job is done, in FLOP "
                    "(every training run and fine-tune it descends from): what the regimes "
                    "draw their lines on. At least job_flop for training and fine-tuning.")
    data_categories: frozenset[DataCategory]
    mainly_biological_sequences: StrictBool = Field(
        description="Whether the model is trained mainly on biological sequence data.")
    capabilities: frozenset[Capability]
    practices: frozenset[ProhibitedPractice] = Field(
        description="AI Act Art. 5 practices the job serves; a rubric makes them ineligible.")
    purpose: str = Field(min_length=1, max_length=MAX_PURPOSE_CHARS,
                         description="The round policy's purpose name.")
    release: Release

    @field_validator("model_flop")
    @classmethod
    def _includes_a_training_job(cls, model_flop: int, info: ValidationInfo) -> int:
        task, job_flop = info.data.get("task"), info.data.get("job_flop")
        if task in TRAINING_TASKS and job_flop is not None and model_flop < job_flop:
            raise ValueError(f"must be at least job_flop ({flop_text(job_flop)}) for a {task} "
                             "job: the model's training compute includes the job's")
        return model_flop

    @field_serializer("data_categories", "capabilities", "practices")
    def _sorted(self, values: frozenset[str]) -> list[str]:
        return sorted(values)

    def undeclared_data(self, registered: Iterable[str]) -> str | None:
        """Why this declaration does not cover a dataset registered as holding `registered`
        categories (the rubric scores data categories, so a job may not leave its data's out),
        or None when it does."""
        missing = sorted(set(registered) - self.data_categories)
        if not missing:
            return None
        return (f"the dataset is registered as holding {' and '.join(missing)} data: the "
                f"declaration must list {'it' if len(missing) == 1 else 'them'}")


def flop_text(flop: int) -> str:
    """A FLOP count as the regimes write it: `1e25`, `8.41e22`."""
    mantissa, _, exponent = f"{flop:.3g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def parse_declaration(text: str | bytes) -> Declaration:
    """A declaration from its JSON; an error names the field at fault (`capabilities[1]`), or
    `declaration` when the text is not a JSON object."""
    try:
        return Declaration.model_validate_json(text)
    except ValidationError as exc:
        path, reason = first_problem(exc)
        raise DeclarationError(reason, field=path or "declaration") from None


def read_declaration(path: Path) -> Declaration:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise DeclarationError(f"{path}: cannot read ({exc.strerror})",
                               field="declaration") from None
    return parse_declaration(text)


def canonical_json(declaration: Declaration) -> bytes:
    """The declaration's one encoding: keys sorted, no whitespace, sets as sorted arrays,
    integers in full (never as floats), non-ASCII escaped. Not RFC 8785, which writes numbers as
    doubles and would round a FLOP count."""
    return json.dumps(declaration.model_dump(mode="json"), sort_keys=True,
                      separators=(",", ":")).encode()


def declaration_hash(declaration: Declaration) -> bytes:
    """Keccak-256 of the canonical JSON: what a bid will commit to."""
    return keccak(canonical_json(declaration))
