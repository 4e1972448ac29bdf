"""``dalink audit``: how many records could an attacker re-identify from encoded packages?

The attacker modelled is whoever holds the packages but not the key — the trusted linker,
or anyone the packages leak to. It knows the linkage schema (every manifest carries it) and
public frequency tables of names and birth years, and runs three published attacks:

* **frequency alignment** (Kuzu et al.; Kroll & Steinmetzer) on each Bloom-filter field,
  after clustering near-identical encodings so record-level noise is averaged out;
* **pattern mining** (Christen et al.): bit positions of frequent q-grams, then decoding
  of every filter, seeded also by the alignment's confident claims;
* **frequency analysis of the blocking keys**, the package's deterministic values.

Each attack claims values with a confidence it computes itself; the report counts the
records and distinct values claimed. With ``truth`` (the extract behind the package —
synthetic data only) the claims are scored: the share of records whose value an attack names
correctly with confidence at or above the threshold is the *re-identification rate*.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from dalink.audit.blocking_attack import blocking_key_attack, true_plaintexts
from dalink.audit.claims import Claims
from dalink.audit.frequencies import ReferenceFrequencies, load_reference_frequencies
from dalink.audit.frequency_attack import frequency_alignment_attack
from dalink.audit.pattern_attack import pattern_mining_attack
from dalink.audit.report import (
    IDENTIFYING_FIELDS,
    AttackResult,
    AuditReport,
    ColumnProfile,
    FieldSummary,
    PackageSummary,
)
from dalink.audit.shadow import flip_probability
from dalink.encode.normalise import IDENTIFIER_KINDS, normalise_series
from dalink.encode.package import EncodedPackage, read_package
from dalink.encode.schema import IDENTIFIER_COLUMNS
from dalink.errors import DalinkError
from dalink.match.load import RecordSet, record_set

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
ATTACKS = ("frequency_alignment", "pattern_mining", "blocking_key_frequency")


class AuditError(DalinkError):
    """The audit cannot run (no packages, truth that does not match the records, ...)."""


def normalised_truth(frame: pd.DataFrame) -> pd.DataFrame:
    """Identifier columns normalised exactly as the encoder does (unusable values become missing)."""
    result = pd.DataFrame(index=frame.index)
    for column in ("agency", "record_id"):
        if column in frame.columns:
            result[column] = frame[column].astype(str).to_numpy()
    for column in IDENTIFIER_COLUMNS:
        if column in frame.columns:
            normalised = normalise_series(frame[column], IDENTIFIER_KINDS[column])
            result[column] = normalised.values.where(normalised.problems.isna(), None)
        else:
            result[column] = None
    return result


def _aligned_truth(records: RecordSet, truth: pd.DataFrame) -> pd.DataFrame:
    """Truth rows in record order; raises if records cannot all be found."""
    if "record_id" not in truth.columns:
        raise AuditError("truth needs a record_id column")
    clean = normalised_truth(truth)
    events = records.events
    if "agency" in clean.columns and len(records.agencies) > 1:
        keys = pd.MultiIndex.from_arrays([events["agency"].astype(str), events["record_id"].astype(str)])
        index = pd.MultiIndex.from_arrays([clean["agency"], clean["record_id"]])
    else:
        if len(records.agencies) > 1:
            raise AuditError("truth for several packages needs an agency column")
        keys = pd.Index(events["record_id"].astype(str))
        index = pd.Index(clean["record_id"])
    if index.has_duplicates:
        raise AuditError("truth holds a record more than once")
    positions = index.get_indexer(keys)
    missing = int((positions < 0).sum())
    if missing:
        raise AuditError(f"{missing} of {len(keys)} records have no row in the truth")
    return clean.iloc[positions].reset_index(drop=True)


def _entropy_bits(counts: np.ndarray) -> float:
    shares = counts / counts.sum()
    return float(-(shares * np.log2(shares)).sum())


def _profile(column: str, values: np.ndarray) -> ColumnProfile | None:
    if len(values) == 0:
        return None
    _, counts = np.unique(values, return_counts=True, axis=0)
    return ColumnProfile(
        column=column,
        records=int(len(values)),
        distinct_values=int(len(counts)),
        largest_value_share=float(counts.max() / len(values)),
        share_in_values_with_10_or_more=float(counts[counts >= 10].sum() / len(values)),
        entropy_bits=round(_entropy_bits(counts.astype(np.float64)), 3),
    )


def _baseline(truth_values: np.ndarray, reference: ReferenceFrequencies, field: str) -> float | None:
    distribution = reference.field_distribution(field)
    if distribution is None or len(truth_values) == 0:
        return None
    return float(np.mean(truth_values == distribution.values[0]))


def score_claims(
    claims: Claims,
    truth_values: np.ndarray | None,
    *,
    threshold: float,
    baseline: float | None = None,
) -> AttackResult:
    """Counts for one set of claims, scored against ``truth_values`` (one per claim row) if given."""
    records = len(claims.rows)
    confident = (claims.confidence >= threshold) & pd.notna(claims.guesses)
    claimed = int(confident.sum())
    expected = float(claims.confidence[confident].sum() / records) if records else 0.0
    fields: dict[str, object] = {}
    if truth_values is not None:
        known = pd.notna(truth_values)
        correct = known & (claims.guesses == truth_values)
        reidentified = correct & confident
        true_distinct = pd.unique(truth_values[known])
        reidentified_distinct = pd.unique(truth_values[reidentified])
        fields = {
            "reidentified_records": int(reidentified.sum()),
            "reidentified_share": float(reidentified.sum() / records) if records else 0.0,
            "correct_guess_share": float(correct.sum() / records) if records else 0.0,
            "claim_precision": float(reidentified.sum() / claimed) if claimed else None,
            "distinct_values": int(len(true_distinct)),
            "reidentified_distinct_values": int(len(reidentified_distinct)),
            "reidentified_distinct_share": float(len(reidentified_distinct) / len(true_distinct)) if len(true_distinct) else 0.0,
            "baseline_share": baseline,
        }
    return AttackResult(
        attack=claims.attack,
        column=claims.column,
        field=claims.field,
        records=records,
        distinct_encodings=claims.distinct_encodings,
        clusters=claims.clusters,
        claimed_records=claimed,
        claimed_share=float(claimed / records) if records else 0.0,
        expected_reidentified_share=expected,
        notes=list(claims.notes),
        **fields,  # type: ignore[arg-type]
    )


def _load(packages: str | os.PathLike[str] | EncodedPackage | Sequence[str | os.PathLike[str] | EncodedPackage]) -> RecordSet:
    if isinstance(packages, (str, os.PathLike, EncodedPackage)):
        packages = [packages]
    loaded = [package if isinstance(package, EncodedPackage) else read_package(package) for package in packages]
    if not loaded:
        raise AuditError("no packages to audit")
    return record_set(loaded)


def audit_package(
    package_path: str | os.PathLike[str] | EncodedPackage | Sequence[str | os.PathLike[str] | EncodedPackage],
    reference_frequencies: ReferenceFrequencies | str | os.PathLike[str] | None = None,
    truth: pd.DataFrame | None = None,
    *,
    confidence_threshold: float = 0.5,
    target_share: float = 0.01,
    attacks: Sequence[str] = ATTACKS,
    dispersion: float = 0.3,
    random_state: int = 0,
    progress: Progress | None = None,
) -> AuditReport:
    """Attack one package (or several encoded under one key, pooled as the linker holds them).

    ``reference_frequencies``: the attacker's public tables (a :class:`ReferenceFrequencies`,
    a directory of CSV tables, or None for the tables shipped with dalink). ``truth``: the
    identifiers behind the records (``record_id``, plus ``agency`` for several packages, and
    the identifier columns, raw or normalised) — synthetic data only — to score the claims.
    """
    unknown = [name for name in attacks if name not in ATTACKS]
    if unknown:
        raise AuditError(f"unknown attack(s): {', '.join(unknown)}; choose from {', '.join(ATTACKS)}")
    records = _load(package_path)
    if isinstance(reference_frequencies, ReferenceFrequencies):
        reference = reference_frequencies
    else:
        reference = load_reference_frequencies(reference_frequencies)
    truth_frame = _aligned_truth(records, truth) if truth is not None else None
    schema = records.schema
    steps = [field.name for field in schema.fields] + [key.name for key in schema.blocking_keys]
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(steps))

    all_claims: list[Claims] = []
    not_attacked: list[str] = []
    profiles: list[ColumnProfile] = []
    for spec in schema.fields:
        filters = records.filters.get(spec.name)
        if filters is None:
            advance()
            continue
        rows = np.flatnonzero(filters.present)
        words = filters.words[rows]
        if flip_probability(spec) == 0:
            profile = _profile(f"bf_{spec.name}", words)
            if profile is not None:
                profiles.append(profile)
        if reference.field_distribution(spec.name) is None:
            not_attacked.append(f"bf_{spec.name}: no public frequency table for {spec.name}")
            advance()
            continue
        result = frequency_alignment_attack(spec, words, rows, reference, random_state=random_state, claim_threshold=confidence_threshold)
        if result is None:
            advance()
            continue
        claims, clusters, alignment, candidates = result
        if "frequency_alignment" in attacks:
            all_claims.append(claims)
        if "pattern_mining" in attacks and spec.name != "sex":
            all_claims.append(
                pattern_mining_attack(
                    spec, clusters, candidates, reference, rows, seed_alignment=alignment, total=len(rows),
                    claim_threshold=confidence_threshold, dispersion=dispersion,
                )
            )
        advance()
    for key in schema.blocking_keys:
        column = records.blocking_keys.get(key.name)
        if column is None:
            advance()
            continue
        rows = np.flatnonzero(column.present)
        values = column.values[rows]
        profile = _profile(f"bk_{key.name}", values)
        if profile is not None:
            profiles.append(profile)
        if "blocking_key_frequency" in attacks:
            key_claims = blocking_key_attack(key, values, rows, reference, claim_threshold=confidence_threshold, dispersion=dispersion)
            if key_claims is None:
                fields_without = sorted({part.field for part in key.parts if reference.field_distribution(part.field) is None})
                not_attacked.append(f"bk_{key.name}: no public frequency table for {', '.join(fields_without)}")
            else:
                all_claims.extend(key_claims)
        advance()

    results: list[AttackResult] = []
    correct_by_field: dict[str, np.ndarray] = {}
    for claims in all_claims:
        truth_values = None
        baseline = None
        if truth_frame is not None:
            if claims.field.startswith("bk_"):
                spec = next(key for key in schema.blocking_keys if f"bk_{key.name}" == claims.field)
                truth_values = true_plaintexts(spec, truth_frame.iloc[claims.rows].reset_index(drop=True))
            else:
                truth_values = truth_frame[claims.field].to_numpy(dtype=object)[claims.rows]
                baseline = _baseline(truth_values, reference, claims.field)
            hit = (claims.confidence >= confidence_threshold) & pd.notna(truth_values) & (claims.guesses == truth_values)
            marks = correct_by_field.setdefault(claims.field, np.zeros(len(records), dtype=bool))
            marks[claims.rows[hit]] = True
        results.append(score_claims(claims, truth_values, threshold=confidence_threshold, baseline=baseline))

    summaries: list[FieldSummary] = []
    for field_name in dict.fromkeys(result.field for result in results):
        field_results = [result for result in results if result.field == field_name]
        worst_claim = max(field_results, key=lambda result: result.claimed_share)
        scored = [result for result in field_results if result.reidentified_share is not None]
        worst_scored = max(scored, key=lambda result: result.reidentified_share or 0.0) if scored else None
        present = records.filters[field_name].present.sum() if field_name in records.filters else worst_claim.records
        summaries.append(
            FieldSummary(
                field=field_name,
                identifying=field_name in IDENTIFYING_FIELDS,
                records=int(present),
                worst_attack=(worst_scored or worst_claim).attack,
                worst_claimed_share=worst_claim.claimed_share,
                worst_reidentified_share=worst_scored.reidentified_share if worst_scored else None,
                any_attack_reidentified_share=(
                    float(correct_by_field[field_name].sum() / max(int(present), 1)) if field_name in correct_by_field else None
                ),
            )
        )
    identifying = [result for result in results if result.field in IDENTIFYING_FIELDS]
    worst_claimed = max((result.claimed_share for result in identifying), default=0.0)
    scored_identifying = [result.reidentified_share for result in identifying if result.reidentified_share is not None]
    worst_reidentified = max(scored_identifying) if scored_identifying else None
    package_summaries = [
        PackageSummary(
            agency=agency,
            records=int((records.agency_codes == code).sum()),
            schema_hash=records.schema_hash,
            key_fingerprint=records.key_fingerprint,
        )
        for code, agency in enumerate(records.agencies)
    ]
    return AuditReport(
        packages=package_summaries,
        schema_name=schema.name,
        schema_hash=records.schema_hash,
        reference=reference.source,
        confidence_threshold=confidence_threshold,
        target_share=target_share,
        evaluated=truth_frame is not None,
        attacks=results,
        fields=summaries,
        deterministic_columns=profiles,
        not_attacked=not_attacked,
        worst_identifying_claimed_share=worst_claimed,
        worst_identifying_reidentified_share=worst_reidentified,
        meets_target=(worst_reidentified <= target_share) if worst_reidentified is not None else None,
    )


