"""Mining for the pattern attack: placing q-grams on bit positions without the key.

This half of :mod:`dalink.audit.pattern_attack` needs no identified record: it works only from
which positions are set together and from token frequencies in the public values. Kept apart
so the decoder depends on what mining learns (``TokenIndex.positions``), not on how.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dalink.audit.alignment import Candidates
from dalink.audit.frequencies import ReferenceFrequencies
from dalink.audit.shadow import (
    salt_distribution,
    salt_step,
    salted_tokens,
    value_tokens,
)
from dalink.encode.schema import FieldSpec

SEEDS_PER_PATTERN = 12
GROWTH_RETENTION = 0.85
STEP_RETENTION = 0.95
MIN_PARTITION_RECORDS = 20
MAX_MINED_TOKENS = 250


@dataclass
class TokenIndex:
    """Tokens of every candidate slot in CSR form, with token frequencies."""

    names: list[str]
    slot_pointer: np.ndarray  # (slots + 1,)
    slot_tokens: np.ndarray  # token ids
    positions: dict[int, np.ndarray] = field(default_factory=dict)  # learned: token id -> bit positions

    def tokens_of(self, slot: int) -> np.ndarray:
        return self.slot_tokens[self.slot_pointer[slot] : self.slot_pointer[slot + 1]]

    def token_slot_matrix(self, slots: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """Boolean (len(slots), len(tokens)): which of ``tokens`` each slot holds."""
        column_of = {int(token): column for column, token in enumerate(tokens)}
        matrix = np.zeros((len(slots), len(tokens)), dtype=bool)
        for row, slot in enumerate(slots):
            for token in self.tokens_of(int(slot)):
                column = column_of.get(int(token))
                if column is not None:
                    matrix[row, column] = True
        return matrix


def build_token_index(spec: FieldSpec, candidates: Candidates, reference: ReferenceFrequencies) -> TokenIndex:
    """Tokens (salted if the schema salts) of every candidate slot."""
    from dalink.audit.frequencies import ValueDistribution

    distribution = ValueDistribution(candidates.claim_values, np.ones(len(candidates.claim_values)))
    tokens_per_value = value_tokens(spec, distribution)
    salts = salt_distribution(salt_step(spec), reference)
    salt_count = len(salts.values)
    # Slots were built value-major: slot = value * salt_count + salt (possibly truncated).
    token_ids: dict[str, int] = {}
    pointer = [0]
    flat: list[int] = []
    salted_mode = salt_step(spec) is not None
    slot_salt = None
    if salted_mode:
        slot_salt = _slot_salts(candidates, salt_count)
    for slot, value in enumerate(candidates.slot_value):
        salt = salts.values[slot_salt[slot]] if slot_salt is not None else None
        for token in salted_tokens(tokens_per_value[int(value)], salt):
            flat.append(token_ids.setdefault(token, len(token_ids)))
        pointer.append(len(flat))
    names = [""] * len(token_ids)
    for token, index in token_ids.items():
        names[index] = token
    return TokenIndex(names, np.asarray(pointer, dtype=np.int64), np.asarray(flat, dtype=np.int64))


def _slot_salts(candidates: Candidates, salt_count: int) -> np.ndarray:
    """Salt index of each slot. Slots are (value, salt) pairs laid out value-major; after
    truncation the original order is lost, so it is carried in ``slot_salt`` when present."""
    if candidates.slot_salt is not None:
        return np.asarray(candidates.slot_salt)
    return np.arange(len(candidates.slot_value)) % salt_count


# --- step 1: undo balancing --------------------------------------------------------------------


def unbalance(matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pair each bit with its most anti-correlated bit and keep the sparser of each pair."""
    total = weights.sum()
    values = matrix.astype(np.float32)
    mean = (weights @ values) / total
    centred = values - mean
    covariance = (centred * weights[:, None]).T @ centred / total
    deviation = np.sqrt(np.maximum(np.diag(covariance), 1e-12))
    correlation = covariance / deviation[:, None] / deviation[None, :]
    np.fill_diagonal(correlation, 0.0)
    partner = np.argmin(correlation, axis=1)
    keep = []
    for bit, other in enumerate(partner):
        if partner[other] == bit and bit < other and correlation[bit, other] < -0.5:
            keep.append(bit if mean[bit] <= mean[other] else other)
    return matrix[:, np.asarray(sorted(keep), dtype=np.int64)] if keep else matrix


