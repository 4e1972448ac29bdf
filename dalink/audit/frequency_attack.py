"""Attack 1: frequency alignment on Bloom-filter encodings, after clustering.

Kuzu et al. (2011) and Kroll & Steinmetzer (2015) showed that field-level Bloom filters
leak through frequencies: equal names give equal filters, and the most frequent filters line
up with the most frequent names. The attacker here

1. clusters the filters of a field so that copies of one value hold together even under
   record-level noise (:mod:`dalink.audit.clustering`);
2. measures each cluster's size and set-bit count (a stand-in for the value's length that
   survives keyed hashing);
3. builds candidate slots from the public tables — each value, or each (value, salt) pair
   when the schema salts the field — with their expected counts and, from shadow encodings
   under its own key, their expected set-bit counts;
4. aligns clusters to slots largest first with calibrated confidences
   (:mod:`dalink.audit.alignment`).
"""

from __future__ import annotations

import logging

import numpy as np

from dalink.audit.alignment import Alignment, Candidates, align
from dalink.audit.claims import Claims, claims_from_clusters
from dalink.audit.clustering import EncodingClusters, cluster_encodings
from dalink.audit.frequencies import ReferenceFrequencies, ValueDistribution
from dalink.audit.shadow import (
    flip_probability,
    noisy_popcount_shift,
    salt_distribution,
    salt_step,
    shadow_popcounts,
)
from dalink.encode.schema import FieldSpec

logger = logging.getLogger(__name__)

ATTACK_NAME = "frequency_alignment"
MAX_SLOTS = 800_000


def field_candidates(
    spec: FieldSpec,
    distribution: ValueDistribution,
    reference: ReferenceFrequencies,
    *,
    random_state: int = 0,
) -> Candidates:
    """Candidate slots for a Bloom-filter field: values (× salts) with expected set bits."""
    popcounts, spread = shadow_popcounts(spec, distribution.values, random_state=random_state)
    salts = salt_distribution(salt_step(spec), reference)
    value_index = np.repeat(np.arange(len(distribution)), len(salts.values))
    salt_index = np.tile(np.arange(len(salts.values)), len(distribution))
    probabilities = np.outer(distribution.probabilities, salts.probabilities).ravel()
    if len(probabilities) > MAX_SLOTS:
        keep = np.sort(np.argsort(-probabilities, kind="stable")[:MAX_SLOTS])
        value_index, salt_index, probabilities = value_index[keep], salt_index[keep], probabilities[keep]
    return Candidates(
        claim_values=distribution.values,
        slot_value=value_index,
        probabilities=probabilities,
        features=popcounts[value_index],
        feature_sd=spread,
        unknown_share=0.05,
        slot_salt=salt_index if salt_step(spec) is not None else None,
    )


def frequency_alignment_attack(
    spec: FieldSpec,
    words: np.ndarray,
    rows: np.ndarray,
    reference: ReferenceFrequencies,
    *,
    clusters: EncodingClusters | None = None,
    random_state: int = 0,
    claim_threshold: float = 0.5,
) -> tuple[Claims, EncodingClusters, Alignment, Candidates] | None:
    """Run the attack on one field's present filters (``words``; ``rows`` their record indices).

    Returns the claims plus the intermediate clusters, alignment and candidates (the pattern
    mining attack starts from them), or None when the public tables do not cover the field.
    """
    distribution = reference.field_distribution(spec.name)
    if distribution is None or len(words) == 0:
        return None
    if clusters is None:
        clusters = cluster_encodings(words, flip_probability=flip_probability(spec), random_state=random_state)
    candidates = field_candidates(spec, distribution, reference, random_state=random_state)
    features = clusters.popcounts.astype(np.float64)
    alignment = align(
        clusters.counts,
        features,
        candidates,
        total=len(words),
        noisy_feature_shift=noisy_popcount_shift(spec) if flip_probability(spec) > 0 else None,
        claim_threshold=claim_threshold,
    )
    distinct = int(len(np.unique(np.ascontiguousarray(words).view(np.dtype((np.void, words.dtype.itemsize * words.shape[1]))))))
    claims = claims_from_clusters(
        ATTACK_NAME,
        spec.name,
        f"bf_{spec.name}",
        rows,
        clusters.labels,
        alignment.guess,
        alignment.confidence,
        candidates.claim_values,
        distinct_encodings=distinct,
        clusters=len(clusters),
    )
    logger.info(
        "frequency alignment on %s: %d records, %d distinct filters, %d clusters, %d confident claims",
        spec.name,
        len(words),
        distinct,
        len(clusters),
        int((claims.confidence >= claim_threshold).sum()),
    )
    return claims, clusters, alignment, candidates
