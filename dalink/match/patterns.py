"""Comparison patterns: each pair's levels as one integer, counted by distinct pattern.

Why a module of its own: EM, the prior and scoring all work on counts of distinct patterns,
never on pairs, which is what makes a fit cost the same for ten thousand or a hundred million
pairs; the linker stores one pattern code per pair with the same encoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PATTERN_RADIX = 16


@dataclass(frozen=True)
class PatternCounts:
    """Distinct comparison patterns (one level per comparison) and how many pairs show each."""

    patterns: np.ndarray  # (patterns, comparisons) int8
    counts: np.ndarray  # (patterns,) int64

    @property
    def pairs(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class TrainingSession:
    """The pairs of one blocking key, with the comparisons that key fixes."""

    name: str
    fixed_fields: tuple[str, ...]
    patterns: PatternCounts


def encode_patterns(levels: np.ndarray) -> np.ndarray:
    """Each row of levels as one integer (mixed radix), for counting and storing per pair."""
    codes = np.zeros(len(levels), dtype=np.int64)
    for column in range(levels.shape[1]):
        codes = codes * PATTERN_RADIX + levels[:, column].astype(np.int64)
    return codes


def decode_patterns(codes: np.ndarray, comparisons: int) -> np.ndarray:
    """The inverse of :func:`encode_patterns`."""
    levels = np.empty((len(codes), comparisons), dtype=np.int8)
    remaining = codes.astype(np.int64).copy()
    for column in range(comparisons - 1, -1, -1):
        levels[:, column] = remaining % PATTERN_RADIX
        remaining //= PATTERN_RADIX
    return levels


def count_patterns(levels: np.ndarray) -> PatternCounts:
    """Distinct patterns of a level matrix and their counts."""
    codes, counts = np.unique(encode_patterns(levels), return_counts=True)
    return PatternCounts(decode_patterns(codes, levels.shape[1]), counts.astype(np.int64))


def merge_patterns(parts: Sequence[PatternCounts], comparisons: int) -> PatternCounts:
    """Add up pattern counts from several chunks."""
    if not parts:
        return PatternCounts(np.zeros((0, comparisons), dtype=np.int8), np.zeros(0, dtype=np.int64))
    codes = np.concatenate([encode_patterns(part.patterns) for part in parts])
    counts = np.concatenate([part.counts for part in parts])
    unique, inverse = np.unique(codes, return_inverse=True)
    return PatternCounts(decode_patterns(unique, comparisons), np.bincount(inverse, weights=counts).astype(np.int64))
