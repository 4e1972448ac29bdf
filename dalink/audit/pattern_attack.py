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

import numpy as np

from dalink.audit.alignment import Alignment, Candidates
from dalink.audit.claims import Claims
from dalink.audit.clustering import EncodingClusters, unpack_bits
from dalink.audit.frequencies import ReferenceFrequencies
from dalink.audit.pattern_decoding import decode, learn_from_identified, relabel
from dalink.audit.pattern_mining import build_token_index, mine_tokens, unbalance
from dalink.audit.shadow import balanced, flip_probability, mixes_bits
from dalink.encode.schema import FieldSpec

logger = logging.getLogger(__name__)

ATTACK_NAME = "pattern_mining"
BOOTSTRAP_ROUNDS = 4


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