# --- step 2: mining ----------------------------------------------------------------------------


def grow_pattern(
    matrix: np.ndarray, weights: np.ndarray, seed: int, max_size: int, target: float
) -> tuple[np.ndarray, float]:
    """Greedily grow a set of positions that stay set together, from ``seed``.

    Each step adds the position set in most of the rows that hold the pattern so far, up to
    ``max_size`` positions (the schema's hash functions). The first steps shed rows that held
    the first positions by chance; once only the carriers of one token remain the support
    stays flat, and a step past that token's positions drops it again. So the pattern is the
    growth trimmed back to the end of its plateau.
    """
    pattern = [seed]
    active = matrix[:, seed]
    supports = [float(weights[active].sum())]
    while len(pattern) < max_size and supports[-1] > 0:
        column_support = (weights * active) @ matrix
        column_support[pattern] = -1.0
        best = int(np.argmax(column_support))
        if float(column_support[best]) < 0.5 * GROWTH_RETENTION * target:
            break
        pattern.append(best)
        active = active & matrix[:, best]
        supports.append(float(weights[active].sum()))
    size = len(pattern)
    while size > 2 and supports[size - 1] < STEP_RETENTION * supports[size - 2]:
        size -= 1
    return np.asarray(pattern[:size], dtype=np.int64), supports[size - 1]


def find_pattern(matrix: np.ndarray, weights: np.ndarray, max_size: int, target: float) -> tuple[np.ndarray, float]:
    """The position set whose support best matches ``target`` (the sought token's record count).

    Seeds are the most frequent positions set in at least ``target`` records (the positions of
    the most frequent token are among the most frequent positions).
    """
    frequency = weights @ matrix
    # Positions set in (nearly) every row belong to tokens this partition already holds.
    constant = frequency >= 0.98 * float(weights.sum())
    if constant.any():
        matrix = matrix & ~constant[None, :]
        frequency = np.where(constant, 0.0, frequency)
    eligible = np.flatnonzero(frequency >= GROWTH_RETENTION * target)
    seeds = eligible[np.argsort(-frequency[eligible])][:SEEDS_PER_PATTERN]
    best_pattern, best_error = np.zeros(0, dtype=np.int64), np.inf
    best_support = 0.0
    for seed in seeds:
        pattern, support = grow_pattern(matrix, weights, int(seed), max_size, target)
        if len(pattern) < max(2, math.ceil(0.6 * max_size)) or support <= 0:
            continue
        error = abs(math.log(support / target)) - 0.02 * len(pattern)
        if error < best_error:
            best_pattern, best_error, best_support = pattern, error, support
    return best_pattern, best_support


def token_present(matrix: np.ndarray, positions: np.ndarray, tolerance: int) -> np.ndarray:
    return matrix[:, positions].sum(axis=1) >= len(positions) - tolerance


class _SlotMembership:
    """Which slots hold a token (cached boolean arrays over slots)."""

    def __init__(self, index: TokenIndex, slot_count: int) -> None:
        self.slot_of_entry = np.repeat(np.arange(slot_count), np.diff(index.slot_pointer))
        self.index = index
        self.slot_count = slot_count
        self._cache: dict[int, np.ndarray] = {}

    def __call__(self, token: int) -> np.ndarray:
        member = self._cache.get(token)
        if member is None:
            member = np.zeros(self.slot_count, dtype=bool)
            member[self.slot_of_entry[self.index.slot_tokens == token]] = True
            self._cache[token] = member
        return member


