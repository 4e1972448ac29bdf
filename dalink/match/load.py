"""Load encoded packages for linkage and check that they can be compared at all.

Packages are comparable only if they were encoded with the same key and the same schema:
Bloom filters from different keys look like unrelated random bits, so linking them would
silently find nothing. The checks name the package that differs and how (its fingerprint or
schema hash against the first package's), never any identifier.

Everything the linker needs is gathered into one :class:`RecordSet`: records of all agencies
stacked in package order, one packed ``uint64`` matrix per Bloom-filter field, one ``int64``
array per keyed blocking key, and the clear event fields for the outputs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dalink.encode.package import EncodedPackage, read_package
from dalink.encode.schema import EVENT_COLUMNS, LinkageSchema
from dalink.errors import LinkageError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FieldFilters:
    """The Bloom filters of one field for every record: packed words, presence, popcounts."""

    name: str
    words: np.ndarray  # (records, words) uint64; zeros where missing
    present: np.ndarray  # (records,) bool
    popcounts: np.ndarray  # (records,) int32; 0 where missing

    @property
    def bits(self) -> int:
        return int(self.words.shape[1] * 64)


@dataclass(frozen=True)
class BlockingKeyColumn:
    """One keyed blocking key for every record (``present`` is False where a part was missing)."""

    name: str
    values: np.ndarray  # (records,) int64
    present: np.ndarray  # (records,) bool
    fields: tuple[str, ...]


@dataclass(frozen=True)
class RecordSet:
    """The records of all packages, stacked, with their encodings as numpy arrays."""

    agencies: tuple[str, ...]
    agency_codes: np.ndarray  # (records,) int16 index into ``agencies``
    record_ids: np.ndarray  # (records,) object
    events: pd.DataFrame  # agency, record_id and the event fields, one row per record
    filters: dict[str, FieldFilters]
    blocking_keys: dict[str, BlockingKeyColumn]
    schema: LinkageSchema
    schema_hash: str
    key_fingerprint: str

    def __len__(self) -> int:
        return len(self.record_ids)

    @property
    def total_pairs(self) -> int:
        """Every unordered pair of distinct records (linkage and de-duplication together)."""
        count = len(self)
        return count * (count - 1) // 2


def popcount_rows(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a packed ``uint64`` matrix."""
    return popcount(words).sum(axis=1, dtype=np.int32) if words.size else np.zeros(len(words), dtype=np.int32)


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per ``uint64`` word (``np.bitwise_count`` on numpy ≥ 2, a byte table otherwise)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    table = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)
    as_bytes = words.view(np.uint8).reshape(*words.shape, 8)
    return table[as_bytes].sum(axis=-1, dtype=np.uint8)


def check_compatible(packages: Sequence[EncodedPackage]) -> None:
    """Refuse packages that cannot be linked together, naming the one that differs and how."""
    if not packages:
        raise LinkageError("no packages to link; give at least one package")
    first = packages[0]
    seen: dict[str, EncodedPackage] = {}
    for package in packages:
        agency = package.manifest.agency
        if agency in seen:
            raise LinkageError(
                f"{package.path}: agency name {agency!r} is also used by {seen[agency].path}; "
                "each package must come from a different agency (re-encode one under another --agency name)"
            )
        seen[agency] = package
        if package.manifest.key_fingerprint != first.manifest.key_fingerprint:
            raise LinkageError(
                f"{package.path}: encoded with a different partnership key (key fingerprint "
                f"{package.manifest.key_fingerprint}) than {first.path} (key fingerprint "
                f"{first.manifest.key_fingerprint}); all agencies must encode with the same key"
            )
        if package.manifest.schema_hash != first.manifest.schema_hash:
            ours, theirs = first.manifest.schema_, package.manifest.schema_
            differences = _schema_differences(ours, theirs)
            raise LinkageError(
                f"{package.path}: encoded with a different linkage schema (schema hash "
                f"{package.manifest.schema_hash[:16]}…, {theirs.name!r}) than {first.path} (schema hash "
                f"{first.manifest.schema_hash[:16]}…, {ours.name!r}): {differences}; "
                "all agencies must encode with the same schema"
            )
        if len(package) == 0:
            raise LinkageError(
                f"{package.path}: the package holds no encoded records "
                f"({package.manifest.counts.rejected} of {package.manifest.counts.rows_in} rows were rejected); "
                "leave it out or fix the extract"
            )


