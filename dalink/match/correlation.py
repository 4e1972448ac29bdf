"""Correlated comparisons: family name given that the postcode agrees.

Fellegi–Sunter multiplies the evidence of the comparisons as if they were independent among
non-matches. Family name and postcode are not: people who share a home often share a
surname (partners, parents and children; in a domestic-abuse partnership, a victim and
their abuser). Among random pairs about one in six hundred agree on family name and about one in
ten thousand on postcode, so the model expects a pair agreeing on both about once in
six million; but among non-matching pairs *at the same postcode* a shared family name is
common, tens of times likelier. Two household members then collect the full weight of both
agreements (about 20 bits), which outweighs a different given name and merges a victim
with their perpetrator when the perpetrator's row lacks date of birth and sex.

The fix is to model the pair jointly, the way Splink estimates ``u`` under a blocking rule:
``u`` of the family-name levels *conditional on the postcode agreeing*, estimated without
labels from pairs that agree on postcode and were drawn without regard to family name:

* the random pairs whose postcode sits at its top level, and
* the EM training sessions whose blocking key leaves family name free (e.g. postcode +
  given-name initial), restricted to pairs whose postcode sits at its top level.

These pairs mix matches (one person's records) and non-matches (neighbours and
households). EM separates them with the model's ``m`` and ``u`` of the other comparisons
held fixed and only the conditional ``u`` of the family-name levels free, one share of
matches per source. A Dirichlet prior centred on the unconditional ``u`` keeps a source
with few non-matches near the independent model.

A pair whose postcode agrees then has its family-name evidence taken as
``log2(m / u_given_postcode)`` instead of ``log2(m / u)``; ``m`` is unchanged (for one
person's records, keeping a surname and keeping an address are close to independent).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dalink.match.compare import MISSING_LEVEL, ComparisonSpec

logger = logging.getLogger(__name__)

# (field, the fields whose agreement it is conditioned on, the fields a sample must not be selected on)
CORRELATED_FIELDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("family_name", ("postcode",), ("family_name",)),
    ("sex", ("postcode", "family_name"), ("sex", "given_name")),
)
PRIOR_PAIRS = 20.0
MAX_ITERATIONS = 200
TOLERANCE = 1e-7


class ConditionalU(BaseModel):
    """``u`` of one comparison's levels among non-matches whose ``given_field`` agrees (``model.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    given_fields: tuple[str, ...]
    given_levels: tuple[int, ...] = Field(description="The level of each given field's comparison that counts as agreement.")
    u: tuple[float, ...] = Field(description="Per level of the field's comparison; the missing level held at 1.")
    pairs: float = Field(0.0, description="Pairs agreeing on the given field the estimate was made from.")
    non_matching_pairs: float = Field(0.0, description="Of those, the estimated non-matches.")


def top_level(spec: ComparisonSpec) -> int:
    """The level meaning "same value": identical when the field has it, else the highest cut."""
    return spec.level_count - 1 if spec.identical_level else len(spec.cuts) + 1


def correlated_pairs(comparisons: Sequence[ComparisonSpec]) -> list[tuple[int, tuple[int, ...], tuple[str, ...]]]:
    """(field index, given-field indices, fields a sample must leave free) for those this schema has."""
    columns = {spec.field: index for index, spec in enumerate(comparisons)}
    return [
        (columns[field], tuple(columns[name] for name in given), excluded)
        for field, given, excluded in CORRELATED_FIELDS
        if field in columns and all(name in columns for name in given)
    ]


