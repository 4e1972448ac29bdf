"""Re-drawing a linkage: the machinery behind :mod:`dalink.report.uncertainty`.

The linkage is prepared once as integer arrays (:func:`prepare`): atoms of near-certain links,
the doubtful pairs between atoms with their log-odds and event-field evidence, and the
expected number of matches blocking never scored. :func:`draw` then re-draws it as often as
asked, and :func:`join_effect` measures what one missed true join does to each count. See
the docstring of :mod:`dalink.report.uncertainty` for why it is done this way.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dalink.match.cluster import connected_components
from dalink.report.evidence import (
    Calibration,
    Likelihoods,
    event_likelihoods,
    event_type_indicators,
    fit_calibration,
)
from dalink.report.linkage import Linkage
from dalink.report.measures import HEADLINE_KEYS, MeasureParameters, compute_measures

if TYPE_CHECKING:
    from dalink.report.uncertainty import UncertaintyConfig

logger = logging.getLogger(__name__)

_CLIP = 1e-9
STRONG_JOIN = 0.9


def _logit(probability: np.ndarray) -> np.ndarray:
    clipped = np.clip(probability, _CLIP, 1.0 - _CLIP)
    return np.log(clipped) - np.log1p(-clipped)


def _sigmoid(log_odds: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * log_odds))


@dataclasses.dataclass(frozen=True)
class LinkageStructure:
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
    candidate_pair_count: np.ndarray  # the pairs an average is taken over, per atom pair
    pair_group: np.ndarray  # per doubtful record pair: index of its atom pair
    pair_log_odds: np.ndarray  # the linker's log-odds
    pair_evidence: np.ndarray  # log likelihood ratio of the event fields' agreement
    pair_inside: np.ndarray  # True where the linker joined the pair's atoms
    pair_involves: np.ndarray  # (pairs, event types): 1 where the pair involves that type
    calibration_inside: Calibration
    calibration_apart: Calibration
    blocking_missed: float  # expected matches between atoms that blocking never scored


def _glue_edges(entity: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges tying together members of an entity that no scored pair inside it connects.

    The linker's clustering can join records through pairs it scored but did not write; the
    report cannot judge such a join, so it keeps it.
    """
    full = connected_components(len(entity), left, right)
    component_of_entity = pd.DataFrame({"entity": entity, "component": full}).drop_duplicates()
    first_component = component_of_entity.groupby("entity")["component"].transform("first").to_numpy()
    components = component_of_entity["component"].to_numpy()
    extra = components != first_component
    return components[extra].astype(np.int64), first_component[extra].astype(np.int64)


def _subset(likelihoods: Likelihoods, mask: np.ndarray) -> Likelihoods:
    return Likelihoods(likelihoods.match[mask], likelihoods.non_match[mask])


