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
    certain_probability: float = Field(
        0.99,
        gt=0.5,
        le=1.0,
        description="Links inside an entity at or above this probability are never re-drawn.",
    )
    join_floor: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Near misses between entities with a lower average probability are not "
        "re-drawn one by one (the model overstates them); their expected matches are added as "
        "joins of average effect.",
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
    """The linkage as integer arrays, prepared once for all replicates.

    Records joined by near-certain links form **atoms**. Every other scored pair belongs to a
    pair of atoms: *inside* one of the linker's entities (a doubtful link it made) or *across*
    two (a near miss it left apart).
    """

    records: int
    entity: np.ndarray  # the linker's entity code per record
    atom: np.ndarray  # atom code per record
    atom_entity: np.ndarray  # entity code per atom
    candidate_first: np.ndarray  # atom codes of each doubtful atom pair (first < second)
    candidate_second: np.ndarray
    candidate_inside: np.ndarray  # True where both atoms are in one entity
    candidate_pair_count: np.ndarray  # |X|·|Y| record pairs per atom pair
    pair_group: np.ndarray  # per doubtful record pair: index of its atom pair
    pair_log_odds: np.ndarray
    blocking_missed: float  # expected matches between atoms that blocking never scored


def _glue_edges(entity: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges tying together members of an entity that no scored pair inside it connects.

    The linker's clustering can join records through pairs it scored but did not write; the
    report cannot judge such a join, so it keeps it.
    """
    full = connected_labels(len(entity), left, right)
    component_of_entity = pd.DataFrame({"entity": entity, "component": full}).drop_duplicates()
    first_component = component_of_entity.groupby("entity")["component"].transform("first").to_numpy()
    components = component_of_entity["component"].to_numpy()
    extra = components != first_component
    return components[extra].astype(np.int64), first_component[extra].astype(np.int64)


def _structure(linkage: Linkage, config: UncertaintyConfig) -> _LinkageStructure:
    entity, _ = pd.factorize(linkage.entities["entity_id"])
    entity = entity.astype(np.int64)
    records = len(entity)
    probability = linkage.pairs["match_probability"].to_numpy(dtype=float)
    left, right = linkage.left, linkage.right
    same = entity[left] == entity[right]

    glue_left, glue_right = _glue_edges(entity, left[same], right[same])
    certain = same & (probability >= config.certain_probability)
    atom_labels = connected_labels(
        records, np.concatenate([left[certain], glue_left]), np.concatenate([right[certain], glue_right])
    )
    atom, _ = pd.factorize(atom_labels)
    atom = atom.astype(np.int64)
    atoms = int(atom.max()) + 1 if records else 0
    atom_size = np.bincount(atom, minlength=atoms)
    atom_entity = np.zeros(atoms, dtype=np.int64)
    atom_entity[atom] = entity

    doubtful = atom[left] != atom[right]
    first = np.minimum(atom[left[doubtful]], atom[right[doubtful]])
    second = np.maximum(atom[left[doubtful]], atom[right[doubtful]])
    group, group_keys = pd.factorize(first * np.int64(max(atoms, 1)) + second)
    group_keys = np.asarray(group_keys, dtype=np.int64)
    candidate_first = group_keys // max(atoms, 1)
    candidate_second = group_keys % max(atoms, 1)

    blocking_missed = 0.0
    blocking_recall = linkage.blocking_recall
    if config.blocking_loss and blocking_recall and 0 < blocking_recall < 1 and probability.sum() > 0:
        expected = linkage.summary.get("estimated_quality", {}).get("expected_matching_pairs")
        expected = float(expected) if isinstance(expected, (int, float)) else float(probability.sum())
        # Only the share of matches that would join two atoms changes a count.
        joining_share = float(probability[doubtful & ~same].sum() / probability.sum())
        blocking_missed = expected * (1.0 / blocking_recall - 1.0) * joining_share
    return _LinkageStructure(
        records=records,
        entity=entity,
        atom=atom,
        atom_entity=atom_entity,
        candidate_first=candidate_first,
        candidate_second=candidate_second,
        candidate_inside=atom_entity[candidate_first] == atom_entity[candidate_second],
        candidate_pair_count=(atom_size[candidate_first] * atom_size[candidate_second]).astype(float),
        pair_group=group.astype(np.int64),
        pair_log_odds=_logit(probability[doubtful]),
        blocking_missed=blocking_missed,
    )


@dataclasses.dataclass(frozen=True)
class _Replicate:
    labels: np.ndarray  # cluster label per record
    unseen_joins: int  # true joins the replicate assumes but cannot place


def _replicate(structure: _LinkageStructure, generator: np.random.Generator, config: UncertaintyConfig) -> _Replicate:
    """One re-drawn linkage."""
    shift = generator.normal(0.0, config.shift_sd) if config.shift_sd else 0.0
    scale = float(np.exp(generator.normal(0.0, config.scale_sd))) if config.scale_sd else 1.0
    candidates = len(structure.candidate_first)
    unseen = structure.blocking_missed
    if candidates == 0:
        return _Replicate(structure.atom, int(generator.poisson(unseen)) if unseen > 0 else 0)
    probability = _sigmoid(shift + scale * structure.pair_log_odds)
    average = np.bincount(structure.pair_group, weights=probability, minlength=candidates)
    average = np.minimum(average / structure.candidate_pair_count, 1.0)
    # Near misses too weak to place one by one: their expected matches join unseen.
    weak = ~structure.candidate_inside & (average < config.join_floor)
    unseen += float(average[weak].sum())
    joined = ~weak & (generator.random(candidates) < average)
    atom_labels = connected_labels(
        len(structure.atom_entity), structure.candidate_first[joined], structure.candidate_second[joined]
    )
    return _Replicate(atom_labels[structure.atom], int(generator.poisson(unseen)) if unseen > 0 else 0)


def _join_effect(
    structure: _LinkageStructure,
    events: pd.DataFrame,
    parameters: MeasureParameters,
    observed: dict[str, int],
    generator: np.random.Generator,
    samples: int = 200,
) -> dict[str, float]:
    """Average change of each count when a missed true match is joined.

    A join that the linkage missed is, in reverse, a split of something the linker did join;
    so detach one atom from each of up to ``samples`` entities of several atoms (records from
    several entities otherwise), and average the change. The counts are sums over persons and
    every detachment is in a different entity, so the average of one batch is exact.
    """
    entity_atoms = pd.Series(structure.atom_entity).groupby(structure.atom_entity).size()
    multi_atom = entity_atoms[entity_atoms > 1].index.to_numpy()
    if len(multi_atom):
        chosen = generator.choice(multi_atom, size=min(samples, len(multi_atom)), replace=False)
        labels = structure.entity.copy()
        detach_atom = pd.Series(np.arange(len(structure.atom_entity))).groupby(structure.atom_entity).last()
        detached = np.isin(structure.atom, detach_atom.reindex(chosen).to_numpy())
    else:
        sizes = np.bincount(structure.entity)
        multi_record = np.flatnonzero(sizes > 1)
        if not len(multi_record):
            return {key: 0.0 for key in HEADLINE_KEYS}
        chosen = generator.choice(multi_record, size=min(samples, len(multi_record)), replace=False)
        labels = structure.entity.copy()
        last_record = pd.Series(np.arange(len(labels))).groupby(labels).last()
        detached = np.zeros(len(labels), dtype=bool)
        detached[last_record.reindex(chosen).to_numpy()] = True
    labels[detached] = labels.max() + 1 + np.flatnonzero(detached)
    events["entity_id"] = labels
    split = compute_measures(events, parameters).headline()
    return {key: (observed[key] - split[key]) / len(chosen) for key in HEADLINE_KEYS}


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
    structure = _structure(linkage, config)
    generator = np.random.default_rng(config.random_state)
    events = _replicate_events(linkage.entities)
    join_effect = _join_effect(structure, events, parameters, observed.headline(), generator)
    rows = []
    for replicate in range(config.replicates):
        drawn = _replicate(structure, generator, config)
        events["entity_id"] = drawn.labels
        counts = compute_measures(events, parameters).headline()
        rows.append({key: counts[key] + drawn.unseen_joins * join_effect[key] for key in HEADLINE_KEYS})
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
