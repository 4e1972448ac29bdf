"""Attack 2: pattern mining — which bit positions does each q-gram set? (Christen et al.)

Christen, Ranbaduge, Vatsalan and Schnell (2017, 2018) showed that the bit positions a
frequent q-gram sets appear *together* in as many filters as the q-gram has carriers, so
frequent-itemset mining over bit positions finds them without the key. Once enough q-grams
are placed, every filter can be decoded into the q-grams it must hold and those it cannot,
and matched against the public list of names. This module implements that attack on the
clusters of :mod:`dalink.audit.clustering` (so record noise is averaged out first):

1. **undo balancing** if the schema balances filters: a bit and its complement are perfectly
   anti-correlated, so the attacker pairs them up and keeps the sparser one;
2. **mine** (Christen's conditional partitioning): in a partition of the filters, the most
   frequent not-yet-split token of the matching partition of the public values owns the
   largest set of positions that are all set together (grown greedily from the most frequent
   positions); the partition is split into filters with and without that pattern, and the
   public values into those with and without the token;
3. **decode**: a filter holds a placed token when all its positions are set; each filter's
   set of placed tokens must equal a candidate value's, and the candidates' expected counts
   and set-bit counts give the confidence as in the frequency alignment;
4. **bootstrap**: confidently identified filters (and the frequency alignment's confident
   claims, as a real attacker would combine them) pin down the positions of every token they
   share, which places more tokens; decode again, a few rounds.

XOR folding and rule 90 make a set bit depend on two unfolded bits, so "all positions set"
stops being a test of presence; the decoder then tolerates a quarter of the positions being
cleared, which is the best a simple attacker can do and is reported as such.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dalink.audit.alignment import Alignment, Candidates, TAIL_COUNT, _LikelihoodTable
from dalink.audit.claims import Claims
from dalink.audit.clustering import EncodingClusters, unpack_bits
from dalink.audit.frequencies import ReferenceFrequencies
from dalink.audit.shadow import (
    balanced,
    flip_probability,
    mixes_bits,
    salt_distribution,
    salt_step,
    salted_tokens,
    value_tokens,
)
from dalink.encode.schema import FieldSpec

logger = logging.getLogger(__name__)

ATTACK_NAME = "pattern_mining"
SEEDS_PER_PATTERN = 12
GROWTH_RETENTION = 0.85
STEP_RETENTION = 0.95
MIN_PARTITION_RECORDS = 20
MAX_MINED_TOKENS = 250
BOOTSTRAP_ROUNDS = 4
BOOTSTRAP_CONFIDENCE = 0.9
MIN_CARRIERS = 3


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


# --- step 3: global relabelling ---------------------------------------------------------------


def slot_token_matrix(index: TokenIndex, slot_count: int, tokens: np.ndarray) -> np.ndarray:
    """Boolean (slots, len(tokens)) membership, vectorised over the CSR index."""
    column_of = np.full(len(index.names), -1, dtype=np.int64)
    column_of[tokens] = np.arange(len(tokens))
    slot_of_entry = np.repeat(np.arange(slot_count), np.diff(index.slot_pointer))
    columns = column_of[index.slot_tokens]
    keep = columns >= 0
    matrix = np.zeros((slot_count, len(tokens)), dtype=bool)
    matrix[slot_of_entry[keep], columns[keep]] = True
    return matrix


def relabel(
    matrix: np.ndarray,
    weights: np.ndarray,
    slot_probabilities: np.ndarray,
    index: TokenIndex,
    *,
    tolerance: int,
    rounds: int = 3,
    vocabulary: int = 400,
) -> int:
    """Re-choose every placed pattern's token so the whole assignment fits the public table.

    Mining labels a pattern from the partition it was found in; a global check compares each
    pattern's overall frequency and its co-occurrence with every other placed pattern against
    each token's frequency and co-occurrence in the public values, and reassigns labels (one
    pattern per token) where another token fits better. Returns the number of labels changed.
    """
    if len(index.positions) < 3:
        return 0
    slot_count = len(slot_probabilities)
    token_mass = np.bincount(
        index.slot_tokens,
        weights=slot_probabilities[np.repeat(np.arange(slot_count), np.diff(index.slot_pointer))],
        minlength=len(index.names),
    )
    total_mass = float(slot_probabilities.sum())
    vocabulary_tokens = np.argsort(-token_mass)[:vocabulary]
    vocabulary_tokens = vocabulary_tokens[token_mass[vocabulary_tokens] > 0]
    membership = slot_token_matrix(index, slot_count, vocabulary_tokens).astype(np.float32)
    weighted = membership * slot_probabilities[:, None].astype(np.float32)
    co_mass = weighted.T @ membership  # (V, V): mass holding both tokens
    frequency = np.diag(co_mass) / total_mass
    position_of = {int(token): column for column, token in enumerate(vocabulary_tokens)}
    patterns = list(index.positions.items())
    presence = np.stack([token_present(matrix, positions, tolerance) for _, positions in patterns], axis=1).astype(np.float32)
    observed_co = (presence * weights[:, None]).T @ presence
    support = np.diag(observed_co) / float(weights.sum())
    labels = [position_of.get(int(token), -1) for token, _ in patterns]
    changed = 0
    for _ in range(rounds):
        round_changes = 0
        for pattern in np.argsort(-support):
            others = [other for other in range(len(patterns)) if other != pattern and labels[other] >= 0]
            if not others or support[pattern] <= 0:
                continue
            observed = observed_co[pattern, others] / max(observed_co[pattern, pattern], 1e-12)
            other_labels = np.asarray([labels[other] for other in others])
            with np.errstate(divide="ignore", invalid="ignore"):
                expected = co_mass[:, other_labels] / np.maximum(np.diag(co_mass)[:, None], 1e-300)
                score = ((expected - observed[None, :]) ** 2).sum(axis=1) + 0.5 * np.log(
                    np.maximum(frequency, 1e-12) / support[pattern]
                ) ** 2
            taken = set(labels) - {labels[pattern]}
            if taken:
                score[list(taken)] = np.inf
            best = int(np.argmin(score))
            if best != labels[pattern] and np.isfinite(score[best]):
                labels[pattern] = best
                round_changes += 1
        changed += round_changes
        if round_changes == 0:
            break
    index.positions = {
        int(vocabulary_tokens[label]): positions for (_, positions), label in zip(patterns, labels) if label >= 0
    }
    return changed


# --- steps 4 and 5: decoding and bootstrapping -------------------------------------------------


MISMATCH_LOG_PENALTY = math.log(0.03)
EXACT_DECODE_SLOTS = 60_000
DECODE_BLOCK = 256


def decode(
    matrix: np.ndarray,
    counts: np.ndarray,
    popcounts: np.ndarray,
    candidates: Candidates,
    index: TokenIndex,
    *,
    total: int,
    tolerance: int,
    noisy_tolerance: int,
    dispersion: float = 0.3,
    use_popcount: bool = True,
) -> Alignment:
    """Match each cluster's placed tokens against every candidate's tokens.

    A candidate is scored by its expected count (as in the frequency alignment), its expected
    set-bit count, and a penalty per placed token on which cluster and candidate disagree (a
    label can be wrong); unknown values compete as in the alignment. Salted fields with very
    many candidate slots are matched on exact signatures only.
    """
    cluster_count = len(matrix)
    guess = np.full(cluster_count, -1, dtype=np.int64)
    confidence = np.zeros(cluster_count, dtype=np.float64)
    learned = np.asarray(sorted(index.positions), dtype=np.int64)
    if len(learned) == 0 or cluster_count == 0:
        return Alignment(guess, confidence)
    noisy = counts <= TAIL_COUNT
    present = np.zeros((cluster_count, len(learned)), dtype=bool)
    for column, token in enumerate(learned):
        positions = index.positions[int(token)]
        hits = matrix[:, positions].sum(axis=1)
        present[:, column] = np.where(noisy, hits >= len(positions) - noisy_tolerance, hits >= len(positions) - tolerance)
    slot_count = len(candidates)
    signature = slot_token_matrix(index, slot_count, learned)
    means = candidates.probabilities * total
    positive = means[means > 0]
    unknown_mean = max(float(positive.min()) if positive.size else 1.0, 1e-3)
    unknown_slots_total = max(candidates.unknown_share * total / unknown_mean, 1.0)
    table = _LikelihoodTable(dispersion, unknown_mean, max(float(counts.max()), float(means.max())) * 4)
    log_means = np.log(np.maximum(means, 1e-300))
    features = candidates.features if use_popcount else None
    value_count = len(candidates.claim_values)
    exact = slot_count > EXACT_DECODE_SLOTS
    if exact:
        slot_keys = np.packbits(signature, axis=1)
        slot_view = np.ascontiguousarray(slot_keys).view(np.dtype((np.void, slot_keys.shape[1]))).ravel()
        groups: dict[bytes, list[int]] = {}
        for slot, key in enumerate(slot_view):
            groups.setdefault(key.tobytes(), []).append(slot)
        cluster_keys = np.packbits(present, axis=1)
        cluster_view = np.ascontiguousarray(cluster_keys).view(np.dtype((np.void, cluster_keys.shape[1]))).ravel()
    else:
        signature_float = signature.astype(np.float32)
        signature_sizes = signature.sum(axis=1)
    active = np.flatnonzero(~(noisy & (features is not None)))
    for start in range(0, len(active), DECODE_BLOCK):
        block = active[start : start + DECODE_BLOCK]
        if exact:
            pair_cluster_list, pair_slot_list, fraction_list = [], [], []
            for cluster in block:
                members = groups.get(cluster_view[cluster].tobytes())
                if members:
                    pair_cluster_list.append(np.full(len(members), cluster))
                    pair_slot_list.append(np.asarray(members, dtype=np.int64))
                    fraction_list.append(len(members) / slot_count)
            if not pair_cluster_list:
                continue
            pair_cluster = np.concatenate(pair_cluster_list)
            pair_slot = np.concatenate(pair_slot_list)
            penalty = np.zeros(len(pair_slot))
            unknown_fraction = np.zeros(cluster_count)
            unknown_fraction[[int(cluster[0]) for cluster in pair_cluster_list]] = fraction_list
        else:
            rows = present[block].astype(np.float32)
            mismatches = rows.sum(axis=1)[:, None] + signature_sizes[None, :] - 2 * (rows @ signature_float.T)
            local, pair_slot = np.nonzero(mismatches <= 1.5)
            if len(local) == 0:
                continue
            pair_cluster = block[local]
            penalty = mismatches[local, pair_slot] * MISMATCH_LOG_PENALTY
            exact_matches = np.bincount(local, weights=(mismatches[local, pair_slot] < 0.5), minlength=len(block))
            unknown_fraction = np.zeros(cluster_count)
            unknown_fraction[block] = exact_matches / slot_count
        pair_count = counts[pair_cluster]
        log_like = penalty.astype(np.float64)
        for count in np.unique(pair_count):
            chosen = pair_count == count
            log_like[chosen] += table(int(count), log_means[pair_slot[chosen]])
        if features is not None:
            log_like -= 0.5 * ((features[pair_slot] - popcounts[pair_cluster]) / candidates.feature_sd) ** 2
        clusters_here = np.unique(pair_cluster)
        unknown_slots = unknown_slots_total * np.maximum(unknown_fraction[clusters_here], 1.0 / slot_count)
        log_unknown = np.array(
            [float(table(int(counts[cluster]), np.array([math.log(unknown_mean)]))[0]) for cluster in clusters_here]
        ) + np.log(unknown_slots)
        position = np.searchsorted(clusters_here, pair_cluster)
        peak = np.maximum(log_unknown, -np.inf)
        np.maximum.at(peak, position, log_like)
        weights = np.exp(log_like - peak[position])
        frame = pd.DataFrame({"cluster": position, "value": candidates.slot_value[pair_slot], "weight": weights})
        by_value = frame.groupby(["cluster", "value"], sort=False)["weight"].sum().reset_index()
        totals = by_value.groupby("cluster")["weight"].sum()
        best = by_value.loc[by_value.groupby("cluster")["weight"].idxmax()]
        denominator = totals.reindex(best["cluster"]).to_numpy() + np.exp(log_unknown - peak)[best["cluster"].to_numpy()]
        chosen_clusters = clusters_here[best["cluster"].to_numpy()]
        guess[chosen_clusters] = best["value"].to_numpy()
        confidence[chosen_clusters] = best["weight"].to_numpy() / denominator
    return Alignment(guess, confidence)


def learn_from_identified(
    matrix: np.ndarray,
    counts: np.ndarray,
    alignment: Alignment,
    candidates: Candidates,
    index: TokenIndex,
    *,
    hash_functions: int,
    threshold: float = BOOTSTRAP_CONFIDENCE,
) -> int:
    """Place tokens from confidently identified clusters: positions set in (almost) all carriers."""
    confident = np.flatnonzero((alignment.confidence >= threshold) & (alignment.guess >= 0) & (counts > TAIL_COUNT))
    if len(confident) == 0:
        return 0
    # The slot a claim most likely used: the claimed value's most probable slot.
    best_slot_of_value: dict[int, int] = {}
    order = np.argsort(-candidates.probabilities, kind="stable")
    for slot in order:
        best_slot_of_value.setdefault(int(candidates.slot_value[slot]), int(slot))
    carriers: dict[int, list[int]] = {}
    salted = candidates.slot_salt is not None
    for cluster in confident:
        slot = best_slot_of_value.get(int(alignment.guess[cluster]))
        if slot is None or salted:
            continue
        for token in index.tokens_of(slot):
            carriers.setdefault(int(token), []).append(int(cluster))
    learned = 0
    for token, clusters in carriers.items():
        if len(clusters) < MIN_CARRIERS:
            continue
        share = matrix[clusters].mean(axis=0)
        positions = np.flatnonzero(share >= 0.95)
        if not (math.ceil(0.5 * hash_functions) <= len(positions) <= 2 * hash_functions):
            continue
        if token not in index.positions:
            learned += 1
        index.positions[token] = positions
    return learned


def pattern_mining_attack(
    spec: FieldSpec,
    clusters: EncodingClusters,
    candidates: Candidates,
    reference: ReferenceFrequencies,
    rows: np.ndarray,
    *,
    seed_alignment: Alignment | None = None,
    total: int,
    claim_threshold: float = 0.5,
    dispersion: float = 0.3,
) -> Claims:
    """Run the attack on a field's clusters (from the frequency attack's clustering)."""
    notes: list[str] = []
    matrix = unpack_bits(clusters.centroids)
    weights = clusters.counts.astype(np.float32)
    if balanced(spec):
        before = matrix.shape[1]
        matrix = unbalance(matrix, weights)
        notes.append(f"balancing undone: {matrix.shape[1]} of {before} bits paired with their complements")
    tolerance = max(1, spec.hash_functions // 4) if mixes_bits(spec) else 0
    noisy_tolerance = tolerance + (1 if flip_probability(spec) > 0 else 0)
    index = build_token_index(spec, candidates, reference)
    use_popcount = not balanced(spec)
    popcounts = clusters.popcounts.astype(np.float64)
    matrix_float = matrix.astype(np.float32)
    mined = mine_tokens(
        matrix_float.astype(bool), weights, candidates.probabilities, index, hash_functions=spec.hash_functions, tolerance=tolerance
    )
    notes.append(f"{mined} tokens placed by mining")
    changed = relabel(matrix, weights, candidates.probabilities, index, tolerance=tolerance)
    notes.append(f"{changed} labels changed by the global consistency check")
    seeded = 0
    if seed_alignment is not None:
        seeded = learn_from_identified(matrix, clusters.counts, seed_alignment, candidates, index, hash_functions=spec.hash_functions)
        notes.append(f"{seeded} tokens placed from the frequency alignment's confident claims")
    alignment = decode(
        matrix, clusters.counts, popcounts, candidates, index, total=total, tolerance=tolerance,
        noisy_tolerance=noisy_tolerance, dispersion=dispersion, use_popcount=use_popcount,
    )
    for _ in range(BOOTSTRAP_ROUNDS):
        added = learn_from_identified(matrix, clusters.counts, alignment, candidates, index, hash_functions=spec.hash_functions)
        if added == 0:
            break
        alignment = decode(
            matrix, clusters.counts, popcounts, candidates, index, total=total, tolerance=tolerance,
            noisy_tolerance=noisy_tolerance, dispersion=dispersion, use_popcount=use_popcount,
        )
    notes.append(f"{len(index.positions)} of {len(index.names)} tokens placed in the end")
    values = np.append(np.asarray(candidates.claim_values, dtype=object), None)
    guess_index = np.where(alignment.guess >= 0, alignment.guess, len(values) - 1)
    logger.info("pattern mining on %s: %s", spec.name, "; ".join(notes))
    return Claims(
        attack=ATTACK_NAME,
        field=spec.name,
        column=f"bf_{spec.name}",
        rows=rows,
        guesses=values[guess_index[clusters.labels]],
        confidence=np.where(alignment.guess[clusters.labels] >= 0, alignment.confidence[clusters.labels], 0.0),
        clusters=len(clusters),
        notes=notes,
    )
