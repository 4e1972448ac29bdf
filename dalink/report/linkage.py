"""Read a linkage directory (the output of ``dalink link``) for reporting.

The report needs three things from it: the entities with their event fields (what the
measures count), the scored pairs (where the linkage could have gone the other way) and the
summary (the model's own estimate of what blocking and the threshold lost). Problems are
reported by file and column; no value from the files is ever quoted.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dalink.errors import ReportError

logger = logging.getLogger(__name__)

ENTITIES_FILE = "entities.parquet"
PAIRS_FILE = "pairs.parquet"
SUMMARY_FILE = "summary.json"
MODEL_FILE = "model.json"
ENTITY_COLUMNS = ("agency", "record_id", "entity_id", "event_date", "event_type", "local_authority", "role")
PAIR_COLUMNS = ("agency_l", "record_id_l", "agency_r", "record_id_r", "match_probability")


@dataclasses.dataclass(frozen=True)
class Linkage:
    """A linkage directory in memory.

    ``left`` and ``right`` are row positions in ``entities`` for each row of ``pairs``, so
    resampling code never joins on record ids again.
    """

    directory: Path
    entities: pd.DataFrame
    pairs: pd.DataFrame
    left: np.ndarray
    right: np.ndarray
    summary: dict[str, Any]
    model: dict[str, Any]

    @property
    def match_threshold(self) -> float:
        """The probability at which the linker made a link (0.5 if the summary lacks it)."""
        value = self.summary.get("match_threshold")
        return float(value) if isinstance(value, (int, float)) else 0.5

    @property
    def estimated_precision(self) -> float | None:
        return _quality(self.summary, "precision")

    @property
    def estimated_recall(self) -> float | None:
        return _quality(self.summary, "recall")

    @property
    def blocking_recall(self) -> float | None:
        value = self.summary.get("blocking", {}).get("estimated_recall")
        return float(value) if isinstance(value, (int, float)) else None


def _quality(summary: dict[str, Any], name: str) -> float | None:
    value = summary.get("estimated_quality", {}).get(name)
    return float(value) if isinstance(value, (int, float)) else None


def _read_json(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ReportError(f"{path}: missing; is this a dalink linkage directory?")
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ReportError(f"{path}: cannot read ({type(error).__name__})") from None
    if not isinstance(loaded, dict):
        raise ReportError(f"{path}: expected a JSON object")
    return loaded


def _read_parquet(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        raise ReportError(f"{path}: missing; is this a dalink linkage directory?")
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises many types; wrap them once, here
        raise ReportError(f"{path}: cannot read ({type(error).__name__})") from None
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ReportError(f"{path}: lacks column(s) {', '.join(missing)}")
    return frame


def read_linkage(directory: str | os.PathLike[str]) -> Linkage:
    """Load ``entities.parquet``, ``pairs.parquet``, ``summary.json`` and ``model.json``."""
    root = Path(directory)
    if not root.is_dir():
        raise ReportError(f"{root}: not a directory; expected the output of dalink link")
    entities = _read_parquet(root / ENTITIES_FILE, ENTITY_COLUMNS)
    if entities["entity_id"].isna().any():
        raise ReportError(f"{root / ENTITIES_FILE}: entity_id is missing on some records")
    entities = entities.reset_index(drop=True)
    entities["agency"] = entities["agency"].astype(str)
    entities["record_id"] = entities["record_id"].astype(str)
    if entities.duplicated(["agency", "record_id"]).any():
        raise ReportError(f"{root / ENTITIES_FILE}: some (agency, record_id) appear twice")
    pairs = _read_parquet(root / PAIRS_FILE, PAIR_COLUMNS)
    left, right = pair_positions(entities, pairs, source=root / PAIRS_FILE)
    summary = _read_json(root / SUMMARY_FILE, required=True)
    model = _read_json(root / MODEL_FILE, required=False)
    logger.info("read linkage: %d records, %d scored pairs", len(entities), len(pairs))
    return Linkage(
        directory=root,
        entities=entities,
        pairs=pairs.reset_index(drop=True),
        left=left,
        right=right,
        summary=summary,
        model=model,
    )


def pair_positions(
    entities: pd.DataFrame, pairs: pd.DataFrame, *, source: Path | str = PAIRS_FILE
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions in ``entities`` of both records of every pair (internal helper)."""
    index = pd.MultiIndex.from_arrays(
        [entities["agency"].astype(str).to_numpy(), entities["record_id"].astype(str).to_numpy()]
    )
    positions = []
    for side in ("l", "r"):
        keys = pd.MultiIndex.from_arrays(
            [pairs[f"agency_{side}"].astype(str).to_numpy(), pairs[f"record_id_{side}"].astype(str).to_numpy()]
        )
        found = index.get_indexer(keys)
        if (found < 0).any():
            raise ReportError(f"{source}: {int((found < 0).sum())} pair record(s) are not in the entities file")
        positions.append(found.astype(np.int64))
    return positions[0], positions[1]
