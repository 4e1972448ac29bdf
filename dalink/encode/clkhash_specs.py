"""The parts of a clkhash linkage schema as typed, frozen specs: clkConfig, formats, hashing.

Why a module of its own: these mirror clkhash 0.18's v3 master JSON schema section by
section and are what the encoder reads; how a whole schema is read, migrated and reported on
lives in :mod:`dalink.encode.clkhash_schema`, which re-exports every name here.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

DEFAULT_KDF_KEY_SIZE = 64
"""clkhash's default derived key size in bytes (the block size of SHA-1 and MD5)."""
KEYS_PER_FEATURE = 2
"""clkhash derives two keys for every feature, ignored ones included (HMAC-SHA1 and HMAC-MD5)."""
BLAKE2B_MAXIMUM_KEY_SIZE = 64
BLAKE2B_ADDRESSABLE_BITS = 2**16
"""clkhash's BLAKE2 hashing slices digests into 16-bit integers."""
HKDF_DIGEST_SIZES = {"SHA256": 32, "SHA512": 64}


def _json_integer(value: Any) -> Any:
    """Accept what JSON Schema (draft 7) calls an integer: ints and integral floats, not booleans."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _json_array(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class _ClkhashSpec(BaseModel):
    """Strict like JSON Schema: no strings for numbers, no numbers for booleans, no unknown keys.

    Unknown keys that clkhash tolerates are removed (with a warning) by
    :func:`read_clkhash_schema` before these models see them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)


# --- clkConfig ---------------------------------------------------------------------------------


class HkdfSpec(_ClkhashSpec):
    """How the per-feature keys are derived from the secret: HKDF (RFC 5869).

    ``salt`` and ``info`` are kept as the schema's base64 text so the spec serialises back to the
    schema it came from; use :attr:`salt_bytes` and :attr:`info_bytes` for the decoded values.
    """

    type: Literal["HKDF"]
    hash_algorithm: Literal["SHA256", "SHA512"] = Field("SHA256", alias="hash")
    salt: str | None = None
    info: str | None = None
    key_size: JsonInt = Field(DEFAULT_KDF_KEY_SIZE, alias="keySize", ge=1)

    @field_validator("salt", "info")
    @classmethod
    def _is_base64(cls, text: str | None) -> str | None:
        if text is not None:
            try:
                base64.b64decode(text)  # as lenient as clkhash, which does exactly this
            except (binascii.Error, ValueError) as error:
                raise ValueError("is not valid base64") from error
        return text

    @property
    def salt_bytes(self) -> bytes | None:
        return None if self.salt is None else base64.b64decode(self.salt)

    @property
    def info_bytes(self) -> bytes | None:
        return None if self.info is None else base64.b64decode(self.info)


class ClkConfigSpec(_ClkhashSpec):
    """Global encoding settings: CLK length, key derivation and XOR folding."""

    bloom_filter_bits: JsonInt = Field(alias="l", ge=1, description="CLK length in bits, after XOR folding.")
    kdf: HkdfSpec
    xor_folds: JsonInt = Field(
        0, ge=0, description="Read from the undocumented key 'xor_folds', as clkhash reads it."
    )
    documented_xor_folds: JsonInt | None = Field(
        None,
        alias="xorFolds",
        ge=0,
        description="The documented key. clkhash validates it and then ignores it; so does dalink.",
    )

    @property
    def hashing_bits(self) -> int:
        """Length of the Bloom filter before folding: tokens are hashed into this many bits."""
        return self.bloom_filter_bits * 2**self.xor_folds


# --- feature formats ---------------------------------------------------------------------------


