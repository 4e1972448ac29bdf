"""Read clkhash linkage schemas into typed, frozen specs.

dalink reads the linkage schemas of `clkhash <https://github.com/data61/clkhash>`_ 0.18 so that a
partnership already using clkhash/anonlink can move to dalink without re-encoding: the same schema
and secret give bit-identical CLKs (see :mod:`dalink.encode.clkhash_compat`).

The rule throughout is *accept what clkhash accepts, read what clkhash reads*:

* version 3 schemas are validated with the same rules as clkhash's v3 master JSON schema;
  version 1 and 2 schemas are migrated to version 3 exactly as clkhash migrates them;
* where clkhash's master schema tolerates unknown keys, so do we, but we log a warning naming
  them (clkhash drops them silently, which hides typos such as ``"positonal"``);
* clkhash reads the XOR-fold count from the *undocumented* key ``clkConfig.xor_folds`` and never
  reads the documented ``clkConfig.xorFolds`` (it only validates it). We do the same, so a schema
  with ``"xorFolds": 2`` gives unfolded CLKs here as it does in clkhash, and we warn about it;
* problems clkhash reports only as bare exceptions or only once hashing starts
  (``prevent_singularity`` on a BLAKE2 feature, a Bloom filter length BLAKE2 hashing cannot
  address, more key material than HKDF can give) are reported here, when the schema is read.

Every problem is reported at once, each naming the feature (``identifier``) it belongs to.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from dalink.errors import SchemaError

logger = logging.getLogger(__name__)

DEFAULT_KDF_KEY_SIZE = 64
"""clkhash's default derived key size in bytes (the block size of SHA-1 and MD5)."""
KEYS_PER_FEATURE = 2
"""clkhash derives two keys for every feature, ignored ones included (HMAC-SHA1 and HMAC-MD5)."""
BLAKE2B_MAXIMUM_KEY_SIZE = 64
BLAKE2B_ADDRESSABLE_BITS = 2**16
"""clkhash's BLAKE2 hashing slices digests into 16-bit integers."""
HKDF_DIGEST_SIZES = {"SHA256": 32, "SHA512": 64}
SUPPORTED_VERSIONS = (1, 2, 3)


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


# --- features and the schema -------------------------------------------------------------------


class FeatureSpec(_ClkhashSpec):
    """A column that is validated and hashed (unless ``ignored`` is true, as clkhash allows)."""

    identifier: str
    description: str | None = None
    ignored: bool = False
    value_format: FormatSpec = Field(alias="format")
    hashing: HashingSpec

    @property
    def is_hashed(self) -> bool:
        return not self.ignored

    @property
    def encoding(self) -> str:
        """Only string formats choose an encoding; clkhash uses UTF-8 for every other type."""
        return self.value_format.encoding if isinstance(self.value_format, StringFormat) else "utf-8"


class IgnoredFeatureSpec(_ClkhashSpec):
    """A column that is present in the data but plays no part in the CLK."""

    identifier: str
    ignored: Literal[True]
    description: str | None = None

    @property
    def is_hashed(self) -> bool:
        return False