def _label_pattern(
    carriers: np.ndarray,
    weights: np.ndarray,
    presence: dict[int, np.ndarray],
    slots: np.ndarray,
    slot_probabilities: np.ndarray,
    membership: _SlotMembership,
    options: np.ndarray,
    frequency: np.ndarray,
    support: float,
    records: float,
) -> tuple[int, float]:
    """Which token a mined pattern is: the option whose frequency and co-occurrence with the
    tokens placed so far best match the pattern's carriers. Returns (token, score)."""
    learned = [token for token in presence]
    carrier_weight = float(weights[carriers].sum())
    if learned and carrier_weight > 0:
        observed = np.array([float(weights[carriers & presence[token]].sum()) / carrier_weight for token in learned])
    best_token, best_score = -1, np.inf
    for option in options:
        option = int(option)
        expected_count = records * frequency[option]
        if expected_count <= 0:
            continue
        score = 0.5 * math.log(support / expected_count) ** 2
        if learned:
            holders = slots & membership(option)
            mass = float(slot_probabilities[holders].sum())
            if mass <= 0:
                continue
            expected = np.array(
                [float(slot_probabilities[holders & membership(token)].sum()) / mass for token in learned]
            )
            score += float(((observed - expected) ** 2).sum())
        if score < best_score:
            best_token, best_score = option, score
    return best_token, best_score


def mine_tokens(
    matrix: np.ndarray,
    weights: np.ndarray,
    slot_probabilities: np.ndarray,
    index: TokenIndex,
    *,
    hash_functions: int,
    tolerance: int,
    max_tokens: int = MAX_MINED_TOKENS,
    label_options: int = 8,
) -> int:
    """Christen-style conditional mining; learned positions go into ``index.positions``."""
    slot_count = len(slot_probabilities)
    token_count = len(index.names)
    membership = _SlotMembership(index, slot_count)
    slot_of_entry = membership.slot_of_entry
    presence: dict[int, np.ndarray] = {
        token: token_present(matrix, positions, tolerance) for token, positions in index.positions.items()
    }
    queue: list[tuple[float, np.ndarray, np.ndarray, frozenset[int]]] = [
        (float(weights.sum()), np.ones(len(matrix), dtype=bool), np.ones(slot_count, dtype=bool), frozenset())
    ]
    mined = 0
    while queue and mined < max_tokens:
        queue.sort(key=lambda item: -item[0])
        records, rows, slots, decided = queue.pop(0)
        if records < MIN_PARTITION_RECORDS or not slots.any():
            continue
        entry_mask = slots[slot_of_entry]
        token_mass = np.bincount(
            index.slot_tokens[entry_mask], weights=slot_probabilities[slot_of_entry[entry_mask]], minlength=token_count
        )
        slot_mass = float(slot_probabilities[slots].sum())
        if slot_mass <= 0:
            continue
        frequency = token_mass / slot_mass
        if decided:
            frequency[list(decided)] = 0.0
        frequency[frequency >= 0.999] = 0.0
        ranked = np.argsort(-frequency)[:label_options]
        ranked = ranked[frequency[ranked] > 0]
        if len(ranked) == 0:
            continue
        split_token = -1
        known = [int(token) for token in ranked[:3] if int(token) in index.positions]
        if known:
            split_token = known[0]
        else:
            sub_matrix = matrix[rows]
            sub_weights = weights[rows]
            target = records * frequency[ranked[0]]
            pattern, support = find_pattern(sub_matrix, sub_weights, hash_functions, target)
            if len(pattern) == 0:
                continue
            carriers = np.zeros(len(matrix), dtype=bool)
            carriers[np.flatnonzero(rows)[token_present(sub_matrix, pattern, 0)]] = True
            options = np.asarray([token for token in ranked if int(token) not in index.positions])
            token, _ = _label_pattern(
                carriers, weights, presence, slots, slot_probabilities, membership, options, frequency, support, records
            )
            if token < 0:
                continue
            index.positions[token] = pattern
            presence[token] = token_present(matrix, pattern, tolerance)
            split_token = token
            mined += 1
        has = rows & presence.get(split_token, token_present(matrix, index.positions[split_token], tolerance))
        without_rows = rows & ~has
        slot_has = membership(split_token)
        next_decided = decided | {split_token}
        for part_rows, part_slots in ((has, slots & slot_has), (without_rows, slots & ~slot_has)):
            queue.append((float(weights[part_rows].sum()), part_rows, part_slots, next_decided))
    return mined
