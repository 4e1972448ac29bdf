"""Comparisons of encoded records: Dice similarity per field, turned into agreement levels.

The Dice coefficient of two Bloom filters ``A`` and ``B`` is ``2|A∧B| / (|A| + |B|)``; on
packed ``uint64`` words it is one AND and a popcount per word. :func:`dice_pairs` is the fast
kernel: compiled (:mod:`dalink.match.kernels`, when numba is installed) or vectorised numpy
(chunked so memory stays bounded), which give identical values; :func:`dice_reference` is
the readable definition both are tested against.

Hardening moves the scale: record-seeded bit flipping makes identical values score about
0.85 instead of 1, balancing pushes unrelated values towards 0.5. So levels are not fixed
Dice cut-offs but cut-offs on a *normalised* similarity ``(dice - floor) / (ceiling - floor)``
where ``floor`` is the typical Dice of unrelated values (median over random pairs that
differ) and ``ceiling`` that of identical values (the mode near the top among candidate
pairs), both measured on the data being linked. The levels of one comparison, lowest first::

    missing       either record has no value (its own level: never counted as disagreement)
    different     normalised similarity below the lowest cut
    similar ≥ c   one level per cut (default 0.45, 0.65, 0.80, 0.92)
    swapped       given and family names disagree directly but their unordered keyed
                  blocking key agrees (the names were swapped): a level of the family-name
                  comparison only, the given-name comparison of such a pair being set to
                  missing, so that one swap counts once
    identical     identical encodings (only for fields without random bit flipping)

Cross-field Dice (given name against family name) is meaningless here because every field
is hashed with its own subkey, so swaps are detected through the unordered names key.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dalink.encode.schema import LinkageSchema, RandomBitFlip
from dalink.match import kernels
from dalink.match.kernels import Backend, use_compiled
from dalink.match.load import FieldFilters, RecordSet, popcount

MISSING_LEVEL = 0
DIFFERENT_LEVEL = 1
DEFAULT_CUTS = (0.45, 0.65, 0.80, 0.92)
CHUNK_PAIRS = 262_144
NAME_FIELDS = ("given_name", "family_name")
SWAP_LEVEL_FIELD = "family_name"  # the comparison that carries the "swapped names" level


def _as_index(values: np.ndarray) -> np.ndarray:
    """Record indices as a contiguous integer array (what the compiled kernels take)."""
    values = np.asarray(values)
    if values.dtype not in (np.int32, np.int64):
        values = values.astype(np.int64)
    return np.ascontiguousarray(values)


class ComparisonSpec(BaseModel):
    """How one field's similarity becomes an agreement level (saved in ``model.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    floor: float = Field(description="Typical Dice of unrelated values (median over random pairs that differ).")
    ceiling: float = Field(description="Typical Dice of identical values after hardening (measured).")
    cuts: tuple[float, ...] = Field(DEFAULT_CUTS, description="Cut-offs on the normalised similarity, ascending.")
    swap_key: str | None = Field(None, description="Unordered names blocking key used to detect swapped names.")
    identical_level: bool = Field(False, description="Whether identical encodings get their own level.")

    @property
    def labels(self) -> list[str]:
        labels = ["missing", "different", *(f"similar ≥ {cut:.2f}" for cut in self.cuts)]
        if self.swap_key:
            labels.append("swapped names")
        if self.identical_level:
            labels.append("identical")
        return labels

    @property
    def level_count(self) -> int:
        return len(self.labels)

    @property
    def ordered_levels(self) -> list[int]:
        """Levels from least to most similar ("missing" and "swapped names" are off the scale)."""
        return [index for index, label in enumerate(self.labels) if label not in ("missing", "swapped names")]

    def levels(self, dice: np.ndarray, both_present: np.ndarray) -> np.ndarray:
        """Agreement levels from Dice values (``swap`` and ``identical`` are set by the caller)."""
        scale = max(self.ceiling - self.floor, 1e-6)
        normalised = (dice - self.floor) / scale
        levels = np.full(len(dice), DIFFERENT_LEVEL, dtype=np.int8)
        for offset, cut in enumerate(self.cuts):
            levels[normalised >= cut] = DIFFERENT_LEVEL + 1 + offset
        levels[~both_present] = MISSING_LEVEL
        return levels


def dice_reference(left: bytes, right: bytes) -> float:
    """The Dice coefficient of two packed filters, bit by bit (the readable definition)."""
    left_bits = int.from_bytes(left, "little")
    right_bits = int.from_bytes(right, "little")
    total = bin(left_bits).count("1") + bin(right_bits).count("1")
    if total == 0:
        return 0.0
    return 2 * bin(left_bits & right_bits).count("1") / total