class StringFormat(_ClkhashSpec):
    """A text feature: either a regular expression, or casing and length limits (not both)."""

    type: Literal["string"]
    encoding: Literal["ascii", "utf-8", "utf-16", "utf-32"] = "utf-8"
    pattern: str | None = None
    case: Literal["upper", "lower", "mixed"] | None = Field(None, description="Absent means 'mixed'.")
    minimum_length: JsonInt | None = Field(None, alias="minLength", ge=0)
    maximum_length: JsonInt | None = Field(None, alias="maxLength", ge=1)
    description: str | None = None

    @model_validator(mode="after")
    def _pattern_or_limits(self) -> StringFormat:
        if self.pattern is None:
            return self
        problems = []
        if self.case is not None or self.minimum_length is not None or self.maximum_length is not None:
            problems.append("a 'pattern' cannot be combined with 'case', 'minLength' or 'maxLength'")
        try:
            re.compile(self.pattern)
        except re.error as error:
            problems.append(f"'pattern' is not a valid regular expression ({error})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class IntegerFormat(_ClkhashSpec):
    """A base-10 integer; hashed in canonical form, so '+07' and '7' encode alike."""

    type: Literal["integer"]
    minimum: JsonInt | None = None
    maximum: JsonInt | None = None
    description: str | None = None


class DateFormat(_ClkhashSpec):
    """A date in a ``strptime`` format; hashed as ``YYYYMMDD`` whatever the input format."""

    type: Literal["date"]
    date_format: str = Field(alias="format")
    description: str | None = None


class EnumFormat(_ClkhashSpec):
    """One of a fixed list of values."""

    type: Literal["enum"]
    values: Annotated[tuple[str, ...], BeforeValidator(_json_array)]
    description: str | None = None


FormatSpec = Annotated[
    Union[StringFormat, IntegerFormat, DateFormat, EnumFormat], Field(discriminator="type")
]


# --- hashing -----------------------------------------------------------------------------------


class NgramComparison(_ClkhashSpec):
    """Overlapping n-grams, padded with n-1 spaces each side; positional ones carry their index."""

    type: Literal["ngram"]
    n: JsonInt = Field(ge=1)
    positional: bool = False


class ExactComparison(_ClkhashSpec):
    """The whole value is one token."""

    type: Literal["exact"]


class NumericComparison(_ClkhashSpec):
    """Tokens for a number's neighbourhood, so that near numbers share tokens (Vatsalan & Christen)."""

    type: Literal["numeric"]
    threshold_distance: float = Field(alias="thresholdDistance", gt=0)
    resolution: JsonInt = Field(ge=1)
    fractional_precision: JsonInt = Field(0, ge=0)

    @model_validator(mode="after")
    def _distance_is_representable(self) -> NumericComparison:
        if self.distance_interval == 0:
            raise ValueError("not enough 'fractional_precision' to represent 'thresholdDistance'")
        return self

    @property
    def distance_interval(self) -> int:
        return int(round(self.threshold_distance * 10**self.fractional_precision))


ComparisonSpec = Annotated[
    Union[NgramComparison, ExactComparison, NumericComparison], Field(discriminator="type")
]


class BitsPerTokenStrategy(_ClkhashSpec):
    """Every token sets the same number of bits (the *k* of Schnell et al.)."""

    bits_per_token: JsonInt = Field(alias="bitsPerToken", ge=1)

    def insertions_per_token(self, token_count: int) -> list[int]:
        return [self.bits_per_token] * token_count


class BitsPerFeatureStrategy(_ClkhashSpec):
    """A fixed number of insertions for the feature, spread over its tokens, earlier tokens first."""

    bits_per_feature: JsonInt = Field(alias="bitsPerFeature", ge=1)

    def insertions_per_token(self, token_count: int) -> list[int]:
        if token_count == 0:
            return []
        base = self.bits_per_feature // token_count
        residue = self.bits_per_feature % token_count
        return [base + 1] * residue + [base] * (token_count - residue)


def _strategy_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return "per-token" if isinstance(value, BitsPerTokenStrategy) else "per-feature"
    if isinstance(value, dict):
        if "bitsPerToken" in value or "bits_per_token" in value:
            return "per-token"
        if "bitsPerFeature" in value or "bits_per_feature" in value:
            return "per-feature"
    return None


StrategySpec = Annotated[
    Union[
        Annotated[BitsPerTokenStrategy, Tag("per-token")],
        Annotated[BitsPerFeatureStrategy, Tag("per-feature")],
    ],
    Discriminator(
        _strategy_tag,
        custom_error_type="strategy",
        custom_error_message="must be an object with 'bitsPerToken' or 'bitsPerFeature'",
    ),
]


class DoubleHash(_ClkhashSpec):
    """HMAC-SHA1 and HMAC-MD5 combined as in Schnell et al. (2011)."""

    type: Literal["doubleHash"]
    prevent_singularity: bool | None = Field(
        None, description="Re-hash when the step is a multiple of the length (clkhash issue 33)."
    )


class BlakeHash(_ClkhashSpec):
    """k independent positions sliced from keyed BLAKE2b digests (clkhash's default)."""

    type: Literal["blakeHash"]
    prevent_singularity: bool | None = None

    @field_validator("prevent_singularity")
    @classmethod
    def _only_for_double_hash(cls, value: bool | None) -> bool | None:
        if value is not None:
            raise ValueError("'prevent_singularity' is only allowed with 'doubleHash' (clkhash refuses it)")
        return value


HashSpec = Annotated[Union[DoubleHash, BlakeHash], Field(discriminator="type")]


class MissingValueSpec(_ClkhashSpec):
    """A sentinel meaning 'missing': not validated, hashed as ``replaceWith`` (default: itself)."""

    sentinel: str
    replace_with: str | None = Field(None, alias="replaceWith")

    @property
    def replacement(self) -> str:
        return self.sentinel if self.replace_with is None else self.replace_with


class HashingSpec(_ClkhashSpec):
    """How one feature's value becomes bits: tokenisation, insertions per token, hash family."""

    comparison: ComparisonSpec
    strategy: StrategySpec
    hash: HashSpec = BlakeHash(type="blakeHash")
    missing_value: MissingValueSpec | None = Field(None, alias="missingValue")
