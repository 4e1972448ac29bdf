"""One-to-one linkage into agencies known to hold each person at most once.

Some extracts are already de-duplicated: a register with one row per person, or a file that
an agency cleaned before sharing. Saying so (``LinkConfig(deduplicated_agencies=...)``,
``dalink link --deduplicated AGENCY``) is information the Fellegi–Sunter model does not
have, and it changes the arithmetic in four places:

* **no pair inside such an agency can match**, so those pairs leave the prior's
  denominator (the probability that two random records match is taken over pairs that *can*
  match) and get probability 0;
* **candidates compete**. A record ``x`` has at most one partner in a de-duplicated agency
  ``A``. If ``x`` has a partner there with probability ``π`` and, before seeing the data,
  each of A's ``N`` records is equally likely to be it, the posterior that it is ``a`` is::

      P(x ↔ a) = (π/N)·BF(x, a) / ((1 − π) + (π/N)·Σ_a' BF(x, a'))

  with ``BF`` the pair's Bayes factor from the model and the sum over x's candidates in A
  (pairs blocking never formed have a negligible Bayes factor). A lone candidate with
  moderate evidence becomes likely; two similar candidates share the probability instead of
  both looking certain. ``π`` for each ordered pair of agencies (X into A) is estimated by
  EM from the same formula: the average over X's records of Σ_a P(x ↔ a);
* **when both agencies are de-duplicated the pairs form a bipartite matching**, and looking
  from one side only is not enough: a rival of ``a`` for ``x`` that is itself taken by a
  better partner is no rival, and when nearly everyone has a partner, two records left
  without one on both sides are each other's likeliest partner. The one-sided formula
  cannot see either, so its probabilities are under-confident exactly where evidence is
  moderate. The posterior over matchings ``M`` with prior ``P(M) ∝ λ^|M|`` is
  ``∝ Π_{(x,a)∈M} λ·BF(x, a)``; its pair marginals come from belief propagation on the
  candidate graph (the Bethe approximation, as for permanents: Huang & Jebara 2009)::

      r_x→(x,a) = 1 / (1 + Σ_{a'≠a} λ·BF(x, a')·r_a'→(x,a'))      (and the same from a's side)
      odds(x ↔ a) = λ·BF(x, a)·r_x→(x,a)·r_a→(x,a)

  which is the one-sided formula when every ``r_a`` is 1. ``λ`` follows from the expected
  number of matches ``n`` (the prior's most likely matching size satisfies
  ``λ = (n + 1) / ((N_X − n)(N_A − n))``), and ``n`` is estimated by EM: the sum of the
  pair marginals, starting from the model's prior;
* **clustering enforces it**: links are taken strongest first and a link is refused when it
  would put two records of one de-duplicated agency into one entity.

These are the usual approximations of the bipartite-matching posterior (as in Jaro's and
Sadinle's one-to-one linkage); they need no constant beyond the model's own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dalink.errors import LinkageError

logger = logging.getLogger(__name__)

MAX_ITERATIONS = 200
TOLERANCE = 1e-7


def deduplicated_flags(agencies: Sequence[str], deduplicated_agencies: Sequence[str]) -> np.ndarray:
    """One flag per agency of the linkage: whether it was declared free of duplicates."""
    unknown = sorted(set(deduplicated_agencies) - set(agencies))
    if unknown:
        raise LinkageError(
            f"agencies declared de-duplicated are not among the packages: {', '.join(unknown)} "
            f"(the packages hold: {', '.join(agencies)})"
        )
    return np.array([agency in set(deduplicated_agencies) for agency in agencies], dtype=bool)


def can_match(left: np.ndarray, right: np.ndarray, agency_codes: np.ndarray, deduplicated: np.ndarray) -> np.ndarray:
    """Pairs that may be the same person: all but those inside one de-duplicated agency."""
    left_agency = agency_codes[left]
    return ~((left_agency == agency_codes[right]) & deduplicated[left_agency])


def within_agency_pairs(agency_codes: np.ndarray, deduplicated: np.ndarray) -> int:
    """Pairs of records inside the same de-duplicated agency (none of them can match)."""
    sizes = np.bincount(agency_codes, minlength=len(deduplicated)).astype(np.int64)
    return int((sizes * (sizes - 1) // 2)[deduplicated].sum())


def _one_side(
    source: np.ndarray,
    target_agency: int,
    target_records: int,
    source_records: int,
    log2_bayes_factor: np.ndarray,
    initial_share: float,
) -> tuple[np.ndarray, float]:
    """P(source record's partner in the target agency is this pair's other record), and π."""
    order_source, inverse = np.unique(source, return_inverse=True)
    # Bayes factors relative to each source record's best one, so that sums never overflow.
    best = np.full(len(order_source), -np.inf)
    np.maximum.at(best, inverse, log2_bayes_factor)
    relative = np.exp2(log2_bayes_factor - best[inverse])
    sums = np.bincount(inverse, weights=relative, minlength=len(order_source))
    ceiling = min(1.0, target_records / max(source_records, 1))
    share = min(max(initial_share, 1e-9), ceiling * (1 - 1e-9))
    probability = np.zeros(len(source))
    for _ in range(MAX_ITERATIONS):
        # log2 of (π/N)·BF relative to the best, and log2 of (1 − π) relative to the best.
        per_record = share / max(target_records, 1)
        scale = np.exp2(np.minimum(best, 500.0)) * per_record
        denominator = (1 - share) + scale * sums
        probability = scale[inverse] * relative / denominator[inverse]
        updated = float(probability.sum()) / max(source_records, 1)
        updated = min(max(updated, 1e-9), ceiling * (1 - 1e-9))
        if abs(updated - share) <= TOLERANCE:
            share = updated
            break
        share = updated
    logger.info("one-to-one into agency %d: share with a partner there %.4f", target_agency, share)
    return probability, share


@dataclass(frozen=True)
class _EdgesByRecord:
    """Candidate pairs grouped by the record at one end, for sums over a record's *other* pairs."""

    order: np.ndarray
    starts: np.ndarray
    group: np.ndarray  # the group (record) of each position in ``order``

    @classmethod
    def of(cls, records: np.ndarray) -> _EdgesByRecord:
        order = np.argsort(records, kind="stable")
        ordered = records[order]
        is_start = np.ones(len(records), dtype=bool)
        is_start[1:] = ordered[1:] != ordered[:-1]
        return cls(order, np.flatnonzero(is_start), np.cumsum(is_start) - 1)

    def sum_of_others(self, values: np.ndarray) -> np.ndarray:
        """For each pair, the sum of ``values`` over the other pairs of the same record.

        ``total − own`` would lose everything when one pair dominates (``1e30 + 1e-3 − 1e30``
        is 0 or ±1e14 in floating point), so each record's largest pair is left out of the
        total exactly and added back for the others.
        """
        ordered = values[self.order]
        largest = np.maximum.reduceat(ordered, self.starts)
        positions = np.flatnonzero(ordered == largest[self.group])
        first = np.ones(len(positions), dtype=bool)
        first[1:] = self.group[positions[1:]] != self.group[positions[:-1]]
        top = positions[first]  # one largest pair per record (the first when tied)
        without_top = ordered.copy()
        without_top[top] = 0.0
        rest = np.add.reduceat(without_top, self.starts)
        others = (rest[self.group] - ordered) + largest[self.group]
        others[top] = rest[self.group[top]]
        result = np.empty_like(others)
        result[self.order] = np.maximum(others, 0.0)
        return result


