"""Attack 3: frequency analysis of every deterministic value in a package — the blocking keys.

A keyed blocking key cannot be recomputed without the key, but equal inputs give equal
keys: a keyed hash of (Soundex of the surname, birth year) is exactly as frequency-skewed as
those two values. The attacker computes, from the public tables and the public schema, the
distribution of each key's *plaintext* (its transformed parts), counts the key values in the
package, and aligns the two (:mod:`dalink.audit.alignment`, without a feature). A claim on a
key is a claim on its plaintext (e.g. "Soundex S530 and 1987"), from which the attacker also
claims the most likely field values (S530 → the commonest surname with that code).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dalink.audit.alignment import Candidates, align
from dalink.audit.claims import Claims, claims_from_clusters
from dalink.audit.frequencies import ReferenceFrequencies
from dalink.encode.blocking_keys import part_text, part_value
from dalink.encode.schema import BlockingKeySpec

logger = logging.getLogger(__name__)

ATTACK_NAME = "blocking_key_frequency"
MAX_FIELD_TUPLES = 4000
MAX_KEY_SLOTS = 250_000
SEPARATOR = " | "
KEY_TAIL_COUNT = 5  # key values this rare are aligned without the one-to-one constraint


@dataclass(frozen=True)
class FieldParts:
    """One field's contribution to a key: distinct part tuples, their probabilities, and the
    most likely field value behind each tuple with its conditional probability."""

    field: str
    parts: tuple
    tuples: list[tuple[str, ...]]
    probabilities: np.ndarray
    best_value: list[str]
    best_share: np.ndarray


def field_parts(spec: BlockingKeySpec, field_name: str, reference: ReferenceFrequencies) -> FieldParts | None:
    parts = tuple(part for part in spec.parts if part.field == field_name)
    distribution = reference.field_distribution(field_name)
    if distribution is None:
        return None
    texts: list[tuple[str, ...] | None] = []
    for value in distribution.values:
        transformed = [part_value(str(value), part) for part in parts]
        if any(item is None for item in transformed):
            texts.append(None)
        else:
            texts.append(tuple(part_text(part, item, unordered=spec.unordered) for part, item in zip(parts, transformed)))  # type: ignore[arg-type]
    frame = pd.DataFrame({"tuple": texts, "value": distribution.values, "p": distribution.probabilities})
    frame = frame[frame["tuple"].notna()]
    grouped = frame.groupby("tuple", sort=False)
    mass = grouped["p"].sum()
    best_index = grouped["p"].idxmax()
    order = np.argsort(-mass.to_numpy(), kind="stable")[:MAX_FIELD_TUPLES]
    tuples = [mass.index[i] for i in order]
    probabilities = mass.to_numpy()[order]
    best_value = [str(frame.loc[best_index.iloc[i], "value"]) for i in order]
    best_share = frame.loc[best_index.iloc[order].to_numpy(), "p"].to_numpy() / probabilities
    return FieldParts(field_name, parts, tuples, probabilities / probabilities.sum(), best_value, best_share)


def plaintext(texts: Sequence[str], *, unordered: bool) -> str:
    """The canonical plaintext of a key (parts sorted when the key is unordered)."""
    return SEPARATOR.join(sorted(texts) if unordered else texts)


@dataclass(frozen=True)
class KeyCandidates:
    candidates: Candidates
    fields: list[FieldParts]
    slot_tuples: np.ndarray  # (slots, fields) index into each FieldParts' tuples


def key_candidates(spec: BlockingKeySpec, reference: ReferenceFrequencies) -> KeyCandidates | None:
    """Candidate plaintexts of a key with their probabilities (independent fields multiplied)."""
    fields = list(dict.fromkeys(part.field for part in spec.parts))
    contributions = [field_parts(spec, field_name, reference) for field_name in fields]
    if any(item is None for item in contributions):
        return None
    parts_list: list[FieldParts] = [item for item in contributions if item is not None]
    probabilities = np.ones(1)
    indices = np.zeros((1, 0), dtype=np.int64)
    for contribution in parts_list:
        combined = np.outer(probabilities, contribution.probabilities).ravel()
        new_indices = np.concatenate(
            [np.repeat(indices, len(contribution.probabilities), axis=0),
             np.tile(np.arange(len(contribution.probabilities)), len(probabilities))[:, None]],
            axis=1,
        )
        if len(combined) > MAX_KEY_SLOTS:
            keep = np.argpartition(-combined, MAX_KEY_SLOTS)[:MAX_KEY_SLOTS]
            combined, new_indices = combined[keep], new_indices[keep]
        probabilities, indices = combined, new_indices
    texts = []
    for row in indices:
        pieces: list[str] = []
        for contribution, tuple_index in zip(parts_list, row):
            pieces.extend(contribution.tuples[int(tuple_index)])
        texts.append(plaintext(pieces, unordered=spec.unordered))
    frame = pd.DataFrame({"text": texts, "p": probabilities, "slot": np.arange(len(texts))})
    grouped = frame.groupby("text", sort=False).agg(p=("p", "sum"), slot=("slot", "first"))
    claim_values = grouped.index.to_numpy(dtype=object)
    candidates = Candidates(
        claim_values=claim_values,
        slot_value=np.arange(len(claim_values)),
        probabilities=grouped["p"].to_numpy(),
        unknown_share=0.05,
    )
    return KeyCandidates(candidates, parts_list, indices[grouped["slot"].to_numpy()])


def true_plaintexts(spec: BlockingKeySpec, truth: pd.DataFrame) -> np.ndarray:
    """The plaintext of each truth record's key (None where a part is missing)."""
    result = np.empty(len(truth), dtype=object)
    columns = {part.field: truth[part.field].to_numpy(dtype=object) for part in spec.parts}
    for row in range(len(truth)):
        pieces = []
        for part in spec.parts:
            value = columns[part.field][row]
            transformed = part_value(value if isinstance(value, str) else None, part)
            if transformed is None:
                pieces = None
                break
            pieces.append(part_text(part, transformed, unordered=spec.unordered))
        result[row] = plaintext(pieces, unordered=spec.unordered) if pieces is not None else None
    return result


