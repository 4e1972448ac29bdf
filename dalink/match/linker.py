"""``dalink link``: packages in, entities out.

Stages (each logged with its timing):

1. **load** – verify and stack the packages (:mod:`dalink.match.load`);
2. **scale** – measure each field's Dice floor (random pairs) and ceiling (pairs that share
   a blocking key), which fixes the agreement levels for this data and hardening;
3. **train** – u from random pairs, m by EM sessions on each keyed blocking key's pairs;
4. **block + compare** – stream the union of the blocking passes in chunks; per pair only
   the two record indices and one integer pattern code are kept (12 bytes a pair);
5. **score** – prior and threshold from the model, a probability per pair by pattern (for
   agencies declared free of duplicates, the one-to-one posterior of :mod:`dalink.match.exclusive`);
6. **cluster** – components over links (one record per de-duplicated agency at most, never
   the victim and the perpetrator of one event: :mod:`dalink.match.constraints`), split where
   inconsistent;
7. **write** – ``entities.parquet``, ``pairs.parquet``, ``model.json``, ``summary.json``,
   atomically (a failed run leaves nothing behind).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from dalink.encode.package import EncodedPackage, atomic_directory
from dalink.errors import LinkageError, OutputExistsError
from dalink.match.blocking import Blocker, BlockingPass, keyed_passes, lsh_passes, random_pairs
from dalink.match.cluster import cluster, entity_ids
from dalink.match.constraints import role_constraints
from dalink.match.compare import NAME_FIELDS, build_comparisons, comparison_levels
from dalink.match.exclusive import (
    can_match,
    deduplicated_flags,
    exclusive_links,
    exclusive_probabilities,
    find_pairs,
    within_agency_pairs,
)
from dalink.match.frequency import top_name_agreement
from dalink.match.link_stages import (
    PROGRESS_TOTAL,
    Progress,
    _drain,
    _probability_from_weight,
    _refine_swap_u,
    _Stages,
    _StoredPairs,
    _term_frequencies,
    _threshold_from_weights,
    _training_sessions,
)
from dalink.match.load import read_packages, record_set
from dalink.match.model import (
    FellegiSunter,
    PatternCounts,
    decode_patterns,
    encode_patterns,
    merge_patterns,
)
from dalink.match.outputs import INPUTS_FILE, linkage_summary, write_inputs, write_pairs

__all__ = [
    "ENTITIES_FILE",
    "MODEL_FILE",
    "PAIRS_FILE",
    "PROGRESS_TOTAL",
    "SUMMARY_FILE",
    "LinkConfig",
    "LinkResult",
    "Progress",
    "link",
]

logger = logging.getLogger(__name__)

ENTITIES_FILE = "entities.parquet"
PAIRS_FILE = "pairs.parquet"
MODEL_FILE = "model.json"
SUMMARY_FILE = "summary.json"
# Below this many records the model, estimated from the records themselves without labels,
# has too few pairs to learn from (the random pairs that give u are the matches themselves).
FEW_RECORDS = 100


class LinkConfig(BaseModel):
    """Settings of one linkage run; the defaults suit partnership data of any size."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    random_pairs: int = Field(1_000_000, ge=1000, description="Random pairs sampled to estimate u and Dice floors.")
    session_pairs: int = Field(1_000_000, ge=1000, description="Pairs per EM training session at most.")
    chunk_pairs: int = Field(2_000_000, ge=1000, description="Candidate pairs generated and compared at a time.")
    max_block_size: int = Field(2_000, ge=2, description="Keyed blocking groups larger than this are skipped.")
    lsh: bool = Field(True, description="Add MinHash LSH passes over name and date-of-birth filters.")
    lsh_bins: int = Field(64, ge=4, le=256)
    lsh_max_bands: int = Field(16, ge=1, le=64)
    lsh_pairs_per_record: float = Field(2.0, gt=0, description="Target pairs per record per LSH band.")
    lsh_max_block_size: int = Field(100, ge=2)
    match_threshold: float | None = Field(
        None, gt=0, lt=1, description="Match probability for a link; default: the model's expected-F1 optimum."
    )
    swap_random_pairs: int = Field(
        20_000_000, ge=0, description="Random pairs screened by the names key to estimate u of swapped names."
    )
    term_frequencies: bool = Field(
        True, description="Adjust the weight of agreeing names by how common they are (from the names blocking key)."
    )
    min_pair_probability: float = Field(0.01, ge=0, le=1, description="Pairs at or above this go to pairs.parquet.")
    max_iterations: int = Field(100, ge=1)
    max_component_size: int = Field(300, ge=3)
    deduplicated_agencies: tuple[str, ...] = Field(
        (),
        description=(
            "Agencies whose records are distinct people (no internal duplicates): their records are never "
            "linked to each other and each entity holds at most one of them (one-to-one linkage)."
        ),
    )
    correlated_comparisons: bool = Field(
        False,
        description=(
            "Estimate u of family name given postcode agreement (and of sex given both) instead of assuming "
            "independence (dalink.match.correlation). Fewer household false links, slightly lower recall "
            "on synthetic data; off by default."
        ),
    )
    event_role_constraints: bool = Field(
        True,
        description=(
            "Never put the victim and the perpetrator rows of one agency's event (same event date and type) "
            "into one entity; switch off for agencies that record counter-allegations that way."
        ),
    )
    random_state: int = 0