def _schema_differences(first: LinkageSchema, other: LinkageSchema) -> str:
    """A short description of how two schemas differ (field and key names only)."""
    notes = []
    first_fields = {field.name: field for field in first.fields}
    other_fields = {field.name: field for field in other.fields}
    for name in sorted(set(first_fields) ^ set(other_fields)):
        notes.append(f"field {name} is in only one of them")
    for name in sorted(set(first_fields) & set(other_fields)):
        if first_fields[name] != other_fields[name]:
            notes.append(f"field {name} is encoded differently")
    first_keys = {key.name: key for key in first.blocking_keys}
    other_keys = {key.name: key for key in other.blocking_keys}
    for name in sorted(set(first_keys) ^ set(other_keys)):
        notes.append(f"blocking key {name} is in only one of them")
    for name in sorted(set(first_keys) & set(other_keys)):
        if first_keys[name] != other_keys[name]:
            notes.append(f"blocking key {name} is built differently")
    return "; ".join(notes) or "other settings differ"


def read_packages(
    paths: Sequence[str | os.PathLike[str]], *, progress: Progress | None = None
) -> list[EncodedPackage]:
    """Read and verify every package (checksums, counts), then check they are compatible."""
    packages = []
    for index, path in enumerate(paths):
        packages.append(read_package(path))
        if progress is not None:
            progress(index + 1, len(paths))
    check_compatible(packages)
    return packages


def record_set(packages: Sequence[EncodedPackage]) -> RecordSet:
    """Stack verified, compatible packages into one :class:`RecordSet`."""
    check_compatible(packages)
    schema = packages[0].manifest.schema_
    agencies = tuple(package.manifest.agency for package in packages)
    sizes = [len(package) for package in packages]
    agency_codes = np.repeat(np.arange(len(packages), dtype=np.int16), sizes)

    frames = []
    for package in packages:
        events = package.events()
        events.insert(0, "agency", package.manifest.agency)
        frames.append(events.reindex(columns=["agency", "record_id", *EVENT_COLUMNS]))
    events = pd.concat(frames, ignore_index=True)
    events["agency"] = events["agency"].astype("string")
    record_ids = events["record_id"].to_numpy(dtype=object)

    filters: dict[str, FieldFilters] = {}
    for spec in schema.fields:
        parts = [package.bloom_filters(spec.name) for package in packages]
        words = np.concatenate([part[0] for part in parts]) if parts else np.zeros((0, 1), np.uint64)
        present = np.concatenate([part[1] for part in parts])
        filters[spec.name] = FieldFilters(spec.name, np.ascontiguousarray(words), present, popcount_rows(words))

    blocking_keys: dict[str, BlockingKeyColumn] = {}
    for key_spec in schema.blocking_keys:
        series = pd.concat([package.blocking_keys(key_spec.name) for package in packages], ignore_index=True)
        present = series.notna().to_numpy()
        values = series.fillna(0).to_numpy(dtype=np.int64)
        fields = tuple(sorted({part.field for part in key_spec.parts}))
        blocking_keys[key_spec.name] = BlockingKeyColumn(key_spec.name, values, present, fields)

    logger.info("loaded %d records from %d package(s): %s", len(record_ids), len(packages), ", ".join(agencies))
    return RecordSet(
        agencies=agencies,
        agency_codes=agency_codes,
        record_ids=record_ids,
        events=events,
        filters=filters,
        blocking_keys=blocking_keys,
        schema=schema,
        schema_hash=packages[0].manifest.schema_hash,
        key_fingerprint=packages[0].manifest.key_fingerprint,
    )


def load_packages(paths: Sequence[str | os.PathLike[str]], *, progress: Progress | None = None) -> RecordSet:
    """Read, verify and stack packages: the linker's first step."""
    if not paths:
        raise LinkageError("no packages to link; give at least one package")
    return record_set(read_packages(paths, progress=progress))
