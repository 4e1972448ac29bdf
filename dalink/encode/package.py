"""The encoded package an agency sends to the linker: ``<agency>.dalink/``.

Layout::

    manifest.json     format, versions, schema + hash, key fingerprint, counts, checksums
    records.parquet   record_id, the clear event fields, one Bloom filter per identifier
                      (``bf_<field>``, fixed-size binary, null when missing) and the keyed
                      blocking keys (``bk_<name>``, int64, null when a part is missing)
    rejects.csv       row_number, record_id, column, reason — never an identifier's value

Written atomically: everything goes into a hidden temporary directory beside the target,
which is renamed into place only when complete, so a failed run leaves nothing behind.
Reading verifies every checksum and the row counts, and refuses a tampered package.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dalink._version import __version__
from dalink.encode.schema import LinkageSchema
from dalink.errors import OutputExistsError, PackageError

PACKAGE_FORMAT = "dalink-package"
PACKAGE_FORMAT_VERSION = 1
RECORDS_FILE = "records.parquet"
REJECTS_FILE = "rejects.csv"
MANIFEST_FILE = "manifest.json"
REJECT_COLUMNS = ["row_number", "record_id", "column", "reason"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RowCounts(_Frozen):
    """Every input row is either encoded or rejected: ``rows_in == encoded + rejected``."""

    rows_in: int = Field(ge=0)
    encoded: int = Field(ge=0)
    rejected: int = Field(ge=0)
    rejected_by_reason: dict[str, int] = {}


class FileEntry(_Frozen):
    sha256: str
    bytes: int


class Manifest(_Frozen):
    format: str = PACKAGE_FORMAT
    format_version: int = PACKAGE_FORMAT_VERSION
    dalink_version: str = __version__
    agency: str
    source_name: str = Field(description="File name of the extract (no directories).")
    schema_: LinkageSchema = Field(alias="schema")
    schema_hash: str
    key_fingerprint: str
    counts: RowCounts
    columns: list[str]
    files: dict[str, FileEntry]

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class EncodedPackage:
    """A verified package: its manifest and its records (event fields + encodings)."""

    path: Path
    manifest: Manifest
    table: pa.Table

    @property
    def agency(self) -> str:
        return self.manifest.agency

    @property
    def records_sha256(self) -> str:
        """SHA-256 of the records file (verified against the file by ``read_package``): which exact records."""
        return self.manifest.files[RECORDS_FILE].sha256

    def __len__(self) -> int:
        return self.table.num_rows

    def events(self) -> pd.DataFrame:
        """``record_id`` and the clear event fields (no encodings)."""
        names = [name for name in self.table.column_names if not name.startswith(("bf_", "bk_"))]
        return self.table.select(names).to_pandas()

    def bloom_filters(self, field: str) -> tuple[np.ndarray, np.ndarray]:
        """(packed filters as ``uint64`` words, one row per record; present mask) for one field."""
        return bloom_matrix(self.table.column(f"bf_{field}"))

    def blocking_keys(self, name: str) -> pd.Series:
        """One keyed blocking key per record (nullable ``Int64``)."""
        return self.table.column(f"bk_{name}").to_pandas().astype("Int64")


def bloom_matrix(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-size binary Bloom filters as a ``uint64`` matrix (zeros where missing) and a present mask."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = array.type.byte_width
    present = ~np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    data = array.buffers()[1]
    raw = np.frombuffer(data, dtype=np.uint8, count=(array.offset + len(array)) * width)[array.offset * width :]
    matrix = raw.reshape(len(array), width).copy()
    matrix[~present] = 0
    return matrix.view(np.uint64), present


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_directory(target: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``target``; rename it to ``target`` only on success."""
    final = Path(target)
    if final.exists() and not overwrite:
        raise OutputExistsError(f"{final}: the output exists; choose another path or remove it first")
    parent = final.parent if str(final.parent) else Path(".")
    if not parent.exists():
        raise OutputExistsError(f"{final}: the directory {parent} does not exist")
    temporary = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=parent))
    try:
        yield temporary
        if final.exists() and overwrite:
            shutil.rmtree(final)
        os.replace(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def write_package(
    output: str | os.PathLike[str],
    *,
    table: pa.Table,
    rejects: pd.DataFrame,
    manifest_fields: dict,
    overwrite: bool = False,
) -> Manifest:
    """Write records, rejects and a manifest with checksums, atomically."""
    with atomic_directory(output, overwrite=overwrite) as directory:
        # Bloom filters carry per-record noise and record ids are unique: a dictionary of them only costs time
        dictionary = [name for name in table.column_names if not name.startswith("bf_") and name != "record_id"]
        pq.write_table(table, directory / RECORDS_FILE, compression="zstd", use_dictionary=dictionary)
        rejects.reindex(columns=REJECT_COLUMNS).to_csv(directory / REJECTS_FILE, index=False)
        files = {
            name: FileEntry(sha256=file_sha256(directory / name), bytes=(directory / name).stat().st_size)
            for name in (RECORDS_FILE, REJECTS_FILE)
        }
        manifest = Manifest(columns=table.column_names, files=files, **manifest_fields)
        (directory / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """The manifest of a package, validated (checksums are not verified here)."""
    directory = Path(path)
    manifest_path = directory / MANIFEST_FILE
    if not directory.is_dir():
        raise PackageError(f"{directory}: not a dalink package (no such directory)")
    if not manifest_path.exists():
        raise PackageError(f"{directory}: not a dalink package (no {MANIFEST_FILE})")
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PackageError(f"{manifest_path}: the manifest is not valid JSON (truncated or tampered?)") from None
    if not isinstance(data, dict) or data.get("format") != PACKAGE_FORMAT:
        raise PackageError(f"{manifest_path}: not a dalink package manifest")
    if data.get("format_version") != PACKAGE_FORMAT_VERSION:
        raise PackageError(
            f"{manifest_path}: package format version {data.get('format_version')} is not supported "
            f"(this dalink reads version {PACKAGE_FORMAT_VERSION})"
        )
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(".".join(map(str, item["loc"])) + ": " + item["msg"] for item in error.errors()[:5])
        raise PackageError(f"{manifest_path}: the manifest is invalid ({problems})") from None
    if manifest.schema_.hash != manifest.schema_hash:
        raise PackageError(f"{manifest_path}: the schema does not match its hash (tampered?)")
    return manifest


def read_package(
    path: str | os.PathLike[str], *, columns: list[str] | None = None, progress: Callable[[int, int], None] | None = None
) -> EncodedPackage:
    """Read and verify a package: checksums, sizes and row counts must all agree."""
    directory = Path(path)
    manifest = read_manifest(directory)
    for name, entry in manifest.files.items():
        file_path = directory / name
        if not file_path.exists():
            raise PackageError(f"{directory}: {name} is missing")
        if file_path.stat().st_size != entry.bytes:
            raise PackageError(f"{file_path}: size differs from the manifest (truncated or tampered)")
        if file_sha256(file_path) != entry.sha256:
            raise PackageError(f"{file_path}: checksum differs from the manifest (tampered or corrupted)")
    try:
        table = pq.read_table(directory / RECORDS_FILE, columns=columns)
    except (OSError, pa.ArrowException) as error:
        raise PackageError(f"{directory / RECORDS_FILE}: cannot be read ({type(error).__name__})") from None
    if table.num_rows != manifest.counts.encoded:
        raise PackageError(f"{directory}: {table.num_rows} records but the manifest says {manifest.counts.encoded}")
    if progress is not None:
        progress(table.num_rows, table.num_rows)
    return EncodedPackage(path=directory, manifest=manifest, table=table)