def _feature_tag(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "hashed-feature" if isinstance(value, FeatureSpec) else "ignored-feature"
    # clkhash's master schema: a feature with a format or hashing section is a full feature
    # (which may still say "ignored": true); anything else must be a bare ignored feature.
    if isinstance(value, dict) and ({"format", "hashing", "value_format"} & value.keys()):
        return "hashed-feature"
    return "ignored-feature"


AnyFeatureSpec = Annotated[
    Union[Annotated[FeatureSpec, Tag("hashed-feature")], Annotated[IgnoredFeatureSpec, Tag("ignored-feature")]],
    Discriminator(_feature_tag),
]


class ClkhashSchema(_ClkhashSpec):
    """A clkhash version-3 linkage schema. Records hold one value per feature, in this order."""

    version: Literal[3]
    clk_config: ClkConfigSpec = Field(alias="clkConfig")
    features: Annotated[tuple[AnyFeatureSpec, ...], BeforeValidator(_json_array)]

    @model_validator(mode="after")
    def _fits_key_derivation_and_hashing(self) -> ClkhashSchema:
        kdf = self.clk_config.kdf
        problems = []
        key_bytes = KEYS_PER_FEATURE * len(self.features) * kdf.key_size
        if key_bytes > 255 * HKDF_DIGEST_SIZES[kdf.hash_algorithm]:
            problems.append(
                f"clkConfig.kdf: {len(self.features)} features need {key_bytes} bytes of keys, more than "
                f"HKDF-{kdf.hash_algorithm} can derive ({255 * HKDF_DIGEST_SIZES[kdf.hash_algorithm]}); "
                "lower keySize or use SHA512"
            )
        hashing_bits = self.clk_config.hashing_bits
        for feature in self.hashed_features:
            if isinstance(feature.hashing.hash, DoubleHash) and feature.hashing.hash.prevent_singularity:
                if hashing_bits < 2:
                    problems.append(
                        f"feature '{feature.identifier}': prevent_singularity cannot find a non-zero step "
                        "in a 1-bit filter (clkhash loops forever)"
                    )
            if isinstance(feature.hashing.hash, BlakeHash):
                if kdf.key_size > BLAKE2B_MAXIMUM_KEY_SIZE:
                    problems.append(
                        f"feature '{feature.identifier}': blakeHash needs clkConfig.kdf.keySize <= "
                        f"{BLAKE2B_MAXIMUM_KEY_SIZE}"
                    )
                if 2 ** int(math.log(hashing_bits, 2)) != hashing_bits:
                    problems.append(
                        f"feature '{feature.identifier}': blakeHash needs l * 2**xor_folds to be a power "
                        f"of two, not {hashing_bits}"
                    )
                elif hashing_bits > BLAKE2B_ADDRESSABLE_BITS:
                    logger.warning(
                        "clkhash schema feature '%s': blakeHash only reaches the first %d of %d bits, "
                        "as in clkhash",
                        feature.identifier,
                        BLAKE2B_ADDRESSABLE_BITS,
                        hashing_bits,
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def hashed_features(self) -> list[FeatureSpec]:
        return [feature for feature in self.features if isinstance(feature, FeatureSpec) and feature.is_hashed]

    def to_clkhash_dict(self) -> dict[str, Any]:
        """The schema as clkhash JSON (version 3), e.g. to hand to clkhash itself."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- reading -----------------------------------------------------------------------------------

_TOP_LEVEL_KEYS = {"version", "clkConfig", "features"}
_CLK_CONFIG_KEYS = {"l", "kdf", "xorFolds", "xor_folds"}
_KDF_KEYS = {"type", "hash", "salt", "info", "keySize"}
_FEATURE_KEYS = {"identifier", "description", "ignored", "format", "hashing"}
_COMPARISON_KEYS = {
    "ngram": {"type", "n", "positional"},
    "exact": {"type"},
    "numeric": {"type", "thresholdDistance", "resolution", "fractional_precision"},
}
_HASH_KEYS = {"type", "prevent_singularity"}
_MISSING_VALUE_KEYS = {"sentinel", "replaceWith"}


def read_clkhash_schema(source: str | os.PathLike[str] | dict[str, Any]) -> ClkhashSchema:
    """Read a clkhash linkage schema (version 3; versions 1 and 2 are migrated like clkhash does).

    ``source`` is a path to a JSON file, JSON text (a string starting with ``{``) or an already
    parsed dictionary. Raises :class:`~dalink.errors.SchemaError` listing every problem found,
    each naming the feature it belongs to.
    """
    origin, document = _load(source)
    if not isinstance(document, dict):
        raise SchemaError(f"clkhash schema {origin}: the top level must be a JSON object")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, (int, float)) or version not in SUPPORTED_VERSIONS:
        raise SchemaError(
            f"clkhash schema {origin}: 'version' must be one of {', '.join(map(str, SUPPORTED_VERSIONS))}"
        )
    document = copy.deepcopy(document)
    problems: list[str] = []
    try:
        if version == 1:
            document = _migrate_version_1_to_2(document, problems)
        if document["version"] == 2 and not problems:
            document = _migrate_version_2_to_3(document, problems)
    except (KeyError, TypeError, AttributeError) as error:
        problems.append(f"missing or malformed {error}")
    if problems:
        listing = "\n".join(f"  - {line}" for line in problems)
        raise SchemaError(f"clkhash schema {origin}: cannot migrate this version {version} schema:\n{listing}")
    document["version"] = 3
    _drop_keys_clkhash_ignores(document, origin)
    _warn_about_xor_folds_quirk(document, origin)
    try:
        return ClkhashSchema.model_validate(document)
    except ValidationError as error:
        lines = [_describe_problem(problem, document) for problem in error.errors()]
        listing = "\n".join(f"  - {line}" for line in lines)
        raise SchemaError(f"clkhash schema {origin} is invalid:\n{listing}") from None


def _load(source: str | os.PathLike[str] | dict[str, Any]) -> tuple[str, Any]:
    if isinstance(source, dict):
        return "(dictionary)", source
    if isinstance(source, str) and source.lstrip().startswith("{"):
        origin, text = "(JSON text)", source
    else:
        path = Path(source)
        origin = f"'{path}'"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SchemaError(f"clkhash schema {origin} cannot be read: {error.__class__.__name__}") from None
    try:
        return origin, json.loads(text)
    except json.JSONDecodeError as error:
        raise SchemaError(
            f"clkhash schema {origin} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None


def _migrate_version_1_to_2(document: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """clkhash's ``_convert_v1_to_v2``: the global k times each feature's weight becomes its k."""
    clk_config = document["clkConfig"]
    global_k = clk_config.pop("k")
    clk_hash = clk_config["hash"]

    def convert(feature: dict[str, Any]) -> dict[str, Any]:
        if feature.get("ignored", False):
            return feature
        hashing = feature["hashing"]
        weight = hashing.pop("weight", 1.0)
        if weight == 0:
            return {"identifier": feature["identifier"], "ignored": True}
        hashing["strategy"] = {"k": int(round(weight * global_k))}
        hashing["hash"] = clk_hash
        return feature

    features = [_migrated(convert, feature, index, problems) for index, feature in enumerate(document["features"])]
    return {
        "version": 2,
        "clkConfig": {"l": clk_config["l"], "xor_folds": clk_config.get("xor_folds", 0), "kdf": clk_config["kdf"]},
        "features": features,
    }


def _migrate_version_2_to_3(document: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """clkhash's ``_convert_v2_to_v3``: ``k``/``numBits`` and ``ngram``/``positional`` are renamed."""

    def convert(feature: dict[str, Any]) -> dict[str, Any]:
        if feature.get("ignored", False):
            return feature
        hashing = feature["hashing"]
        strategy = hashing["strategy"]
        if "k" in strategy:
            strategy["bitsPerToken"] = strategy.pop("k")
        elif "numBits" in strategy:
            strategy["bitsPerFeature"] = strategy.pop("numBits")
        hashing["comparison"] = {
            "type": "ngram",
            "n": hashing.pop("ngram"),
            "positional": hashing.pop("positional", False),
        }
        return feature

    document["version"] = 3
    document["features"] = [
        _migrated(convert, feature, index, problems) for index, feature in enumerate(document["features"])
    ]
    return document


def _migrated(convert: Any, feature: Any, index: int, problems: list[str]) -> Any:
    try:
        return convert(feature)
    except (KeyError, TypeError, AttributeError) as error:
        identifier = feature.get("identifier") if isinstance(feature, dict) else None
        problems.append(f"feature '{identifier}' (features[{index}]): missing or malformed {error}")
        return feature


def _drop_keys_clkhash_ignores(document: dict[str, Any], origin: str) -> None:
    """Remove the unknown keys clkhash's master schema tolerates, warning about each object."""

    def drop(node: Any, known: set[str], where: str) -> None:
        if isinstance(node, dict):
            unknown = sorted(set(node) - known)
            for key in unknown:
                del node[key]
            if unknown:
                logger.warning(
                    "clkhash schema %s: %s has key(s) %s that clkhash ignores; ignoring them too",
                    origin,
                    where,
                    ", ".join(repr(key) for key in unknown),
                )

    drop(document, _TOP_LEVEL_KEYS, "the top level")
    clk_config = document.get("clkConfig")
    drop(clk_config, _CLK_CONFIG_KEYS, "clkConfig")
    if isinstance(clk_config, dict):
        drop(clk_config.get("kdf"), _KDF_KEYS, "clkConfig.kdf")
    features = document.get("features")
    for feature in features if isinstance(features, list) else []:
        if not isinstance(feature, dict) or _feature_tag(feature) != "hashed-feature":
            continue
        where = f"feature '{feature.get('identifier')}'"
        drop(feature, _FEATURE_KEYS, where)
        hashing = feature.get("hashing")
        if isinstance(hashing, dict):
            comparison = hashing.get("comparison")
            if isinstance(comparison, dict) and comparison.get("type") in _COMPARISON_KEYS:
                drop(comparison, _COMPARISON_KEYS[comparison["type"]], f"{where} hashing.comparison")
            drop(hashing.get("hash"), _HASH_KEYS, f"{where} hashing.hash")
            drop(hashing.get("missingValue"), _MISSING_VALUE_KEYS, f"{where} hashing.missingValue")


def _warn_about_xor_folds_quirk(document: dict[str, Any], origin: str) -> None:
    clk_config = document.get("clkConfig")
    if not isinstance(clk_config, dict) or "xorFolds" not in clk_config:
        return
    documented, used = clk_config["xorFolds"], clk_config.get("xor_folds", 0)
    if documented != used:
        logger.warning(
            "clkhash schema %s: clkConfig.xorFolds is %r but clkhash ignores that key and reads "
            "'xor_folds' (%r); dalink does the same, so the CLKs are folded %r times",
            origin,
            documented,
            used,
            used,
        )


def _describe_problem(problem: Any, document: dict[str, Any]) -> str:
    """Turn one pydantic error into 'feature 'x' (features[i]) hashing.strategy: message'.

    Pydantic's location mixes JSON keys with union tags; walking the document alongside keeps
    only the parts that are real keys, so the path reads like the schema the user wrote.
    """
    location = list(problem["loc"])
    node: Any = document
    path: list[str] = []
    subject = ""
    for position, part in enumerate(location):
        is_last = position == len(location) - 1
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            if path == ["features"]:
                identifier = node[part].get("identifier") if isinstance(node[part], dict) else None
                subject = f"feature '{identifier}' (features[{part}])" if identifier else f"features[{part}]"
                path = []
            else:
                path.append(f"[{part}]")
            node = node[part]
        elif isinstance(node, dict) and part in node:
            path.append(str(part))
            node = node[part]
        elif is_last and isinstance(part, str) and (not isinstance(node, dict) or not _is_union_tag(part)):
            path.append(part)
    message = str(problem["msg"]).removeprefix("Value error, ").replace("valid tuple", "valid array")
    where = " ".join(piece for piece in (subject, ".".join(path).replace(".[", "[")) if piece)
    return f"{where}: {message}" if where else message


def _is_union_tag(part: str) -> bool:
    return part in {"hashed-feature", "ignored-feature", "per-token", "per-feature"} or part in {
        "string",
        "integer",
        "date",
        "enum",
        "ngram",
        "exact",
        "numeric",
        "doubleHash",
        "blakeHash",
    }
