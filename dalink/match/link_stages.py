"""The pieces :func:`dalink.match.linker.link` runs between its stages.

Why a module of its own: ``link`` reads as the list of stages it runs; how progress is timed,
how candidate pairs are held compactly, how training sessions are drawn and how a
threshold is found over per-pair weights are each a step of their own, tested apart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dalink.match.blocking import Blocker, random_pairs
from dalink.match.compare import ComparisonSpec, comparison_levels, swap_key_name
from dalink.match.frequency import TermFrequencies
from dalink.match.load import RecordSet
from dalink.match.model import FellegiSunter, TrainingSession, count_patterns
from dalink.match.probability import expected_f1_threshold

if TYPE_CHECKING:
    from dalink.match.linker import LinkConfig

logger = logging.getLogger("dalink.match.linker")  # the stages log as the linkage run they belong to

Progress = Callable[[int, int], None]
PROGRESS_TOTAL = 1000


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
    """Candidate pairs kept compactly, chunk by chunk: record indices and pattern code (12 bytes a pair)."""

    left: list[np.ndarray]
    right: list[np.ndarray]
    codes: list[np.ndarray]


def _drain(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """Concatenate chunks into one array, releasing each chunk as soon as it is copied."""
    result = np.empty(sum(len(part) for part in parts), dtype=dtype)
    position = 0
    while parts:
        part = parts.pop(0)
        result[position : position + len(part)] = part
        position += len(part)
    return result


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


def _refine_swap_u(
    model: FellegiSunter,
    records: RecordSet,
    comparisons: Sequence[ComparisonSpec],
    generator: np.random.Generator,
    pairs: int,
    chunk: int = 4_000_000,
) -> None:
    """u of the "swapped names" level from many random pairs, cheaply.

    Only pairs that share the unordered names key can be swapped, so the key (an integer
    compare) screens the random pairs and Dice is computed for the few that pass.
    """
    carrier = next((index for index, spec in enumerate(comparisons) if spec.swap_key), None)
    if carrier is None or len(records) < 3 or pairs <= 0:
        return
    spec = comparisons[carrier]
    key = records.blocking_keys[spec.swap_key or ""]
    level = spec.labels.index("swapped names")
    hits = drawn = 0
    while drawn < pairs:
        left, right = random_pairs(len(records), min(chunk, pairs - drawn), generator)
        drawn += len(left)
        same = key.present[left] & key.present[right] & (key.values[left] == key.values[right])
        if same.any():
            hits += int((comparison_levels(records, comparisons, left[same], right[same])[:, carrier] == level).sum())
        if len(left) < chunk and drawn < pairs:  # all pairs of a small input were drawn
            break
    model.refine_u(carrier, level, hits, drawn)
    logger.info("u of swapped names: %d of %d random pairs", hits, drawn)


def _term_frequencies(records: RecordSet, config: LinkConfig) -> TermFrequencies | None:
    """Frequencies of the unordered names key, when asked for and the schema has one."""
    key = swap_key_name(records.schema) if config.term_frequencies else None
    if key is None:
        return None
    frequencies = TermFrequencies.from_records(records, key)
    logger.info("term-frequency adjustment on names from blocking key %s", key)
    return frequencies


def _probability_from_weight(weight: np.ndarray) -> np.ndarray:
    """Match probability from a match weight in bits (log2 posterior odds), in the weight's precision."""
    limit = 120 if weight.dtype == np.float32 else 1000
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -limit, limit)))


def _threshold_from_weights(weight: np.ndarray, resolution_bits: float = 0.02, chunk: int = 8_000_000) -> float:
    """The expected-F1 threshold over per-pair weights, binned (in chunks) so that it costs one pass.

    A bin stands for its lower edge, so the threshold never lands above a pair of the
    lowest bin it admits (rounding to the nearest edge could leave that pair out).
    """
    if len(weight) == 0:
        return 0.5
    lowest = int(np.floor(float(weight.min()) / resolution_bits))
    highest = int(np.ceil(float(weight.max()) / resolution_bits))
    counts = np.zeros(highest - lowest + 1, dtype=np.int64)
    for start in range(0, len(weight), chunk):
        bins = np.floor(weight[start : start + chunk].astype(np.float64) / resolution_bits).astype(np.int64) - lowest
        counts += np.bincount(bins, minlength=len(counts))[: len(counts)]
    used = np.flatnonzero(counts)
    return expected_f1_threshold(_probability_from_weight((used + lowest) * resolution_bits), counts[used])