def prepare(linkage: Linkage, config: UncertaintyConfig) -> LinkageStructure:
    entity, _ = pd.factorize(linkage.entities["entity_id"])
    entity = entity.astype(np.int64)
    records = len(entity)
    probability = linkage.pairs["match_probability"].to_numpy(dtype=float)
    left, right = linkage.left, linkage.right
    same = entity[left] == entity[right]

    glue_left, glue_right = _glue_edges(entity, left[same], right[same])
    certain = same & (probability >= config.certain_probability)
    atom_labels = connected_components(
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

    log_odds = _logit(probability[doubtful])
    pair_inside = same[doubtful]
    likelihoods = event_likelihoods(linkage.entities, left, right, certain, doubtful)
    involves = event_type_indicators(linkage.entities["event_type"], left, right, doubtful)
    calibrations = {
        inside: (
            fit_calibration(
                log_odds[pair_inside == inside],
                _subset(likelihoods, pair_inside == inside),
                involves[pair_inside == inside],
            )
            if config.calibrated_share > 0
            else Calibration()
        )
        for inside in (True, False)
    }
    for inside, calibration in calibrations.items():
        logger.info(
            "calibration of %s pairs: shift %.2f, scale %.2f (%s, %d informative pairs)",
            "joined" if inside else "apart",
            calibration.shift,
            calibration.scale,
            "fitted" if calibration.fitted else "not fitted",
            calibration.pairs,
        )

    blocking_missed = 0.0
    blocking_recall = linkage.blocking_recall
    if config.blocking_loss and blocking_recall and 0 < blocking_recall < 1 and probability.sum() > 0:
        expected = linkage.summary.get("estimated_quality", {}).get("expected_matching_pairs")
        expected = float(expected) if isinstance(expected, (int, float)) else float(probability.sum())
        # Only the share of matches that would join two atoms changes a count.
        joining_share = float(probability[doubtful & ~same].sum() / probability.sum())
        blocking_missed = expected * (1.0 / blocking_recall - 1.0) * joining_share
    return LinkageStructure(
        records=records,
        entity=entity,
        atom=atom,
        atom_entity=atom_entity,
        candidate_first=candidate_first,
        candidate_second=candidate_second,
        candidate_inside=atom_entity[candidate_first] == atom_entity[candidate_second],
        candidate_pair_count=np.where(
            atom_entity[candidate_first] == atom_entity[candidate_second],
            np.bincount(group, minlength=len(group_keys)),  # joined: the scored pairs
            atom_size[candidate_first] * atom_size[candidate_second],  # apart: every pair
        ).astype(float),
        pair_group=group.astype(np.int64),
        pair_log_odds=log_odds,
        pair_evidence=likelihoods.log_ratio if config.event_evidence else np.zeros(len(log_odds)),
        pair_inside=pair_inside,
        pair_involves=involves,
        calibration_inside=calibrations[True],
        calibration_apart=calibrations[False],
        blocking_missed=blocking_missed,
    )


@dataclasses.dataclass(frozen=True)
class Replicate:
    labels: np.ndarray  # cluster label per record
    unseen_joins: int  # true joins the replicate assumes but cannot place


def draw(structure: LinkageStructure, generator: np.random.Generator, config: UncertaintyConfig) -> Replicate:
    """One re-drawn linkage."""
    shift = generator.normal(0.0, config.shift_sd) if config.shift_sd else 0.0
    scale = float(np.exp(generator.normal(0.0, config.scale_sd))) if config.scale_sd else 1.0
    candidates = len(structure.candidate_first)
    unseen = structure.blocking_missed
    if candidates == 0:
        return Replicate(structure.atom, int(generator.poisson(unseen)) if unseen > 0 else 0)
    if generator.random() >= config.calibrated_share:
        calibrated = structure.pair_log_odds
    else:
        calibrated = np.where(
        structure.pair_inside,
        structure.calibration_inside.log_odds(
            structure.calibration_inside.draw(generator), structure.pair_log_odds, structure.pair_involves
        ),
        structure.calibration_apart.log_odds(
            structure.calibration_apart.draw(generator), structure.pair_log_odds, structure.pair_involves
        ),
        )
    probability = _sigmoid(shift + scale * calibrated + structure.pair_evidence)
    average = np.bincount(structure.pair_group, weights=probability, minlength=candidates)
    average = np.minimum(average / structure.candidate_pair_count, 1.0)
    # Between entities the linker left apart, the model's probabilities say how many matches
    # there are better than which pairs they are: only a share is placed on the pairs, weak
    # pairs not at all; the rest join unseen, with the effect of a typical missed match.
    apart = ~structure.candidate_inside
    weak = apart & (average < config.join_floor)
    placed = np.where(apart, average * config.placed_share, average)
    unseen += float(average[weak].sum() + (average[apart & ~weak] - placed[apart & ~weak]).sum())
    joined = ~weak & (generator.random(candidates) < placed)
    atom_labels = connected_components(
        len(structure.atom_entity), structure.candidate_first[joined], structure.candidate_second[joined]
    )
    return Replicate(atom_labels[structure.atom], int(generator.poisson(unseen)) if unseen > 0 else 0)


def join_effect(
    structure: LinkageStructure,
    events: pd.DataFrame,
    parameters: MeasureParameters,
    observed: dict[str, int],
    generator: np.random.Generator,
    samples: int = 200,
) -> dict[str, float]:
    """Average change of each count when one missed true match is joined.

    A join the linkage missed is, in reverse, a split of a join the linker made: so detach
    one atom from each of up to ``samples`` entities and average the change. Only atoms tied
    to their entity by a strong link (average probability at least ``STRONG_JOIN``) are
    detached, since a doubtful tie may be a false link, whose effect on the counts is quite
    different (a false link between two people in two areas creates moves; a true one rarely
    does). Without such atoms, single records are detached. The counts are sums over persons
    and each detachment is in its own entity, so the average of one batch is exact.
    """
    candidates = len(structure.candidate_first)
    labels = structure.entity.copy()
    detached = np.zeros(len(labels), dtype=bool)
    if candidates:
        calibration = structure.calibration_inside
        probability = _sigmoid(
            calibration.log_odds(calibration.coefficients, structure.pair_log_odds, structure.pair_involves)
            + structure.pair_evidence
        )
        average = np.bincount(structure.pair_group, weights=probability, minlength=candidates) / (
            structure.candidate_pair_count
        )
        strong = np.flatnonzero(structure.candidate_inside & (average >= STRONG_JOIN))
        second_atom = structure.candidate_second[strong]
        entity_of = structure.atom_entity[second_atom]
        _, first_per_entity = np.unique(entity_of, return_index=True)
        atoms = second_atom[first_per_entity]
    else:
        atoms = np.zeros(0, dtype=np.int64)
    if len(atoms):
        atoms = generator.choice(atoms, size=min(samples, len(atoms)), replace=False)
        detached = np.isin(structure.atom, atoms)
        count = len(atoms)
    else:
        sizes = np.bincount(labels)
        multi_record = np.flatnonzero(sizes > 1)
        if not len(multi_record):
            return {key: 0.0 for key in HEADLINE_KEYS}
        chosen = generator.choice(multi_record, size=min(samples, len(multi_record)), replace=False)
        last_record = pd.Series(np.arange(len(labels))).groupby(labels).last()
        detached[last_record.reindex(chosen).to_numpy()] = True
        count = len(chosen)
    labels[detached] = labels.max() + 1 + structure.atom[detached]
    events["entity_id"] = labels
    split = compute_measures(events, parameters).headline()
    return {key: (observed[key] - split[key]) / count for key in HEADLINE_KEYS}


def replicate_events(entities: pd.DataFrame) -> pd.DataFrame:
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
