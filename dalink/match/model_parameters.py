"""``model.json``: a fitted Fellegi–Sunter model as frozen, validated parameters.

Why a module of its own: the file format is a contract (its JSON Schema is published in
``schemas/``) that outlives any one way of estimating the model; reading and validating it
needs none of the EM machinery in :mod:`dalink.match.model`, which re-exports these names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dalink.errors import LinkageError
from dalink.match.compare import ComparisonSpec
from dalink.match.correlation import ConditionalU

MODEL_FORMAT = "dalink-model"
MODEL_FORMAT_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LevelParameters(_Frozen):
    label: str
    m: float | None = Field(description="P(level | match); null for the missing level.")
    u: float | None = Field(description="P(level | non-match); null for the missing level.")
    match_weight: float | None = Field(description="log2(m / u): the evidence this level adds.")


class ComparisonParameters(_Frozen):
    spec: ComparisonSpec
    levels: tuple[LevelParameters, ...]


class SessionTrace(_Frozen):
    """One EM training session: which key it was blocked on and how EM went."""

    name: str
    fixed_fields: tuple[str, ...]
    pairs: int
    iterations: int
    converged: bool
    share_matching: float = Field(description="Estimated share of matches among the session's pairs.")
    log_likelihood: tuple[float, ...] = ()


class ModelParameters(_Frozen):
    """``model.json``: everything needed to score pairs encoded with the same schema."""

    format: str = MODEL_FORMAT
    format_version: int = MODEL_FORMAT_VERSION
    schema_hash: str
    comparisons: tuple[ComparisonParameters, ...]
    probability_two_random_records_match: float
    match_threshold: float = Field(description="Match probability at or above which a pair is a link.")
    term_frequency_key: str | None = Field(
        None,
        description="Blocking key whose value frequencies adjusted the weight of pairs whose names agree "
        "(computed from the data being linked, so not part of these parameters).",
    )
    sessions: tuple[SessionTrace, ...] = ()
    conditional_u: tuple[ConditionalU, ...] = Field(
        (),
        description="u of correlated comparisons among non-matches that agree on another field "
        "(family name given postcode), replacing the independent u for such pairs.",
    )


def load_model_parameters(path: str | os.PathLike[str]) -> ModelParameters:
    """Read and validate a ``model.json``."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LinkageError(f"{source}: the model file does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise LinkageError(f"{source}: the model file is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise LinkageError(f"{source}: not a dalink model file")
    try:
        return ModelParameters.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(".".join(map(str, item["loc"])) + ": " + item["msg"] for item in error.errors()[:5])
        raise LinkageError(f"{source}: the model file is invalid ({problems})") from None
