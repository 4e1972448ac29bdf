"""Find a review's subjects among the linked records, with the linkage's own model.

The subject package holds a handful of records (the victim, the perpetrator, perhaps under
a former name) encoded with the partnership key. Each subject record is scored against
*every* record of the linkage's packages: subjects are few, so a full scan costs a few
million comparisons, and it finds records that share no blocking key with the subject (a
changed surname and a mistyped date of birth), which blocking alone would miss. Records
that share a keyed blocking key with the subject are flagged as well, so the panel can see
how strong the evidence for each record is.

Scoring is the linker's, not a second model: the comparison levels come from
:func:`dalink.match.compare.comparison_levels` with the comparisons (Dice floors, ceilings
and cuts) saved in ``model.json``, and the probability from the trained
:class:`dalink.match.model.FellegiSunter`. A record is a match when its probability reaches
the threshold the linkage itself used for links.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from dalink.chronology.request import RequestRefused
from dalink.chronology.sources import LinkageSources
from dalink.encode.package import EncodedPackage
from dalink.errors import PackageError
from dalink.match.compare import comparison_levels
from dalink.match.load import record_set

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
CHUNK_RECORDS = 500_000


@dataclasses.dataclass(frozen=True)
class SubjectScores:
    """Every subject record scored against every linked record.

    ``probability`` and ``shares_blocking_key`` are ``(subjects, records)``; records are in
    the order of ``agencies`` / ``record_ids`` (the linkage packages stacked).
    """

    subject_ids: tuple[str, ...]
    subject_roles: tuple[str | None, ...]
    reference_dates: tuple[str | None, ...]
    """Each subject record's ``event_date`` in the subject package (e.g. the date of death)."""
    agencies: np.ndarray
    record_ids: np.ndarray
    probability: np.ndarray
    shares_blocking_key: np.ndarray
    match_threshold: float

    def matched(self, subject: int) -> np.ndarray:
        """Indices of the records whose probability reaches the threshold for one subject."""
        return np.flatnonzero(self.probability[subject] >= self.match_threshold)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def select_subjects(subject_package: EncodedPackage, wanted: Sequence[str]) -> np.ndarray:
    """Row positions of the requested subject records (all of them when none are named)."""
    ids = subject_package.table.column("record_id").to_pandas().astype(str).to_numpy()
    if not wanted:
        return np.arange(len(ids))
    position = {record_id: index for index, record_id in enumerate(ids)}
    unknown = [subject for subject in wanted if subject not in position]
    if unknown:
        raise RequestRefused(
            f"{len(unknown)} requested subject record id(s) are not in the subject package {subject_package.path}"
        )
    return np.array([position[subject] for subject in wanted], dtype=np.int64)


def match_subjects(
    sources: LinkageSources,
    subject_package: EncodedPackage,
    subjects: Sequence[str] = (),
    *,
    match_threshold: float | None = None,
    chunk_records: int = CHUNK_RECORDS,
    progress: Progress | None = None,
) -> SubjectScores:
    """Score the chosen subject records against every record of the linkage's packages."""
    if len(subject_package) == 0:
        raise PackageError(f"{subject_package.path}: the subject package holds no encoded records")
    chosen = select_subjects(subject_package, subjects)
    records = record_set([*sources.packages, subject_package])
    linked_count = len(records) - len(subject_package)
    comparisons = sources.model.comparisons
    missing_fields = [spec.field for spec in comparisons if spec.field not in records.filters]
    if missing_fields:
        raise PackageError(
            f"{subject_package.path}: the packages lack field(s) {', '.join(missing_fields)} that the model compares"
        )
    threshold = float(match_threshold if match_threshold is not None else sources.match_threshold)

    probability = np.zeros((len(chosen), linked_count), dtype=np.float64)
    shares_key = np.zeros((len(chosen), linked_count), dtype=bool)
    chunk_records = max(1, int(chunk_records))
    chunks = max(1, -(-linked_count // chunk_records))
    total_steps = len(chosen) * chunks
    for row, subject_position in enumerate(chosen):
        subject_index = linked_count + int(subject_position)
        for chunk, start in enumerate(range(0, linked_count, chunk_records)):
            right = np.arange(start, min(start + chunk_records, linked_count), dtype=np.int64)
            left = np.full(len(right), subject_index, dtype=np.int64)
            levels = comparison_levels(records, comparisons, left, right)
            probability[row, right] = sources.model.match_probability(levels)
            for key in records.blocking_keys.values():
                if key.present[subject_index]:
                    shares_key[row, right] |= key.present[right] & (key.values[right] == key.values[subject_index])
            if progress is not None:
                progress(row * chunks + chunk + 1, total_steps)

    subject_events = subject_package.events()
    subject_ids = subject_events["record_id"].astype(str).to_numpy()
    roles = subject_events["role"] if "role" in subject_events.columns else pd.Series([None] * len(subject_events))
    dates = subject_events["event_date"] if "event_date" in subject_events.columns else pd.Series([None] * len(subject_events))
    scores = SubjectScores(
        subject_ids=tuple(str(subject_ids[index]) for index in chosen),
        subject_roles=tuple(_text(roles.iloc[index]) for index in chosen),
        reference_dates=tuple(_text(dates.iloc[index]) for index in chosen),
        agencies=records.events["agency"].astype(str).to_numpy(dtype=object)[:linked_count],
        record_ids=np.asarray(records.record_ids[:linked_count]).astype(str).astype(object),
        probability=probability,
        shares_blocking_key=shares_key,
        match_threshold=threshold,
    )
    logger.info(
        "scored %d subject record(s) against %d linked records; %d match(es) at probability ≥ %.3f",
        len(chosen),
        linked_count,
        int((probability >= threshold).sum()),
        threshold,
    )
    return scores
