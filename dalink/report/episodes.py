"""Episodes and repeats over sorted arrays: the building blocks of the victim measures.

Why a module of its own: the same two rules (an episode opens more than ``episode_days``
after the start of the current one; a repeat is an episode starting at most ``repeat_days``
after the previous) serve the partnership-wide count, each agency's own view and the
chronology, so they are written once, vectorised, and tested on their own.
"""

from __future__ import annotations

import numpy as np


def _group_starts(group: np.ndarray) -> np.ndarray:
    """True where a row opens a new group in an array sorted by group."""
    starts = np.ones(len(group), dtype=bool)
    starts[1:] = group[1:] != group[:-1]
    return starts


def episode_starts(group: np.ndarray, days: np.ndarray, episode_days: int) -> np.ndarray:
    """Mark the events that open an episode; input sorted by ``group`` then ``days``.

    An event opens an episode when it is more than ``episode_days`` after the start of the
    current episode of its group. The next start after a start at day *d* is simply the first
    event of the group later than *d* + ``episode_days``; one ``searchsorted`` finds it for
    every event, and following these pointers from each group's first event (pointer chasing
    over a shrinking frontier) marks all starts.
    """
    count = len(group)
    is_start = np.zeros(count, dtype=bool)
    if count == 0:
        return is_start
    group = group.astype(np.int64, copy=False)
    days = days.astype(np.int64, copy=False)
    offset = days - days.min()
    span = int(offset.max()) + int(episode_days) + 1
    key = group * span + offset
    next_start = np.searchsorted(key, key + int(episode_days), side="right")
    frontier = np.flatnonzero(_group_starts(group))
    while frontier.size:
        is_start[frontier] = True
        following = next_start[frontier]
        inside = following < count
        source = frontier[inside]
        following = following[inside]
        frontier = following[group[following] == group[source]]
    return is_start


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    """Distinct values of a sorted array (cheaper than ``np.unique``, which hashes)."""
    if len(values) == 0:
        return values
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def repeat_groups(
    group: np.ndarray, days: np.ndarray, episode_days: int, repeat_days: int
) -> np.ndarray:
    """Distinct group codes (ascending) with an episode starting at most ``repeat_days`` after
    the start of the previous one.

    Input sorted by ``group`` then ``days`` (victim events only).
    """
    starts = episode_starts(group, days, episode_days)
    start_group = group[starts]
    start_days = days[starts]
    is_repeat = (start_group[1:] == start_group[:-1]) & (
        start_days[1:] - start_days[:-1] <= repeat_days
    )
    return _distinct_sorted(start_group[1:][is_repeat])