def matching_marginals(
    first: np.ndarray,
    second: np.ndarray,
    weight: np.ndarray,
    messages: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    grouped: tuple[_EdgesByRecord, _EdgesByRecord] | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """P(pair ``i`` is in the matching) when matchings are weighted by ``Π weight`` over their pairs.

    ``first[i]`` and ``second[i]`` are the records of pair ``i`` on the two sides; each record
    is in at most one pair of a matching. Belief propagation (messages ``r`` in the module
    docstring), exact when the candidate graph is a forest and the Bethe approximation
    otherwise; ``messages`` from an earlier call with similar weights make a warm start, and
    ``grouped`` (the pairs grouped by each side's record) saves sorting them again.
    """
    first_edges, second_edges = grouped or (_EdgesByRecord.of(first), _EdgesByRecord.of(second))
    first_message, second_message = messages if messages is not None else (np.ones(len(first)), np.ones(len(first)))
    for _ in range(MAX_ITERATIONS):
        updated_first = 1.0 / (1.0 + first_edges.sum_of_others(weight * second_message))
        updated_second = 1.0 / (1.0 + second_edges.sum_of_others(weight * updated_first))
        change = max(
            float(np.abs(updated_first - first_message).max(initial=0.0)),
            float(np.abs(updated_second - second_message).max(initial=0.0)),
        )
        first_message, second_message = updated_first, updated_second
        if change <= TOLERANCE:
            break
    odds = weight * first_message * second_message
    return odds / (1.0 + odds), (first_message, second_message)


def _two_sided(
    first: np.ndarray,
    second: np.ndarray,
    first_records: int,
    second_records: int,
    log2_bayes_factor: np.ndarray,
    initial_matches: float,
) -> tuple[np.ndarray, float]:
    """Pair marginals of the one-to-one matching between two de-duplicated agencies, and n.

    EM for the expected number of matches ``n``: ``λ`` from ``n``, the marginals from ``λ``,
    ``n`` as their sum, until ``n`` settles.
    """
    bayes_factor = np.exp2(np.clip(log2_bayes_factor, -500.0, 500.0))
    most = max(min(first_records, second_records) - 0.5, 0.0)  # λ stays finite below everyone matched
    matches = min(max(initial_matches, 0.0), most)
    probability = np.zeros(len(first))
    messages = None
    grouped = (_EdgesByRecord.of(first), _EdgesByRecord.of(second))
    for _ in range(MAX_ITERATIONS):
        odds_per_match = (matches + 1.0) / max((first_records - matches) * (second_records - matches), 1e-300)
        probability, messages = matching_marginals(
            first, second, odds_per_match * bayes_factor, messages, grouped=grouped
        )
        updated = min(float(probability.sum()), most)
        if abs(updated - matches) <= TOLERANCE * max(matches, 1.0):
            matches = updated
            break
        matches = updated
    return probability, matches


def exclusive_probabilities(
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    log2_bayes_factor: np.ndarray,
    prior: float,
    agency_codes: np.ndarray,
    deduplicated: np.ndarray,
) -> np.ndarray:
    """Match probabilities with the one-to-one constraint of the de-duplicated agencies.

    ``probability`` is the model's (kept for pairs the constraint does not touch),
    ``log2_bayes_factor`` the pair's evidence without the prior, ``prior`` the model's
    probability that two records that can match do, ``deduplicated`` one flag per agency.
    """
    result = probability.astype(np.float64).copy()
    if not deduplicated.any() or len(left) == 0:
        return result
    left_agency = agency_codes[left]
    right_agency = agency_codes[right]
    result[(left_agency == right_agency) & deduplicated[left_agency]] = 0.0
    sizes = np.bincount(agency_codes, minlength=len(deduplicated))
    touched = np.zeros(len(left), dtype=bool)
    constrained = np.ones(len(left))
    for source_agency in range(len(deduplicated)):
        for target_agency in np.flatnonzero(deduplicated):
            if target_agency == source_agency or (deduplicated[source_agency] and source_agency > target_agency):
                continue  # a pair of de-duplicated agencies is matched once, from the lower code
            forward = (left_agency == source_agency) & (right_agency == target_agency)
            backward = (right_agency == source_agency) & (left_agency == target_agency)
            chosen = np.flatnonzero(forward | backward)
            if len(chosen) == 0:
                continue
            source = np.where(forward[chosen], left[chosen], right[chosen])
            target = np.where(forward[chosen], right[chosen], left[chosen])
            bits = log2_bayes_factor[chosen].astype(np.float64)
            source_size, target_size = int(sizes[source_agency]), int(sizes[target_agency])
            if deduplicated[source_agency]:
                side, matches = _two_sided(source, target, source_size, target_size, bits, prior * source_size * target_size)
                logger.info(
                    "one-to-one matching of agencies %d and %d: %.1f expected matches", source_agency, target_agency, matches
                )
            else:
                side, _ = _one_side(source, int(target_agency), target_size, source_size, bits, prior * target_size)
            constrained[chosen] = side
            touched[chosen] = True
    result[touched] = constrained[touched]
    return result


def find_pairs(
    left: np.ndarray, right: np.ndarray, first: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which pairs ``(first[i], second[i])`` are candidate pairs, and where they are in ``left``/``right``."""
    if len(left) == 0:
        return np.zeros(len(first), dtype=bool), np.zeros(len(first), dtype=np.int64)
    span = np.int64(max(int(left.max()), int(right.max()), int(first.max(initial=0)), int(second.max(initial=0))) + 1)
    keys = np.minimum(left, right).astype(np.int64) * span + np.maximum(left, right)
    order = np.argsort(keys, kind="stable")
    wanted = np.minimum(first, second).astype(np.int64) * span + np.maximum(first, second)
    position = order[np.minimum(np.searchsorted(keys, wanted, sorter=order), len(keys) - 1)]
    return keys[position] == wanted, position


class _Entities:
    """Union–find over records that refuses merges putting two records of one de-duplicated agency together."""

    def __init__(self, agency_codes: np.ndarray, deduplicated: np.ndarray) -> None:
        self.parent = np.arange(len(agency_codes))
        self.members: dict[int, set[int]] = {}
        self.agency_codes = agency_codes
        self.deduplicated = deduplicated

    def find(self, record: int) -> int:
        root = record
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[record] != root:
            self.parent[record], record = root, self.parent[record]
        return root

    def _agencies(self, root: int) -> set[int]:
        found = self.members.get(root)
        if found is None:
            agency = int(self.agency_codes[root])
            found = {agency} if self.deduplicated[agency] else set()
            self.members[root] = found
        return found

    def merge(self, first: int, second: int) -> bool:
        first_root, second_root = self.find(first), self.find(second)
        if first_root == second_root:
            return True
        first_agencies, second_agencies = self._agencies(first_root), self._agencies(second_root)
        if first_agencies & second_agencies:
            return False
        root, child = min(first_root, second_root), max(first_root, second_root)
        self.parent[child] = root
        self.members[root] = first_agencies | second_agencies
        self.members.pop(child, None)
        return True


def exclusive_links(
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    threshold: float,
    agency_codes: np.ndarray,
    deduplicated: Sequence[bool] | np.ndarray,
) -> np.ndarray:
    """Which links at or above ``threshold`` survive best-first merging under the constraint."""
    deduplicated = np.asarray(deduplicated, dtype=bool)
    candidates = np.flatnonzero(probability >= threshold)
    order = candidates[np.argsort(-probability[candidates], kind="stable")]
    entities = _Entities(agency_codes, deduplicated)
    kept = np.zeros(len(left), dtype=bool)
    refused = 0
    for index in order:
        if entities.merge(int(left[index]), int(right[index])):
            kept[index] = True
        else:
            refused += 1
    logger.info("one-to-one clustering refused %d of %d links", refused, len(order))
    return kept
