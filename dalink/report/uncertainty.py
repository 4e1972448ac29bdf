"""Intervals for the headline counts that reflect linkage error.

Why not simply sample each scored pair by its match probability? Because the count's error
is mostly *systematic*: the same hard pairs (a changed surname, a missing date of birth) are
missed in every run, and a Fellegi–Sunter model's probabilities are themselves estimates
made under a conditional-independence assumption that real data break. Sampling edges by
their stated probabilities treats the model as exact and the missed pairs as nonexistent,
so its intervals are far too narrow and centred in the wrong place (a reference analysis
found they covered the true count in none of its runs).

Each replicate here re-draws the linkage from three sources of error:

1. **Model error.** Every pair's log-odds is distorted by one random shift and one random
   scale per replicate: ``logit p' = shift + scale · logit p``. A shift is an error in the
   estimated prior (the share of pairs that match); a scale is an error in how strongly the
   m/u probabilities separate matches from non-matches. Both move *all* pairs together, which
   is what makes linkage error systematic.
2. **Pairs near the threshold.** With the distorted probabilities, links inside an entity are
   kept or cut (an entity splits only where no other kept link holds it together), and
   neighbouring entities are merged with the *average* probability over all their record
   pairs, the rule the linker's own clustering uses, so that one doubtful pair does not chain
   two people together.
3. **Pairs lost to blocking.** ``summary.json`` estimates blocking recall; the matches it
   implies were never scored, so a Poisson number of extra merges is drawn, shaped like the
   scored near misses (the best evidence of what a hard match looks like).

The interval is the central ``confidence`` range of the replicate counts, widened to include
the count on the linker's own entities (the published estimate), so the estimate always lies
inside its interval. The defaults of the two model-error spreads were calibrated on synthetic
partnerships with seeds disjoint from those of the coverage benchmark
(``benchmarks/bench_report_coverage.py``), which reports how often the intervals cover the
truth.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dalink.report.linkage import Linkage
from dalink.report.measures import HEADLINE_KEYS, MeasureParameters, Measures, compute_measures

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_CLIP = 1e-9


class UncertaintyConfig(BaseModel):
    """How linkage-error intervals are simulated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    replicates: int = Field(200, ge=10, description="Resampled linkages; 200 give stable 95% limits.")
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="Nominal coverage of the intervals.")
    shift_sd: float = Field(
        1.0,
        ge=0.0,
        description="Standard deviation of the per-replicate shift of every pair's log-odds "
        "(error in the estimated prior).",
    )
    scale_sd: float = Field(
        0.3,
        ge=0.0,
        description="Standard deviation of the log of the per-replicate factor on every pair's "
        "log-odds (error in the m/u separation).",
    )
    blocking_loss: bool = Field(
        True, description="Add merges for matches the summary estimates blocking never scored."
    )
    random_state: int = 0


@dataclasses.dataclass(frozen=True)
class Interval:
    """One headline count: the count on the linker's entities and its interval."""

    estimate: int
    lower: int
    upper: int


@dataclasses.dataclass(frozen=True)
class IntervalResult:
    """Intervals per headline count and the replicate counts behind them."""

    intervals: dict[str, Interval]
    replicates: pd.DataFrame
    """One row per replicate, one column per headline count."""
    config: UncertaintyConfig


# --------------------------------------------------------------------------- graph helpers