@dataclass
class LinkResult:
    """What :func:`link` produced (the files are in ``output_dir``)."""

    output_dir: Path
    entities: pd.DataFrame
    model: FellegiSunter
    summary: dict


def link(
    packages: Sequence[str | os.PathLike[str] | EncodedPackage],
    output_dir: str | os.PathLike[str],
    *,
    config: LinkConfig | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> LinkResult:
    """Link and de-duplicate encoded packages into entities; write the linkage directory."""
    config = config or LinkConfig()
    if Path(output_dir).exists() and not overwrite:
        raise OutputExistsError(f"{output_dir}: the output exists; choose another path or remove it first")
    stages = _Stages(progress)
    generator = np.random.default_rng(config.random_state)

    if packages and all(isinstance(package, EncodedPackage) for package in packages):
        read = list(packages)  # type: ignore[arg-type]
    else:
        if not packages:
            raise LinkageError("no packages to link; give at least one package")
        read = read_packages([getattr(package, "path", package) for package in packages])  # type: ignore[misc]
    records = record_set(read)  # type: ignore[arg-type]
    deduplicated = deduplicated_flags(records.agencies, config.deduplicated_agencies)
    stages.done("load", 0.05)

    passes: list[BlockingPass] = keyed_passes(records, max_block_size=config.max_block_size)
    keyed_count = len(passes)
    if config.lsh:
        passes += lsh_passes(
            records,
            bins=config.lsh_bins,
            max_bands=config.lsh_max_bands,
            pairs_per_record=config.lsh_pairs_per_record,
            max_block_size=config.lsh_max_block_size,
            random_state=config.random_state,
        )
    blocker = Blocker(records, passes)
    stages.done("blocking index", 0.12)

    random_left, random_right = random_pairs(len(records), config.random_pairs, generator)
    per_session = max(1000, config.session_pairs)
    session_pairs = {
        index: blocker.sample_pass_pairs(index, per_session, generator) for index in range(keyed_count)
    }
    # A session on a pass that fixes no name (date of birth + postcode bands) leaves both names
    # free: the only kind of session where swapped names can show up and get their m.
    name_free = next(
        (index for index in range(keyed_count, len(passes)) if not set(NAME_FIELDS) & set(passes[index].fields)), None
    )
    if name_free is not None:
        session_pairs[name_free] = blocker.sample_pass_pairs(name_free, per_session, generator)
    if not session_pairs and len(passes):
        session_pairs = {0: blocker.sample_pass_pairs(0, per_session, generator)}
    for index, (first, second) in session_pairs.items():
        possible = can_match(first, second, records.agency_codes, deduplicated)
        session_pairs[index] = (first[possible], second[possible])
    if session_pairs:
        scale_left = np.concatenate([pair[0] for pair in session_pairs.values()])
        scale_right = np.concatenate([pair[1] for pair in session_pairs.values()])
    else:
        scale_left, scale_right = random_left, random_right
    comparisons = build_comparisons(records, random_left, random_right, scale_left, scale_right)
    stages.done("scale", 0.18)

    model = FellegiSunter(comparisons, max_iterations=config.max_iterations, random_state=config.random_state)
    random_levels = comparison_levels(records, comparisons, random_left, random_right)
    model.fit_u(random_levels)
    _refine_swap_u(model, records, comparisons, generator, config.swap_random_pairs)
    sessions = _training_sessions(records, blocker, comparisons, session_pairs)
    stages.done("u estimation", 0.22)

    stored = _StoredPairs([], [], [])
    pattern_parts: list[PatternCounts] = []
    for chunk in blocker.chunks(config.chunk_pairs):
        if deduplicated.any():  # pairs inside a de-duplicated agency cannot match: not candidates
            possible = can_match(chunk.left, chunk.right, records.agency_codes, deduplicated)
            chunk.left, chunk.right = chunk.left[possible], chunk.right[possible]
        levels = comparison_levels(records, comparisons, chunk.left, chunk.right)
        codes = encode_patterns(levels)
        unique, counts = np.unique(codes, return_counts=True)
        pattern_parts.append(PatternCounts(decode_patterns(unique, len(comparisons)), counts.astype(np.int64)))
        if len(pattern_parts) > 16:
            pattern_parts = [merge_patterns(pattern_parts, len(comparisons))]
        stored.left.append(chunk.left)
        stored.right.append(chunk.right)
        stored.codes.append(codes.astype(np.int32) if len(comparisons) <= 7 else codes)
        stages.report(0.22 + 0.45 * (chunk.pass_index + 1) / max(len(passes), 1))
    candidates = merge_patterns(pattern_parts, len(comparisons))
    stages.done("block + compare", 0.67)

    model.fit_m(sessions, fallback=candidates)
    if config.correlated_comparisons:
        model.fit_conditional_u(random_levels, sessions)
    model.fit_prior(candidates, records.total_pairs - within_agency_pairs(records.agency_codes, deduplicated))
    frequencies = _term_frequencies(records, config)
    stages.done("EM", 0.72)

    # Weights chunk by chunk (a pattern's weight, plus the names' term-frequency adjustment),
    # kept as float32 so that tens of millions of pairs stay within memory.
    candidate_codes = encode_patterns(candidates.patterns)
    pattern_weight = model.match_weight(candidates.patterns)
    pattern_names_agree = top_name_agreement(candidates.patterns, comparisons)
    weights = []
    for index, codes in enumerate(stored.codes):
        lookup = np.searchsorted(candidate_codes, codes.astype(np.int64))
        weight_chunk = pattern_weight[lookup]
        if frequencies is not None:
            weight_chunk += frequencies.adjustment_bits(
                stored.left[index], stored.right[index], pattern_names_agree[lookup]
            )
        weights.append(weight_chunk.astype(np.float32))
        stored.codes[index] = codes[:0]
    left, right = _drain(stored.left, np.int32), _drain(stored.right, np.int32)
    weight = _drain(weights, np.float32)
    del stored, weights
    if frequencies is not None:
        model.term_frequency_key_ = frequencies.key
        model.match_threshold_ = _threshold_from_weights(weight)
    probability = _probability_from_weight(weight)
    links = None
    if deduplicated.any():
        prior_bits = np.log2(model.prior_ / (1 - model.prior_))
        exclusive = exclusive_probabilities(
            left, right, probability, weight - prior_bits, model.prior_, records.agency_codes, deduplicated
        )
        weight = np.log2(np.maximum(exclusive, 1e-300) / np.maximum(1 - exclusive, 1e-300)).astype(np.float32)
        probability = exclusive.astype(np.float32)
        del exclusive
        model.match_threshold_ = _threshold_from_weights(weight)
    threshold = config.match_threshold if config.match_threshold is not None else model.match_threshold_
    if deduplicated.any():
        links = exclusive_links(left, right, probability, threshold, records.agency_codes, deduplicated)
    stages.done("score", 0.76)

    def scorer(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        levels = comparison_levels(records, comparisons, first, second)
        pair_weight = model.match_weight(levels)
        if frequencies is not None:
            pair_weight += frequencies.adjustment_bits(first, second, top_name_agreement(levels, comparisons))
        scored = _probability_from_weight(pair_weight)
        if deduplicated.any():  # the one-to-one probability where the pair was a candidate
            scored = np.where(can_match(first, second, records.agency_codes, deduplicated), scored, 0.0)
            found, position = find_pairs(left, right, first, second)
            scored[found] = probability[position[found]]
        return scored

    clusters = cluster(
        len(records),
        left,
        right,
        probability,
        threshold,
        scorer,
        max_component_size=config.max_component_size,
        links=links,
        cannot_link=role_constraints(records.events).conflicts if config.event_role_constraints else None,
    )
    entity = entity_ids(clusters.labels, records.events["agency"].to_numpy(dtype=object), records.record_ids)
    stages.done("cluster", 0.85)

    summary = linkage_summary(
        records, blocker, model, config.model_dump(mode="json"), threshold, left, right, probability, clusters
    )
    entities = records.events.copy()
    entities.insert(2, "entity_id", entity)

    with atomic_directory(output_dir, overwrite=overwrite) as directory:
        pq.write_table(pa.Table.from_pandas(entities, preserve_index=False), directory / ENTITIES_FILE, compression="zstd")
        write_pairs(
            directory / PAIRS_FILE, records, left, right, weight, probability, clusters.labels, config.min_pair_probability
        )
        model.save(directory / MODEL_FILE, schema_hash=records.schema_hash)
        write_inputs(directory / INPUTS_FILE, read)  # type: ignore[arg-type]
        stages.done("write", 1.0)
        summary["timings_seconds"] = stages.timings
        (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if len(records) < FEW_RECORDS:
        logger.warning(
            "only %d records: the model is estimated from the records themselves, without labels, and needs a few "
            "hundred to be reliable; check the links by hand (pairs.parquet) before using them",
            len(records),
        )
    logger.info(
        "linked %d records into %d entities (%d candidate pairs, %d links)",
        len(records),
        clusters.components,
        len(left),
        summary["links"],
    )
    return LinkResult(output_dir=Path(output_dir), entities=entities, model=model, summary=summary)
