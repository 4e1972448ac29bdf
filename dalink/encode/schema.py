"""The linkage schema: which identifiers are encoded, and exactly how.

A schema is versioned, frozen and hashed; the hash goes into every package's manifest so
the linker can refuse packages encoded differently. Validation collects every problem at
once (pydantic does) and :func:`load_schema` reports them field by field.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dalink.errors import SchemaError

SCHEMA_FORMAT_VERSION = 1
IDENTIFIER_COLUMNS = ("given_name", "middle_name", "family_name", "date_of_birth", "sex", "postcode")
EVENT_COLUMNS = ("event_date", "event_type", "local_authority", "role", "risk_level", "referring_agency")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- tokenisers ------------------------------------------------------------------------------


class QGramTokens(_Frozen):
    """Overlapping q-grams of the normalised value (padded with ``_`` at both ends if ``padded``)."""

    kind: Literal["qgram"] = "qgram"
    q: int = Field(2, ge=1, le=5)
    padded: bool = True
    positional: bool = Field(False, description="Tag each q-gram with its position (stricter, fewer false matches).")


class DateTokens(_Frozen):
    """Positional tokens of an ISO date: day, month and year, plus tokens that survive common errors."""

    kind: Literal["date"] = "date"
    parts: tuple[Literal["day", "month", "year", "decade", "day_month_unordered", "year_month"], ...] = (
        "day",
        "month",
        "year",
        "decade",
        "day_month_unordered",
    )


class ExactTokens(_Frozen):
    """The whole normalised value as one token (for short codes such as sex)."""

    kind: Literal["exact"] = "exact"


class PostcodeTokens(_Frozen):
    """Q-grams of the compact postcode plus its area, district and sector as whole tokens."""

    kind: Literal["postcode"] = "postcode"
    q: int = Field(2, ge=1, le=4)
    parts: tuple[Literal["area", "district", "sector", "unit"], ...] = ("area", "district", "sector")


Tokeniser = Annotated[Union[QGramTokens, DateTokens, ExactTokens, PostcodeTokens], Field(discriminator="kind")]


# --- hardening -------------------------------------------------------------------------------


class Salt(_Frozen):
    """Key the field's hashing with another field's value too (e.g. birth year).

    Buys: the same name hashes differently for people born in different years, which
    flattens the frequency distribution an attacker aligns against. Costs: a pair whose salt
    values differ (a wrong year) no longer looks similar on this field, and a record whose salt
    is missing is hashed with an empty salt.
    """

    kind: Literal["salt"] = "salt"
    source: Literal["birth_year", "sex", "birth_decade"] = "birth_year"


class Balance(_Frozen):
    """Append the complement of the filter and permute with a keyed permutation.

    Buys: every filter has exactly half its bits set, so the Hamming weight no longer tells
    the length of the value. Costs: doubles the filter length; Dice values shrink towards 0.5
    for dissimilar values, so thresholds come from the model, not constants.
    """

    kind: Literal["balance"] = "balance"


class XorFold(_Frozen):
    """XOR the two halves of the filter together, ``folds`` times.

    Buys: a set bit no longer maps to one token position, which breaks pattern mining.
    Costs: halves the length per fold and adds collisions, so similar values score a little
    lower and dissimilar ones a little higher.
    """

    kind: Literal["xor_fold"] = "xor_fold"
    folds: int = Field(1, ge=1, le=3)


class Rule90(_Frozen):
    """Replace each bit by the XOR of its two neighbours (cyclic, Schnell & Borgs 2017)."""

    kind: Literal["rule90"] = "rule90"


class RandomBitFlip(_Frozen):
    """Flip each bit with ``probability`` using noise seeded from the key and the record (BLIP).

    Buys: the same value gives different filters in different records, so identical
    encodings can no longer be counted; differential-privacy style deniability per bit.
    Costs: self-similarity drops below 1 (about ``1 - 2p`` in Dice terms for sparse filters);
    reruns give the same package because the noise is seeded, never fresh.
    """

    kind: Literal["random_bit_flip"] = "random_bit_flip"
    probability: float = Field(0.02, gt=0.0, lt=0.5)


HardeningStep = Annotated[Union[Salt, Balance, XorFold, Rule90, RandomBitFlip], Field(discriminator="kind")]


# --- fields and blocking keys ----------------------------------------------------------------


class FieldSpec(_Frozen):
    """One identifier encoded as its own Bloom filter, so the linker gets per-field similarities."""

    name: Literal["given_name", "middle_name", "family_name", "date_of_birth", "sex", "postcode"]
    tokens: Tokeniser
    bits: int = Field(256, ge=64, le=4096, description="Filter length before hardening; a multiple of 64.")
    hash_functions: int = Field(10, ge=1, le=64, description="Bit positions set per token (random hashing).")
    extra_tokens: tuple[Literal["nickname", "soundex", "metaphone"], ...] = Field(
        (), description="Extra whole-value tokens, e.g. the canonical given name so Bob and Robert share one."
    )
    hardening: tuple[HardeningStep, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> FieldSpec:
        problems = []
        if self.bits % 64:
            problems.append(f"bits must be a multiple of 64 (got {self.bits})")
        folds = sum(step.folds for step in self.hardening if isinstance(step, XorFold))
        if folds and (self.bits >> folds) < 64:
            problems.append(f"{folds} XOR folds leave fewer than 64 bits")
        kinds = [step.kind for step in self.hardening]
        if len(set(kinds)) != len(kinds):
            problems.append("each hardening step may appear once")
        if "salt" in kinds and kinds.index("salt") != 0:
            problems.append("salt must be the first hardening step (it acts while hashing)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def encoded_bits(self) -> int:
        """Filter length after hardening."""
        length = self.bits
        for step in self.hardening:
            if isinstance(step, Balance):
                length *= 2
            elif isinstance(step, XorFold):
                length >>= step.folds
        return length


class BlockingPart(_Frozen):
    """One ingredient of a blocking key: a transformed identifier."""

    field: Literal["given_name", "middle_name", "family_name", "date_of_birth", "sex", "postcode"]
    transform: Literal[
        "value", "soundex", "metaphone", "nysiis", "initial", "nickname_soundex", "year", "month_day", "district"
    ]


class BlockingKeySpec(_Frozen):
    """A keyed hash of some identifier parts; records sharing it become candidate pairs.

    If ``unordered`` the part values are sorted first (so given and family names that were
    swapped still meet).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    parts: tuple[BlockingPart, ...] = Field(min_length=1)
    unordered: bool = False