def dice_pairs(filters: FieldFilters, left: np.ndarray, right: np.ndarray, *, backend: Backend = "auto") -> np.ndarray:
    """Dice coefficients of record pairs ``(left[i], right[i])`` for one field (0 where missing).

    The numpy path gathers both rows, ANDs, counts and sums, in chunks of pairs so the
    gathered rows never exceed a few tens of megabytes; the compiled path reads each word once.
    """
    result = np.empty(len(left), dtype=np.float32)
    if use_compiled(backend):
        kernels.dice_pairs_compiled(
            np.ascontiguousarray(filters.words), filters.popcounts, _as_index(left), _as_index(right), result
        )
        return result
    words = filters.words
    popcounts = filters.popcounts
    for start in range(0, len(left), CHUNK_PAIRS):
        chunk_left = left[start : start + CHUNK_PAIRS]
        chunk_right = right[start : start + CHUNK_PAIRS]
        shared = popcount(words[chunk_left] & words[chunk_right]).sum(axis=1, dtype=np.int32)
        total = popcounts[chunk_left] + popcounts[chunk_right]
        result[start : start + CHUNK_PAIRS] = np.divide(
            2.0 * shared, total, out=np.zeros(len(total), dtype=np.float64), where=total > 0
        )
    return result


def dice_all_to_all(first: np.ndarray, second: np.ndarray, *, backend: Backend = "auto") -> np.ndarray:
    """Dice of every row of ``first`` against every row of ``second`` (packed ``uint64`` words)."""
    first_counts = popcount(first).sum(axis=1, dtype=np.int32)
    second_counts = popcount(second).sum(axis=1, dtype=np.int32)
    result = np.empty((len(first), len(second)), dtype=np.float32)
    if use_compiled(backend):
        kernels.dice_all_to_all_compiled(
            np.ascontiguousarray(first), np.ascontiguousarray(second), first_counts, second_counts, result
        )
        return result
    rows_per_chunk = max(1, CHUNK_PAIRS // max(1, len(second)))
    for start in range(0, len(first), rows_per_chunk):
        block = first[start : start + rows_per_chunk]
        shared = popcount(block[:, None, :] & second[None, :, :]).sum(axis=2, dtype=np.int32)
        total = first_counts[start : start + rows_per_chunk, None] + second_counts[None, :]
        result[start : start + rows_per_chunk] = np.divide(
            2.0 * shared, total, out=np.zeros(total.shape, dtype=np.float64), where=total > 0
        )
    return result


def identical_pairs(filters: FieldFilters, left: np.ndarray, right: np.ndarray, *, backend: Backend = "auto") -> np.ndarray:
    """Whether both records hold exactly the same encoding of the field."""
    both = filters.present[left] & filters.present[right]
    if use_compiled(backend):
        same = np.empty(len(left), dtype=np.bool_)
        kernels.identical_pairs_compiled(np.ascontiguousarray(filters.words), _as_index(left), _as_index(right), same)
        return same & both
    return np.all(filters.words[left] == filters.words[right], axis=1) & both


def has_random_noise(schema: LinkageSchema, field: str) -> bool:
    """Fields with record-seeded bit flipping never give identical encodings for equal values."""
    return any(isinstance(step, RandomBitFlip) for step in schema.field(field).hardening)


def swap_key_name(schema: LinkageSchema) -> str | None:
    """An unordered blocking key over exactly the given and family names, if the schema has one."""
    for key in schema.blocking_keys:
        if key.unordered and {part.field for part in key.parts} == set(NAME_FIELDS):
            return key.name
    return None


def comparison_levels(
    records: RecordSet, comparisons: Sequence[ComparisonSpec], left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """The agreement level of every comparison for every pair: ``(pairs, comparisons)`` int8."""
    levels = np.empty((len(left), len(comparisons)), dtype=np.int8)
    direct: dict[str, np.ndarray] = {}
    for index, spec in enumerate(comparisons):
        filters = records.filters[spec.field]
        both_present = filters.present[left] & filters.present[right]
        dice = dice_pairs(filters, left, right)
        column = spec.levels(dice, both_present)
        if spec.identical_level:
            column[identical_pairs(filters, left, right)] = spec.level_count - 1
        levels[:, index] = column
        direct[spec.field] = column
    _mark_swapped_names(records, comparisons, left, right, levels)
    return levels


def _mark_swapped_names(
    records: RecordSet,
    comparisons: Sequence[ComparisonSpec],
    left: np.ndarray,
    right: np.ndarray,
    levels: np.ndarray,
) -> None:
    """Pairs whose names disagree directly but share the unordered names key were swapped.

    A swap is one event, so it is counted once: the family-name comparison (the one holding
    ``swap_key``) takes its "swapped names" level and the given-name comparison is set to
    missing (neutral). Giving both comparisons a swapped level would multiply the event's m
    and u with themselves and overstate the evidence (by about 4 bits on synthetic data).
    """
    columns = {spec.field: index for index, spec in enumerate(comparisons)}
    if not all(field in columns for field in NAME_FIELDS):
        return
    carrier = next((columns[field] for field in NAME_FIELDS if comparisons[columns[field]].swap_key), None)
    if carrier is None:
        return
    key = records.blocking_keys[comparisons[carrier].swap_key or ""]
    swapped = key.present[left] & key.present[right] & (key.values[left] == key.values[right])
    for field in NAME_FIELDS:
        column = levels[:, columns[field]]
        swapped &= (column > MISSING_LEVEL) & (column <= DIFFERENT_LEVEL + 1)
    for field in NAME_FIELDS:
        index = columns[field]
        levels[swapped, index] = (
            comparisons[index].labels.index("swapped names") if index == carrier else MISSING_LEVEL
        )


def sample_dice(records: RecordSet, field: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Dice values of the pairs where both records hold the field (for floor/ceiling estimates)."""
    filters = records.filters[field]
    both = filters.present[left] & filters.present[right]
    return dice_pairs(filters, left[both], right[both])


def estimate_floor(dice: np.ndarray, ceiling: float | None = None) -> float:
    """Typical similarity of unrelated values: the median Dice of random pairs that differ.

    For names almost every random pair holds different values, and the median of all random
    pairs would do. For a field with few values (sex) most random pairs hold the *same* value
    and their median sits at the identical-value peak, which would make every noisy copy of the
    same value look "different". So only the random pairs below the midpoint between the
    lowest Dice seen (1st percentile) and the identical-value ``ceiling`` count.
    """
    if len(dice) == 0:
        return 0.0
    if ceiling is None:
        return float(np.median(dice))
    lowest = float(np.quantile(dice, 0.01))
    below = dice[dice < (lowest + ceiling) / 2]
    return float(np.median(below)) if len(below) else lowest


def estimate_ceiling(dice: np.ndarray, floor: float) -> float:
    """Typical similarity of identical values: the densest Dice region in the upper part.

    Among candidate pairs identical values are common, so the histogram of their Dice has a
    peak where identical values land after hardening; its position is the ceiling. Only the
    region above ``floor + 0.4 (1 - floor)`` is searched, ``floor`` being a low reference for
    unrelated values.
    """
    lower = floor + 0.4 * (1.0 - floor)
    upper_values = dice[dice >= lower]
    if len(upper_values) < 20:
        return 1.0
    edges = np.linspace(lower, 1.0 + 1e-9, 61)
    counts, _ = np.histogram(upper_values, bins=edges)
    smoothed = np.convolve(counts, np.ones(3), mode="same")
    peak = int(np.argmax(smoothed))
    window = (upper_values >= edges[max(peak - 1, 0)]) & (upper_values < edges[min(peak + 2, len(edges) - 1)])
    return float(np.median(upper_values[window])) if window.any() else float(edges[peak])


def build_comparisons(
    records: RecordSet,
    random_left: np.ndarray,
    random_right: np.ndarray,
    candidate_left: np.ndarray,
    candidate_right: np.ndarray,
    *,
    cuts: tuple[float, ...] = DEFAULT_CUTS,
) -> list[ComparisonSpec]:
    """One comparison per encoded field, with floor and ceiling measured on this data."""
    swap_key = swap_key_name(records.schema)
    specs = []
    for field in records.filters:
        random_dice = sample_dice(records, field, random_left, random_right)
        lowest = float(np.quantile(random_dice, 0.01)) if len(random_dice) else 0.0
        ceiling = estimate_ceiling(sample_dice(records, field, candidate_left, candidate_right), lowest)
        floor = estimate_floor(random_dice, ceiling)
        field_cuts = cuts if field != "sex" else (0.5,)
        specs.append(
            ComparisonSpec(
                field=field,
                floor=round(floor, 6),
                ceiling=round(max(ceiling, floor + 1e-3), 6),
                cuts=field_cuts,
                swap_key=swap_key if field == SWAP_LEVEL_FIELD and swap_key else None,
                identical_level=not has_random_noise(records.schema, field),
            )
        )
    return specs