def connected_labels(count: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label (smallest member index) per node, by vectorised pointer jumping."""
    labels = np.arange(count, dtype=np.int64)
    if len(left) == 0:
        return labels
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    while True:
        smaller = np.minimum(labels[left], labels[right])
        updated = labels.copy()
        np.minimum.at(updated, left, smaller)
        np.minimum.at(updated, right, smaller)
        updated = np.minimum(updated, updated[updated])
        while True:
            jumped = updated[updated]
            if np.array_equal(jumped, updated):
                break
            updated = jumped
        if np.array_equal(updated, labels):
            return labels
        labels = updated


def _logit(probability: np.ndarray) -> np.ndarray:
    clipped = np.clip(probability, _CLIP, 1.0 - _CLIP)
    return np.log(clipped) - np.log1p(-clipped)


def _sigmoid(log_odds: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * log_odds))


@dataclasses.dataclass(frozen=True)
class _LinkageStructure:
    """The linkage as integer arrays, prepared once for all replicates."""

    records: int
    entity: np.ndarray  # entity code per record
    entity_size: np.ndarray  # records per entity code
    internal_left: np.ndarray  # record positions of scored pairs inside one entity
    internal_right: np.ndarray
    internal_log_odds: np.ndarray
    glue_left: np.ndarray  # ties entity members no scored pair connects
    glue_right: np.ndarray
    cross_first: np.ndarray  # entity codes of neighbouring entity pairs (first < second)
    cross_second: np.ndarray
    cross_group: np.ndarray  # per cross pair: index of its entity pair
    cross_log_odds: np.ndarray
    cross_pair_count: np.ndarray  # |A|·|B| per entity pair
    missed_matches: float  # expected matches blocking never scored


def _structure(linkage: Linkage) -> _LinkageStructure:
    entities = linkage.entities
    entity, uniques = pd.factorize(entities["entity_id"])
    entity = entity.astype(np.int64)
    entity_size = np.bincount(entity, minlength=len(uniques)).astype(np.int64)
    probability = linkage.pairs["match_probability"].to_numpy(dtype=float)
    left, right = linkage.left, linkage.right
    same = entity[left] == entity[right]
    log_odds = _logit(probability)

    internal_left, internal_right = left[same], right[same]
    # Members of an entity that no scored pair inside it connects (the linker's clustering
    # can join them through pairs it scored but did not write) are tied together for good.
    full = connected_labels(len(entity), internal_left, internal_right)
    component_of_entity = pd.DataFrame({"entity": entity, "component": full}).drop_duplicates()
    first_component = component_of_entity.groupby("entity")["component"].transform("first")
    extra = component_of_entity["component"].to_numpy() != first_component.to_numpy()
    glue_left = component_of_entity["component"].to_numpy()[extra]
    glue_right = first_component.to_numpy()[extra]

    cross = ~same
    first = np.minimum(entity[left[cross]], entity[right[cross]])
    second = np.maximum(entity[left[cross]], entity[right[cross]])
    group_key = first * np.int64(len(uniques)) + second
    group_codes, group_uniques = pd.factorize(group_key)
    group_uniques = np.asarray(group_uniques, dtype=np.int64)
    cross_first = group_uniques // len(uniques)
    cross_second = group_uniques % len(uniques)

    missed = 0.0
    blocking_recall = linkage.blocking_recall
    expected = linkage.summary.get("estimated_quality", {}).get("expected_matching_pairs")
    if blocking_recall and 0 < blocking_recall < 1:
        if not isinstance(expected, (int, float)):
            expected = float(probability.sum())
        missed = float(expected) * (1.0 / blocking_recall - 1.0)
    return _LinkageStructure(
        records=len(entity),
        entity=entity,
        entity_size=entity_size,
        internal_left=internal_left,
        internal_right=internal_right,
        internal_log_odds=log_odds[same],
        glue_left=glue_left.astype(np.int64),
        glue_right=glue_right.astype(np.int64),
        cross_first=cross_first,
        cross_second=cross_second,
        cross_group=group_codes.astype(np.int64),
        cross_log_odds=log_odds[cross],
        cross_pair_count=(entity_size[cross_first] * entity_size[cross_second]).astype(float),
        missed_matches=missed,
    )


def _replicate_labels(
    structure: _LinkageStructure,
    generator: np.random.Generator,
    config: UncertaintyConfig,
) -> np.ndarray:
    """One re-drawn linkage: a cluster label per record."""
    shift = generator.normal(0.0, config.shift_sd) if config.shift_sd else 0.0
    scale = float(np.exp(generator.normal(0.0, config.scale_sd))) if config.scale_sd else 1.0

    internal_probability = _sigmoid(shift + scale * structure.internal_log_odds)
    kept = generator.random(len(internal_probability)) < internal_probability
    lefts = [structure.internal_left[kept], structure.glue_left]
    rights = [structure.internal_right[kept], structure.glue_right]

    group_count = len(structure.cross_first)
    if group_count:
        cross_probability = _sigmoid(shift + scale * structure.cross_log_odds)
        average = np.bincount(structure.cross_group, weights=cross_probability, minlength=group_count)
        average = np.minimum(average / structure.cross_pair_count, 1.0)
        merged = generator.random(group_count) < average
        if config.blocking_loss and structure.missed_matches > 0 and average.sum() > 0:
            # Matches blocking never scored: each is a merge of two neighbouring entities,
            # chosen like the scored near misses (weighted by their probability).
            # Only the share of matches that would join two entities changes any count.
            cross_share = cross_probability.sum() / max(cross_probability.sum() + internal_probability.sum(), 1.0)
            extra = generator.poisson(structure.missed_matches * cross_share)
            if extra:
                chosen = generator.choice(group_count, size=min(int(extra), group_count), replace=True, p=average / average.sum())
                merged[chosen] = True
        # An entity is represented by its first record; merging joins the representatives.
        representative = np.zeros(len(structure.entity_size), dtype=np.int64)
        representative[structure.entity[::-1]] = np.arange(structure.records - 1, -1, -1)
        lefts.append(representative[structure.cross_first[merged]])
        rights.append(representative[structure.cross_second[merged]])
    return connected_labels(structure.records, np.concatenate(lefts), np.concatenate(rights))


def _replicate_events(entities: pd.DataFrame) -> pd.DataFrame:
    """The event fields, parsed once: the measures are computed hundreds of times, and parsing
    dates and normalising text would otherwise dominate every replicate."""
    events = entities[["agency", "record_id", "event_date", "event_type", "local_authority", "role"]].copy()
    if not pd.api.types.is_datetime64_any_dtype(events["event_date"].dtype):
        text = events["event_date"].astype("string").str.strip()
        parsed = pd.to_datetime(text.mask(text == ""), format="ISO8601", errors="coerce")
        if not (parsed.isna() & text.notna() & (text != "")).any():  # leave bad dates to the measures' error
            events["event_date"] = parsed
    for column in ("agency", "event_type", "local_authority", "role"):
        events[column] = events[column].astype("category")
    return events


def linkage_intervals(
    linkage: Linkage,
    parameters: MeasureParameters | None = None,
    config: UncertaintyConfig | None = None,
    *,
    observed: Measures | None = None,
    progress: Progress | None = None,
) -> IntervalResult:
    """Intervals for every headline count of ``linkage`` (see the module docstring)."""
    parameters = parameters or MeasureParameters()
    config = config or UncertaintyConfig()
    if observed is None:
        observed = compute_measures(linkage.entities, parameters)
    structure = _structure(linkage)
    generator = np.random.default_rng(config.random_state)
    events = _replicate_events(linkage.entities)
    rows = []
    for replicate in range(config.replicates):
        labels = _replicate_labels(structure, generator, config)
        events["entity_id"] = labels
        rows.append(compute_measures(events, parameters).headline())
        if progress is not None:
            progress(replicate + 1, config.replicates)
    replicates = pd.DataFrame(rows, columns=list(HEADLINE_KEYS))
    tail = (1.0 - config.confidence) / 2.0
    intervals = {}
    for key in HEADLINE_KEYS:
        estimate = int(getattr(observed, key))
        values = replicates[key].to_numpy(dtype=float)
        lower = int(np.floor(np.quantile(values, tail)))
        upper = int(np.ceil(np.quantile(values, 1.0 - tail)))
        intervals[key] = Interval(estimate=estimate, lower=min(lower, estimate), upper=max(upper, estimate))
    logger.info("linkage intervals from %d replicates", config.replicates)
    return IntervalResult(intervals=intervals, replicates=replicates, config=config)