def blocking_key_attack(
    spec: BlockingKeySpec,
    values: np.ndarray,
    rows: np.ndarray,
    reference: ReferenceFrequencies,
    *,
    claim_threshold: float = 0.5,
    dispersion: float = 0.3,
) -> list[Claims] | None:
    """Align one key column's value frequencies (``values`` int64, present only) to plaintexts.

    Returns claims on the key's plaintext followed by the derived claims on each field with a
    reference table, or None when some part has no public table (e.g. postcodes).
    """
    built = key_candidates(spec, reference)
    if built is None or len(values) == 0:
        return None
    distinct, labels, counts = np.unique(values, return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels, counts = rank[labels.ravel()], counts[order]
    alignment = align(
        counts, None, built.candidates, total=len(values), dispersion=dispersion, claim_threshold=claim_threshold,
        tail_count=KEY_TAIL_COUNT,
    )
    column = f"bk_{spec.name}"
    results = [
        claims_from_clusters(
            ATTACK_NAME, column, column, rows, labels, alignment.guess, alignment.confidence,
            built.candidates.claim_values, distinct_encodings=len(distinct), clusters=len(distinct),
        )
    ]
    for position, contribution in enumerate(built.fields):
        if contribution.field not in ("given_name", "family_name", "middle_name"):
            continue
        tuple_of_value = built.slot_tuples[:, position]
        best = np.asarray(contribution.best_value, dtype=object)[tuple_of_value]
        share = contribution.best_share[tuple_of_value]
        cluster_confidence = np.where(alignment.guess >= 0, alignment.confidence * share[np.maximum(alignment.guess, 0)], 0.0)
        results.append(
            claims_from_clusters(
                ATTACK_NAME, contribution.field, column, rows, labels, alignment.guess, cluster_confidence, best,
                distinct_encodings=len(distinct), clusters=len(distinct),
            )
        )
    logger.info("blocking key %s: %d values, %d distinct", spec.name, len(values), len(distinct))
    return results
