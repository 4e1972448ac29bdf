"""What a chronology reads: the linkage directory and the packages it was made from.

The linkage directory holds entities and the trained model but not the encodings, and the
subject's records can only be compared with encodings. So the packages the linkage was
made from are read again: from ``inputs.json`` in the linkage directory (written by the
linker: agency, absolute path and SHA-256 of each package's records) or, always taking
precedence, from paths the caller gives.

Before any comparison every package is checked against the linkage and the subject: its
checksums (as for linking), its records' SHA-256 against ``inputs.json``, its key
fingerprint and schema hash against the subject package's and the model's, and its record
ids against ``entities.parquet``. A subject encoded under another key would match nobody
and say so nowhere; a package re-encoded since the linkage would attach events to the wrong
entities. Both are refused with the package named, never a value.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from dalink.encode.package import EncodedPackage, read_package
from dalink.errors import LinkageError, PackageError
from dalink.match.model import FellegiSunter
from dalink.match.outputs import INPUTS_FILE, LinkageInputs

logger = logging.getLogger(__name__)

ENTITIES_FILE = "entities.parquet"
MODEL_FILE = "model.json"
SUMMARY_FILE = "summary.json"
ENTITY_COLUMNS = ("agency", "record_id", "entity_id", "event_date", "event_type", "local_authority", "role")


@dataclasses.dataclass(frozen=True)
class LinkageSources:
    """A linkage directory and its verified packages, ready for matching subjects."""

    directory: Path
    entities: pd.DataFrame
    model: FellegiSunter
    match_threshold: float
    packages: tuple[EncodedPackage, ...]


def read_inputs(linkage_dir: str | os.PathLike[str]) -> LinkageInputs | None:
    """``inputs.json`` of a linkage directory, or None when the linker did not write one."""
    path = Path(linkage_dir) / INPUTS_FILE
    if not path.exists():
        return None
    try:
        return LinkageInputs.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise LinkageError(f"{path}: cannot be read as JSON") from None
    except ValidationError as error:
        problems = "; ".join(".".join(map(str, item["loc"])) + ": " + item["msg"] for item in error.errors()[:3])
        raise LinkageError(f"{path}: not a valid list of linkage inputs ({problems})") from None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise LinkageError(f"{path}: missing; is this a dalink linkage directory?")
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise LinkageError(f"{path}: cannot be read as JSON") from None
    if not isinstance(loaded, dict):
        raise LinkageError(f"{path}: expected a JSON object")
    return loaded


def read_entities(linkage_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """``entities.parquet`` with ``agency`` and ``record_id`` as text, checked for the needed columns."""
    path = Path(linkage_dir) / ENTITIES_FILE
    if not path.exists():
        raise LinkageError(f"{path}: missing; is this a dalink linkage directory?")
    try:
        entities = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises many types; wrap them once, here
        raise LinkageError(f"{path}: cannot be read ({type(error).__name__})") from None
    missing = [column for column in ENTITY_COLUMNS if column not in entities.columns]
    if missing:
        raise LinkageError(f"{path}: lacks column(s) {', '.join(missing)}")
    entities = entities.reset_index(drop=True)
    entities["agency"] = entities["agency"].astype(str)
    entities["record_id"] = entities["record_id"].astype(str)
    if entities["entity_id"].isna().any():
        raise LinkageError(f"{path}: entity_id is missing on some records")
    if entities.duplicated(["agency", "record_id"]).any():
        raise LinkageError(f"{path}: some (agency, record_id) appear twice")
    return entities


def _package_paths(
    linkage_dir: Path, packages: Sequence[str | os.PathLike[str]] | None
) -> tuple[list[Path], dict[str, str]]:
    """Package paths to read and, from ``inputs.json``, the records checksum expected per agency."""
    inputs = read_inputs(linkage_dir)
    expected = {item.agency: item.records_sha256 for item in inputs.packages} if inputs else {}
    if packages:
        return [Path(path) for path in packages], expected
    if inputs is None:
        raise LinkageError(
            f"{linkage_dir}: no {INPUTS_FILE} says which packages were linked; "
            "give the package directories (--packages)"
        )
    paths = []
    for item in inputs.packages:
        path = Path(item.path)
        paths.append(path if path.is_absolute() else linkage_dir / path)
    return paths, expected


def _check_against_subject(package: EncodedPackage, subject: EncodedPackage) -> None:
    if package.manifest.key_fingerprint != subject.manifest.key_fingerprint:
        raise PackageError(
            f"{subject.path}: the subject package was encoded with a different partnership key "
            f"(key fingerprint {subject.manifest.key_fingerprint}) than {package.path} "
            f"(key fingerprint {package.manifest.key_fingerprint}); encode the subjects with the partnership key"
        )
    if package.manifest.schema_hash != subject.manifest.schema_hash:
        raise PackageError(
            f"{subject.path}: the subject package was encoded with a different linkage schema "
            f"(schema hash {subject.manifest.schema_hash[:16]}…) than {package.path} "
            f"(schema hash {package.manifest.schema_hash[:16]}…); encode the subjects with the partnership's schema"
        )


def _check_against_entities(package: EncodedPackage, entities: pd.DataFrame, entities_path: Path) -> None:
    """The package holds exactly the records the linkage holds for its agency."""
    linked = entities.loc[entities["agency"] == package.agency, "record_id"]
    ours = pd.Index(package.table.column("record_id").to_pandas().astype(str))
    if len(linked) != len(ours) or not ours.isin(linked).all():
        raise PackageError(
            f"{package.path}: its records are not the ones linked in {entities_path} for agency "
            f"{package.agency!r} ({len(ours)} records in the package, {len(linked)} linked); "
            "use the package the linkage was made from"
        )


def open_linkage(
    linkage_dir: str | os.PathLike[str],
    subject: EncodedPackage,
    *,
    packages: Sequence[str | os.PathLike[str]] | None = None,
) -> LinkageSources:
    """Read the linkage directory and its packages, and check they fit each other and the subject."""
    directory = Path(linkage_dir)
    if not directory.is_dir():
        raise LinkageError(f"{directory}: not a directory; expected the output of dalink link")
    entities = read_entities(directory)
    model = FellegiSunter.load(directory / MODEL_FILE)
    summary = _read_json(directory / SUMMARY_FILE)
    if getattr(model, "schema_hash_", subject.manifest.schema_hash) != subject.manifest.schema_hash:
        raise PackageError(
            f"{subject.path}: the subject package's schema (hash {subject.manifest.schema_hash[:16]}…) is not "
            f"the one the linkage model was trained on ({directory / MODEL_FILE})"
        )
    fingerprint = summary.get("key_fingerprint")
    if isinstance(fingerprint, str) and fingerprint != subject.manifest.key_fingerprint:
        raise PackageError(
            f"{subject.path}: the subject package was encoded with a different partnership key "
            f"(key fingerprint {subject.manifest.key_fingerprint}) than the linkage "
            f"(key fingerprint {fingerprint}); encode the subjects with the partnership key"
        )
    threshold = summary.get("match_threshold")
    match_threshold = float(threshold) if isinstance(threshold, (int, float)) else float(model.match_threshold_)

    paths, expected_sha256 = _package_paths(directory, packages)
    read = []
    for path in paths:
        package = read_package(path)
        _check_against_subject(package, subject)
        expected = expected_sha256.get(package.agency)
        if expected is not None and expected != package.records_sha256:
            raise PackageError(
                f"{package.path}: its records differ from those the linkage was made from "
                f"({directory / INPUTS_FILE}); use the package that was linked"
            )
        _check_against_entities(package, entities, directory / ENTITIES_FILE)
        read.append(package)
    agencies = [package.agency for package in read]
    if len(set(agencies)) != len(agencies):
        raise PackageError("two of the packages are from the same agency; give each linked package once")
    missing = sorted(set(entities["agency"]) - set(agencies))
    if missing:
        raise PackageError(
            f"{directory / ENTITIES_FILE}: agency(ies) {', '.join(missing)} are linked but their packages "
            "were not given; give every package the linkage was made from"
        )
    if subject.agency in agencies:
        raise PackageError(
            f"{subject.path}: the subject package uses the agency name {subject.agency!r}, which a linked "
            "package uses too; encode the subjects under another --agency name (e.g. dardr)"
        )
    logger.info("linkage %s: %d records in %d packages verified", directory, len(entities), len(read))
    return LinkageSources(
        directory=directory,
        entities=entities,
        model=model,
        match_threshold=match_threshold,
        packages=tuple(read),
    )
