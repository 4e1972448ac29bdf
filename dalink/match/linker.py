"""``dalink link``: packages in, entities out.

Stages (each logged with its timing):

1. **load** – verify and stack the packages (:mod:`dalink.match.load`);
2. **scale** – measure each field's Dice floor (random pairs) and ceiling (pairs that share
   a blocking key), which fixes the agreement levels for this data and hardening;
3. **train** – u from random pairs, m by EM sessions on each keyed blocking key's pairs;
4. **block + compare** – stream the union of the blocking passes in chunks; per pair only
   the two record indices and one integer pattern code are kept (12 bytes a pair);
5. **score** – prior and threshold from the model, a probability per pair by pattern;
6. **cluster** – components over links, split where inconsistent;
7. **write** – ``entities.parquet``, ``pairs.parquet``, ``model.json``, ``summary.json``,
   atomically (a failed run leaves nothing behind).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from dalink._version import __version__
from dalink.encode.package import EncodedPackage, atomic_directory
from dalink.errors import OutputExistsError
from dalink.match.blocking import Blocker, BlockingPass, keyed_passes, lsh_passes, random_pairs
from dalink.match.cluster import ClusterResult, cluster, entity_ids
from dalink.match.compare import ComparisonSpec, build_comparisons, comparison_levels
from dalink.match.load import RecordSet, load_packages, record_set
from dalink.match.model import (
    FellegiSunter,
    PatternCounts,
    TrainingSession,
    count_patterns,
    decode_patterns,
    encode_patterns,
    merge_patterns,
)

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
PROGRESS_TOTAL = 1000
ENTITIES_FILE = "entities.parquet"
PAIRS_FILE = "pairs.parquet"
MODEL_FILE = "model.json"
SUMMARY_FILE = "summary.json"


class LinkConfig(BaseModel):
    """Settings of one linkage run; the defaults suit partnership data of any size."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    random_pairs: int = Field(1_000_000, ge=1000, description="Random pairs sampled to estimate u and Dice floors.")
    session_pairs: int = Field(1_000_000, ge=1000, description="Pairs per EM training session at most.")
    chunk_pairs: int = Field(2_000_000, ge=1000, description="Candidate pairs generated and compared at a time.")
    max_block_size: int = Field(2_000, ge=2, description="Keyed blocking groups larger than this are skipped.")
    lsh: bool = Field(True, description="Add MinHash LSH passes over name and date-of-birth filters.")
    lsh_bins: int = Field(64, ge=4, le=256)
    lsh_max_bands: int = Field(16, ge=1, le=64)
    lsh_pairs_per_record: float = Field(2.0, gt=0, description="Target pairs per record per LSH band.")
    lsh_max_block_size: int = Field(100, ge=2)
    match_threshold: float | None = Field(
        None, gt=0, lt=1, description="Match probability for a link; default: the model's expected-F1 optimum."
    )
    min_pair_probability: float = Field(0.01, ge=0, le=1, description="Pairs at or above this go to pairs.parquet.")
    max_iterations: int = Field(100, ge=1)
    max_component_size: int = Field(300, ge=3)
    random_state: int = 0


@dataclass
class LinkResult:
    """What :func:`link` produced (the files are in ``output_dir``)."""

    output_dir: Path
    entities: pd.DataFrame
    model: FellegiSunter
    summary: dict