def estimate_conditional_u(
    sources: Sequence[tuple[np.ndarray, np.ndarray]],
    m: Sequence[np.ndarray],
    u: Sequence[np.ndarray],
    field: int,
    given: tuple[int, ...],
    comparisons: Sequence[ComparisonSpec],
    *,
    prior_pairs: float = PRIOR_PAIRS,
) -> ConditionalU:
    """EM for ``u`` of ``field``'s levels among non-matches that agree (top level) on all ``given``.

    ``sources`` are (patterns, counts) of pair samples, each drawn without regard to
    ``field``; only their pairs agreeing on the given fields are used, each source with its
    own share of matches. ``m`` and ``u`` of every other comparison stay fixed.
    """
    given_levels = tuple(top_level(comparisons[index]) for index in given)
    level_count = comparisons[field].level_count
    baseline = np.asarray(u[field], dtype=np.float64).copy()
    baseline[MISSING_LEVEL] = 0.0
    baseline /= baseline.sum()
    others = [index for index in range(len(comparisons)) if index != field and index not in given]
    prepared = []
    for patterns, counts in sources:
        chosen = np.all(patterns[:, list(given)] == np.array(given_levels), axis=1)
        if not chosen.any():
            continue
        rows = patterns[chosen]
        log_ratio = np.zeros(len(rows))
        for index in others:
            ratio = np.log(m[index]) - np.log(u[index])
            ratio[MISSING_LEVEL] = 0.0
            log_ratio += ratio[rows[:, index]]
        prepared.append((rows[:, field].astype(np.int64), counts[chosen].astype(np.float64), log_ratio))
    conditional = baseline.copy()
    conditional[MISSING_LEVEL] = 1.0
    total_pairs = float(sum(counts.sum() for _, counts, _ in prepared))
    if not prepared:
        return ConditionalU(
            field=comparisons[field].field,
            given_fields=tuple(comparisons[index].field for index in given),
            given_levels=given_levels,
            u=tuple(float(value) for value in conditional),
        )
    field_m = np.asarray(m[field], dtype=np.float64)
    shares = [0.5] * len(prepared)
    non_matching = 0.0
    for _ in range(MAX_ITERATIONS):
        totals = prior_pairs * baseline
        non_matching = 0.0
        for position, (levels, counts, log_ratio) in enumerate(prepared):
            field_ratio = np.log(field_m[levels]) - np.log(conditional[levels])
            field_ratio[levels == MISSING_LEVEL] = 0.0
            share = shares[position]
            posterior = 1.0 / (1.0 + np.exp(-np.clip(np.log(share / (1 - share)) + log_ratio + field_ratio, -700, 700)))
            shares[position] = float(min(max((counts * posterior).sum() / counts.sum(), 1e-6), 1 - 1e-6))
            other_weight = counts * (1.0 - posterior)
            non_matching += float(other_weight.sum())
            totals = totals + np.bincount(levels, weights=other_weight, minlength=level_count)
        totals[MISSING_LEVEL] = 0.0
        updated = totals / totals.sum()
        updated[MISSING_LEVEL] = 1.0
        change = float(np.abs(updated - conditional).max())
        conditional = updated
        if change < TOLERANCE:
            break
    result = ConditionalU(
        field=comparisons[field].field,
        given_fields=tuple(comparisons[index].field for index in given),
        given_levels=given_levels,
        u=tuple(float(value) for value in conditional),
        pairs=total_pairs,
        non_matching_pairs=round(non_matching, 3),
    )
    top = top_level(comparisons[field])
    logger.info(
        "u of %s agreement given %s agreement: %.4g (independent model %.4g), from %.0f pairs, %.0f non-matching",
        result.field,
        " and ".join(result.given_fields),
        conditional[top],
        baseline[top],
        total_pairs,
        non_matching,
    )
    return result


def correction(levels: np.ndarray, conditionals: Sequence[ConditionalU], u: Sequence[np.ndarray], columns: dict[str, int]) -> np.ndarray:
    """Natural-log correction to add to each pair's Bayes factor: ``log(u / u_given)`` where the given field agrees."""
    total = np.zeros(len(levels))
    for conditional in conditionals:
        field = columns[conditional.field]
        given = [columns[name] for name in conditional.given_fields]
        ratio = np.log(u[field]) - np.log(np.asarray(conditional.u))
        ratio[MISSING_LEVEL] = 0.0
        agrees = np.all(levels[:, given] == np.array(conditional.given_levels), axis=1)
        total[agrees] += ratio[levels[agrees, field]]
    return total
