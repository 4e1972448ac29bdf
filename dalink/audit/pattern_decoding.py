"""Decoding for the pattern attack: from placed q-grams to names, and back to more q-grams.

Whatever placed the tokens (mining or identified records), the attack's claims and their
confidence come from here; the bootstrap rounds of :mod:`dalink.audit.pattern_attack` run
only these steps, so they live apart from mining.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dalink.audit.alignment import Alignment, Candidates, TAIL_COUNT, _LikelihoodTable
from dalink.audit.pattern_mining import TokenIndex, token_present

BOOTSTRAP_CONFIDENCE = 0.9
MIN_CARRIERS = 3


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