class _Stages:
    """Stage timings for the log and the summary, and the overall progress callback."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}
        self._started = time.perf_counter()
        self._last = self._started

    def done(self, stage: str, fraction: float) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self._last, 3)
        logger.info("stage %s done in %.2fs", stage, now - self._last)
        self._last = now
        self.report(fraction)

    def report(self, fraction: float) -> None:
        if self.progress is not None:
            self.progress(int(round(min(max(fraction, 0.0), 1.0) * PROGRESS_TOTAL)), PROGRESS_TOTAL)


@dataclass
class _StoredPairs:
    """Candidate pairs kept compactly: record indices and pattern code, in chunks."""

    left: list[np.ndarray]
    right: list[np.ndarray]
    codes: list[np.ndarray]
    first_pass: list[np.ndarray]

    def concatenated(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        def join(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        return (
            join(self.left, np.int32),
            join(self.right, np.int32),
            join(self.codes, np.int64),
            join(self.first_pass, np.int16),
        )


def _training_sessions(
    records: RecordSet,
    blocker: Blocker,
    comparisons: Sequence[ComparisonSpec],
    session_pairs: dict[int, tuple[np.ndarray, np.ndarray]],
) -> list[TrainingSession]:
    sessions = []
    for index, (left, right) in session_pairs.items():
        blocking_pass = blocker.passes[index]
        levels = comparison_levels(records, comparisons, left, right)
        sessions.append(TrainingSession(blocking_pass.name, blocking_pass.fields, count_patterns(levels)))
    return sessions


def _chao_recall(found_by: np.ndarray, weights: np.ndarray) -> float | None:
    """Share of true matches blocking kept, estimated from how many passes found each link.

    Chao's estimator of unseen classes treats each pass as a capture occasion: links found by
    exactly one pass (f1) and by exactly two (f2) estimate the links no pass found as
    f1² / (2 f2). Passes are positively dependent (easy pairs meet in every pass), so this is
    optimistic; it still flags a blocking scheme that misses much.
    """
    total = float(weights.sum())
    if total <= 0:
        return None
    single = float(weights[found_by == 1].sum())
    double = float(weights[found_by == 2].sum())
    unseen = single * single / (2 * double) if double > 0 else (single * (single - 1) / 2 if single > 1 else 0.0)
    return total / (total + unseen)


def link(
    packages: Sequence[str | os.PathLike[str] | EncodedPackage],
    output_dir: str | os.PathLike[str],
    *,
    config: LinkConfig | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> LinkResult:
    """Link and de-duplicate encoded packages into entities; write the linkage directory."""
    config = config or LinkConfig()
    if Path(output_dir).exists() and not overwrite:
        raise OutputExistsError(f"{output_dir}: the output exists; choose another path or remove it first")
    stages = _Stages(progress)
    generator = np.random.default_rng(config.random_state)

    if packages and all(isinstance(package, EncodedPackage) for package in packages):
        records = record_set(list(packages))  # type: ignore[arg-type]
    else:
        records = load_packages([getattr(package, "path", package) for package in packages])  # type: ignore[misc]
    stages.done("load", 0.05)

    passes: list[BlockingPass] = keyed_passes(records, max_block_size=config.max_block_size)
    keyed_count = len(passes)
    if config.lsh:
        passes += lsh_passes(
            records,
            bins=config.lsh_bins,
            max_bands=config.lsh_max_bands,
            pairs_per_record=config.lsh_pairs_per_record,
            max_block_size=config.lsh_max_block_size,
            random_state=config.random_state,
        )
    blocker = Blocker(records, passes)
    stages.done("blocking index", 0.12)

    random_left, random_right = random_pairs(len(records), config.random_pairs, generator)
    per_session = max(1000, config.session_pairs)
    session_pairs = {
        index: blocker.sample_pass_pairs(index, per_session, generator) for index in range(keyed_count)
    }
    if not session_pairs and len(passes):
        session_pairs = {0: blocker.sample_pass_pairs(0, per_session, generator)}
    if session_pairs:
        scale_left = np.concatenate([pair[0] for pair in session_pairs.values()])
        scale_right = np.concatenate([pair[1] for pair in session_pairs.values()])
    else:
        scale_left, scale_right = random_left, random_right
    comparisons = build_comparisons(records, random_left, random_right, scale_left, scale_right)
    stages.done("scale", 0.18)

    model = FellegiSunter(comparisons, max_iterations=config.max_iterations, random_state=config.random_state)
    model.fit_u(comparison_levels(records, comparisons, random_left, random_right))
    sessions = _training_sessions(
        records, blocker, comparisons, {i: p for i, p in session_pairs.items() if i < keyed_count}
    )
    stages.done("u estimation", 0.22)

    stored = _StoredPairs([], [], [], [])
    pattern_parts: list[PatternCounts] = []
    for chunk in blocker.chunks(config.chunk_pairs):
        levels = comparison_levels(records, comparisons, chunk.left, chunk.right)
        codes = encode_patterns(levels)
        unique, counts = np.unique(codes, return_counts=True)
        pattern_parts.append(PatternCounts(decode_patterns(unique, len(comparisons)), counts.astype(np.int64)))
        if len(pattern_parts) > 16:
            pattern_parts = [merge_patterns(pattern_parts, len(comparisons))]
        stored.left.append(chunk.left)
        stored.right.append(chunk.right)
        stored.codes.append(codes.astype(np.int32) if len(comparisons) <= 7 else codes)
        stored.first_pass.append(np.full(len(chunk.left), chunk.pass_index, dtype=np.int16))
        stages.report(0.22 + 0.45 * (chunk.pass_index + 1) / max(len(passes), 1))
    candidates = merge_patterns(pattern_parts, len(comparisons))
    stages.done("block + compare", 0.67)

    model.fit_m(sessions, fallback=candidates)
    model.fit_prior(candidates, records.total_pairs)
    threshold = config.match_threshold if config.match_threshold is not None else model.match_threshold_
    stages.done("EM", 0.72)

    left, right, codes, first_pass = stored.concatenated()
    del stored
    pattern_probability = model.match_probability(candidates.patterns)
    pattern_weight = model.match_weight(candidates.patterns)
    candidate_codes = encode_patterns(candidates.patterns)
    lookup = np.searchsorted(candidate_codes, codes.astype(np.int64))
    probability = pattern_probability[lookup]
    weight = pattern_weight[lookup]
    del lookup, codes
    stages.done("score", 0.76)

    def scorer(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return model.match_probability(comparison_levels(records, comparisons, first, second))

    clusters = cluster(
        len(records), left, right, probability, threshold, scorer, max_component_size=config.max_component_size
    )
    entity = entity_ids(clusters.labels, records.events["agency"].to_numpy(dtype=object), records.record_ids)
    stages.done("cluster", 0.85)

    summary = _summary(records, blocker, model, config, threshold, left, right, probability, clusters, stages)
    entities = records.events.copy()
    entities.insert(2, "entity_id", entity)

    with atomic_directory(output_dir, overwrite=overwrite) as directory:
        pq.write_table(pa.Table.from_pandas(entities, preserve_index=False), directory / ENTITIES_FILE, compression="zstd")
        _write_pairs(directory / PAIRS_FILE, records, left, right, weight, probability, clusters.labels, config)
        model.save(directory / MODEL_FILE, schema_hash=records.schema_hash)
        stages.done("write", 1.0)
        summary["timings_seconds"] = stages.timings
        (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info(
        "linked %d records into %d entities (%d candidate pairs, %d links)",
        len(records),
        clusters.components,
        len(left),
        summary["links"],
    )
    return LinkResult(output_dir=Path(output_dir), entities=entities, model=model, summary=summary)


def _write_pairs(
    path: Path,
    records: RecordSet,
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    probability: np.ndarray,
    labels: np.ndarray,
    config: LinkConfig,
) -> None:
    """Scored pairs above ``min_pair_probability``, written in chunks."""
    keep = np.flatnonzero(probability >= config.min_pair_probability)
    agencies = np.asarray(records.agencies, dtype=object)
    schema = pa.schema(
        [
            ("agency_l", pa.string()),
            ("record_id_l", pa.string()),
            ("agency_r", pa.string()),
            ("record_id_r", pa.string()),
            ("match_weight", pa.float64()),
            ("match_probability", pa.float64()),
            ("same_entity", pa.bool_()),
        ]
    )
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, max(len(keep), 1), 1_000_000):
            rows = keep[start : start + 1_000_000]
            first, second = left[rows], right[rows]
            table = pa.table(
                {
                    "agency_l": pa.array(agencies[records.agency_codes[first]], type=pa.string()),
                    "record_id_l": pa.array(records.record_ids[first], type=pa.string()),
                    "agency_r": pa.array(agencies[records.agency_codes[second]], type=pa.string()),
                    "record_id_r": pa.array(records.record_ids[second], type=pa.string()),
                    "match_weight": pa.array(weight[rows], type=pa.float64()),
                    "match_probability": pa.array(probability[rows], type=pa.float64()),
                    "same_entity": pa.array(labels[first] == labels[second], type=pa.bool_()),
                },
                schema=schema,
            )
            writer.write_table(table)


def _summary(
    records: RecordSet,
    blocker: Blocker,
    model: FellegiSunter,
    config: LinkConfig,
    threshold: float,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    clusters: ClusterResult,
    stages: _Stages,
) -> dict:
    """``summary.json``: counts, blocking statistics, the EM trace, estimated quality."""
    linked = probability >= threshold
    link_left, link_right, link_probability = left[linked], right[linked], probability[linked]
    found_by = np.zeros(len(link_left), dtype=np.int64)
    for statistics, blocking_pass in zip(blocker.statistics, blocker.passes):
        agrees = blocking_pass.agrees(link_left, link_right)
        found_by += agrees
        weight_total = float(link_probability.sum())
        statistics.estimated_recall = (
            round(float(link_probability[agrees].sum()) / weight_total, 6) if weight_total > 0 else None
        )
    blocking_recall = _chao_recall(found_by, link_probability)
    expected_matches = float(probability.sum())
    expected_true_links = float(link_probability.sum())
    precision = expected_true_links / max(int(linked.sum()), 1) if linked.any() else None
    recall = (expected_true_links / expected_matches) * (blocking_recall or 1.0) if expected_matches > 0 else None
    candidate_pairs = len(left)
    per_agency = records.events["agency"].value_counts().reindex(list(records.agencies)).astype(int)
    return {
        "format": "dalink-linkage-summary",
        "format_version": 1,
        "dalink_version": __version__,
        "schema_hash": records.schema_hash,
        "key_fingerprint": records.key_fingerprint,
        "agencies": {agency: int(count) for agency, count in per_agency.items()},
        "records": len(records),
        "entities": clusters.components,
        "largest_entity": clusters.largest_entity,
        "pairs_compared": candidate_pairs,
        "links": int(linked.sum()),
        "match_threshold": threshold,
        "blocking": {
            "total_pairs": records.total_pairs,
            "candidate_pairs": candidate_pairs,
            "reduction_ratio": 1.0 - candidate_pairs / max(records.total_pairs, 1),
            "estimated_recall": blocking_recall,
            "passes": [asdict(statistics) for statistics in blocker.statistics],
        },
        "model": {
            "probability_two_random_records_match": model.prior_,
            "sessions": [session.model_dump(mode="json") for session in model.sessions_],
            "comparisons": [
                {"field": spec.field, "floor": spec.floor, "ceiling": spec.ceiling, "levels": spec.labels}
                for spec in model.comparisons
            ],
        },
        "clustering": {
            "entities": clusters.components,
            "inconsistent_components": clusters.inconsistent_components,
            "split_components": clusters.split_components,
        },
        "estimated_quality": {
            "expected_matching_pairs": expected_matches,
            "precision": precision,
            "recall": recall,
            "note": "pairwise, from the model's own probabilities; recall includes the blocking estimate",
        },
        "config": config.model_dump(mode="json"),
    }
