"""Clustering linked pairs into entities (one per person) across all agencies at once.

The baseline is connected components over the pairs whose match probability reaches the
threshold. Its weakness is chaining: a single wrong link between one record of person A and
one of person B merges everyone. So every component of three or more records is checked
for consistency: *all* its record pairs are scored with the model (including pairs that
blocking never compared), and a component whose pairs are not all links is re-clustered by
average linkage — two groups are joined only if the *average* match probability across them
reaches the threshold. One wrong edge between two groups of two is then outvoted by the
three unrelated cross pairs, while a record that matches most of its group stays in it.

Cannot-link constraints (two records known to be different people, e.g. the victim and the
perpetrator of one incident: :mod:`dalink.match.constraints`) are hard: such a pair is never
an edge, a component holding one is re-clustered as inconsistent, and average linkage never
joins two groups across a constrained pair, however strong the rest of the evidence.

Entity ids are stable: an entity is named after a keyed-free hash of its smallest member
(agency, record id), so the same input always yields the same ids, in any order, and an
entity keeps its id when unrelated records are added.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dalink.match.blocking import pairs_within_blocks, sorted_blocks

logger = logging.getLogger(__name__)

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]
CannotLink = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class ClusterResult:
    """Cluster label per record (the index of its smallest member) and what the guard did."""

    labels: np.ndarray
    components: int
    inconsistent_components: int
    split_components: int
    largest_entity: int
    constrained_links: int = 0


def connected_components(record_count: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label each record with the smallest record index of its component (vectorised)."""
    labels = np.arange(record_count, dtype=np.int64)
    if len(left) == 0:
        return labels
    left = left.astype(np.int64)
    right = right.astype(np.int64)
    while True:
        smaller = np.minimum(labels[left], labels[right])
        updated = labels.copy()
        np.minimum.at(updated, left, smaller)
        np.minimum.at(updated, right, smaller)
        while True:
            jumped = updated[updated]
            if np.array_equal(jumped, updated):
                break
            updated = jumped
        if np.array_equal(updated, labels):
            return labels
        labels = updated


def average_linkage(similarity: np.ndarray, threshold: float, cannot_link: np.ndarray | None = None) -> np.ndarray:
    """Group labels from agglomerative average linkage, stopping below ``threshold``.

    ``similarity`` is a symmetric matrix of match probabilities; ``cannot_link`` (symmetric,
    boolean) marks record pairs that must end in different groups, so two groups holding
    such a pair are never joined. Readable O(n³) version; the components it runs on are
    small (a person's records).
    """
    size = len(similarity)
    matrix = similarity.astype(np.float64).copy()
    np.fill_diagonal(matrix, -np.inf)
    forbidden = np.zeros((size, size), dtype=bool) if cannot_link is None else np.asarray(cannot_link, dtype=bool).copy()
    members = np.ones(size)
    labels = np.arange(size)
    active = np.ones(size, dtype=bool)
    while active.sum() > 1:
        flat = int(np.argmax(np.where(forbidden, -np.inf, matrix)))
        first, second = divmod(flat, size)
        if forbidden[first, second] or matrix[first, second] < threshold:
            break
        merged = (members[first] * matrix[first] + members[second] * matrix[second]) / (members[first] + members[second])
        matrix[first, :] = merged
        matrix[:, first] = merged
        matrix[first, first] = -np.inf
        forbidden[first, :] |= forbidden[second, :]
        forbidden[:, first] = forbidden[first, :]
        matrix[second, :] = -np.inf
        matrix[:, second] = -np.inf
        members[first] += members[second]
        active[second] = False
        labels[labels == second] = first
    return labels


