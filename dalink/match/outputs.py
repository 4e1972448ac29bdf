"""What ``dalink link`` writes besides the entities: ``pairs.parquet``, ``summary.json``, ``inputs.json``.

The summary is the linker's account of itself: counts, blocking statistics per pass, the EM
sessions, the comparison scales, what clustering did, and the model's own estimate of
precision and recall (pairwise), so a reader can judge a linkage without the truth.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from dalink._version import __version__
from dalink.encode.package import EncodedPackage
from dalink.match.blocking import Blocker
from dalink.match.cluster import ClusterResult
from dalink.match.load import RecordSet
from dalink.match.model import FellegiSunter


INPUTS_FILE = "inputs.json"


class LinkageInput(BaseModel):
    """One package the linkage was made from (a row of ``inputs.json``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    agency: str
    path: str
    records_sha256: str


class LinkageInputs(BaseModel):
    """``inputs.json``. The linker owns this format, so fields it may add later are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    packages: tuple[LinkageInput, ...]


def write_inputs(path: Path, packages: Sequence[EncodedPackage]) -> None:
    """``inputs.json``: which packages (absolute path, records checksum) the linkage was made from.

    ``dalink chronology`` reads the packages again to compare a subject's encodings, and the
    checksum lets it refuse a package re-encoded since the linkage.
    """
    inputs = LinkageInputs(
        packages=tuple(
            LinkageInput(
                agency=package.agency,
                path=str(Path(package.path).resolve()),
                records_sha256=package.records_sha256,
            )
            for package in packages
        )
    )
    path.write_text(json.dumps(inputs.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")


def chao_recall(found_by: np.ndarray, weights: np.ndarray) -> float | None:
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


def write_pairs(
    path: Path,
    records: RecordSet,
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    probability: np.ndarray,
    labels: np.ndarray,
    min_pair_probability: float,
) -> None:
    """Scored pairs at or above ``min_pair_probability``, written in chunks."""
    keep = np.flatnonzero(probability >= min_pair_probability)
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


def linkage_summary(
    records: RecordSet,
    blocker: Blocker,
    model: FellegiSunter,
    config: dict,
    threshold: float,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    clusters: ClusterResult,
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
    blocking_recall = chao_recall(found_by, link_probability)
    expected_matches = float(probability.sum(dtype=np.float64))
    expected_true_links = float(link_probability.sum(dtype=np.float64))
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
            "links_refused_by_role_constraints": clusters.constrained_links,
        },
        "estimated_quality": {
            "expected_matching_pairs": expected_matches,
            "precision": precision,
            "recall": recall,
            "note": "pairwise, from the model's own probabilities; recall includes the blocking estimate",
        },
        "config": config,
    }