class LinkageSchema(_Frozen):
    """Everything that decides an encoding, apart from the key."""

    format: Literal["dalink-linkage-schema"] = "dalink-linkage-schema"
    version: Literal[1] = SCHEMA_FORMAT_VERSION
    name: str = "custom"
    description: str = ""
    fields: tuple[FieldSpec, ...] = Field(min_length=1)
    blocking_keys: tuple[BlockingKeySpec, ...] = ()
    safe_accommodation_event_types: tuple[str, ...] = Field(
        ("refuge_referral",),
        description="Events at a refuge or safe accommodation: their postcode is never encoded.",
    )

    @model_validator(mode="after")
    def _check(self) -> LinkageSchema:
        problems = []
        names = [field.name for field in self.fields]
        for duplicate in sorted({name for name in names if names.count(name) > 1}):
            problems.append(f"field {duplicate!r} is defined twice")
        block_names = [key.name for key in self.blocking_keys]
        for duplicate in sorted({name for name in block_names if block_names.count(name) > 1}):
            problems.append(f"blocking key {duplicate!r} is defined twice")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def field(self, name: str) -> FieldSpec:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)

    def canonical_json(self) -> str:
        """Sorted, compact JSON: the bytes the schema hash is taken over."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON; packages with different hashes are not comparable."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: the linkage schema is invalid ({error.error_count()} problem(s)):"]
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  - {location}: {problem['msg']}")
    return "\n".join(lines)


def parse_schema(data: dict, source: str = "schema") -> LinkageSchema:
    """Validate a schema dictionary, reporting every problem at once as a :class:`SchemaError`."""
    try:
        return LinkageSchema.model_validate(data)
    except ValidationError as error:
        raise SchemaError(_format_validation_error(error, source)) from None


def load_schema(path: str | os.PathLike[str]) -> LinkageSchema:
    """Read a schema from a JSON file."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"{source}: the schema file does not exist") from None
    except json.JSONDecodeError as error:
        raise SchemaError(f"{source}: not valid JSON (line {error.lineno}, column {error.colno})") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{source}: a linkage schema must be a JSON object")
    return parse_schema(data, str(source))


@cache
def default_schema() -> LinkageSchema:
    """dalink's default schema for UK person identifiers."""
    text = resources.files("dalink").joinpath("data/default_schema.json").read_text(encoding="utf-8")
    return parse_schema(json.loads(text), "default schema")
