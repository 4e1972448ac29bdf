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

import copy
import json
import logging
import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, Discriminator, Field, Tag, ValidationError, model_validator

from dalink.encode.clkhash_migration import _migrate_version_1_to_2, _migrate_version_2_to_3
# Every spec is re-exported: callers import the whole clkhash schema model from this module.
from dalink.encode.clkhash_specs import (
    BLAKE2B_ADDRESSABLE_BITS,
    BLAKE2B_MAXIMUM_KEY_SIZE,
    DEFAULT_KDF_KEY_SIZE,
    HKDF_DIGEST_SIZES,
    KEYS_PER_FEATURE,
    BitsPerFeatureStrategy,
    BitsPerTokenStrategy,
    BlakeHash,
    ClkConfigSpec,
    _ClkhashSpec,
    ComparisonSpec,
    DateFormat,
    DoubleHash,
    EnumFormat,
    ExactComparison,
    FormatSpec,
    HashingSpec,
    HashSpec,
    HkdfSpec,
    IntegerFormat,
    JsonInt,
    MissingValueSpec,
    NgramComparison,
    NumericComparison,
    StrategySpec,
    StringFormat,
    _json_array,
)
from dalink.errors import SchemaError

logger = logging.getLogger(__name__)

SUPPORTED_VERSIONS = (1, 2, 3)


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