def cluster(
    record_count: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    threshold: float,
    scorer: Scorer,
    *,
    max_component_size: int = 300,
    links: np.ndarray | None = None,
    cannot_link: CannotLink | None = None,
) -> ClusterResult:
    """Entities from scored pairs: components at ``threshold``, then the chaining guard.

    ``links`` (default: the pairs at or above ``threshold``) lets the caller choose the edges,
    e.g. the links that one-to-one merging kept (:mod:`dalink.match.exclusive`); the guard
    can only split components, so a constraint the edges respect still holds afterwards.
    ``cannot_link`` says which record pairs must stay apart (see the module docstring).
    """
    linked = probability >= threshold if links is None else np.asarray(links, dtype=bool)
    constrained_links = 0
    if cannot_link is not None and linked.any():
        chosen = np.flatnonzero(linked)
        refused = chosen[cannot_link(left[chosen], right[chosen])]
        constrained_links = len(refused)
        linked = linked.copy()
        linked[refused] = False
    edge_left, edge_right, edge_probability = left[linked], right[linked], probability[linked]
    labels = connected_components(record_count, edge_left, edge_right)

    raise_to = threshold
    while True:
        sizes = np.bincount(labels, minlength=record_count)
        oversized = np.flatnonzero(sizes > max_component_size)
        if len(oversized) == 0 or raise_to >= 0.999999:
            break
        raise_to = 1 - (1 - raise_to) / 10
        in_big = np.isin(labels[edge_left], oversized)
        logger.info(
            "%d component(s) above %d records; keeping only their links with probability ≥ %.6f",
            len(oversized),
            max_component_size,
            raise_to,
        )
        keep = ~in_big | (edge_probability >= raise_to)
        edge_left, edge_right, edge_probability = edge_left[keep], edge_right[keep], edge_probability[keep]
        labels = connected_components(record_count, edge_left, edge_right)

    sizes = np.bincount(labels, minlength=record_count)
    multi = sizes[labels] >= 3
    multi &= sizes[labels] <= max_component_size
    order, starts, group_sizes = sorted_blocks(labels, multi)
    inside_left, inside_right = pairs_within_blocks(order, starts, group_sizes)
    inconsistent = 0
    split = 0
    if len(inside_left):
        inside_probability = scorer(inside_left, inside_right)
        inside_conflict = (
            cannot_link(inside_left, inside_right) if cannot_link is not None else np.zeros(len(inside_left), dtype=bool)
        )
        inside_probability = np.where(inside_conflict, 0.0, inside_probability)
        weak_components = np.unique(labels[inside_left[inside_probability < threshold]])
        inconsistent = len(weak_components)
        if inconsistent:
            weak_pairs = np.isin(labels[inside_left], weak_components)
            pair_left, pair_right = inside_left[weak_pairs], inside_right[weak_pairs]
            pair_probability = inside_probability[weak_pairs]
            pair_conflict = inside_conflict[weak_pairs]
            pair_label = labels[pair_left]
            sort = np.argsort(pair_label, kind="stable")
            pair_left, pair_right, pair_probability, pair_conflict, pair_label = (
                pair_left[sort],
                pair_right[sort],
                pair_probability[sort],
                pair_conflict[sort],
                pair_label[sort],
            )
            bounds = np.flatnonzero(np.diff(pair_label)) + 1
            group_label = labels[order[starts]]
            for segment in np.split(np.arange(len(pair_label)), bounds):
                component = pair_label[segment[0]]
                group = int(np.searchsorted(group_label, component))
                members = np.sort(order[starts[group] : starts[group] + group_sizes[group]])
                matrix = np.zeros((len(members), len(members)))
                rows = np.searchsorted(members, pair_left[segment])
                columns = np.searchsorted(members, pair_right[segment])
                matrix[rows, columns] = pair_probability[segment]
                matrix[columns, rows] = pair_probability[segment]
                forbidden = np.zeros(matrix.shape, dtype=bool)
                forbidden[rows, columns] = pair_conflict[segment]
                forbidden[columns, rows] = pair_conflict[segment]
                groups = average_linkage(matrix, threshold, forbidden)
                if len(np.unique(groups)) > 1:
                    split += 1
                for value in np.unique(groups):
                    group_members = members[groups == value]
                    labels[group_members] = group_members.min()
    final_sizes = np.bincount(labels, minlength=record_count)
    logger.info(
        "clustering: %d entities, %d inconsistent component(s), %d split",
        int((final_sizes > 0).sum()),
        inconsistent,
        split,
    )
    return ClusterResult(
        labels=labels,
        components=int((final_sizes > 0).sum()),
        inconsistent_components=inconsistent,
        split_components=split,
        largest_entity=int(final_sizes.max()) if record_count else 0,
        constrained_links=constrained_links,
    )


def entity_ids(labels: np.ndarray, agencies: np.ndarray, record_ids: np.ndarray) -> np.ndarray:
    """A stable id per record's entity: a hash of the entity's smallest (agency, record id)."""
    names = np.char.add(np.char.add(agencies.astype(str), "\x1f"), record_ids.astype(str))
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    _, groups = np.unique(labels, return_inverse=True)
    best = np.full(len(labels), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, groups, rank)
    representative_rank = best[groups]
    unique_ranks, inverse = np.unique(representative_rank, return_inverse=True)
    identifiers = np.array(
        ["e" + hashlib.blake2b(names[order[value]].encode("utf-8"), digest_size=8).hexdigest() for value in unique_ranks],
        dtype=object,
    )
    return identifiers[inverse]
