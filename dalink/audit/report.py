"""The audit report: counts and shares only — never a claimed or a true value.

A report goes to a data protection officer and may be attached to a DPIA, so it must not
itself disclose anything: it says how many records and distinct values an attack claims and
(when scored against truth) how many it gets right, never which.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from dalink._version import __version__

REPORT_FORMAT = "dalink-audit-report"
IDENTIFYING_FIELDS = ("given_name", "middle_name", "family_name", "date_of_birth", "postcode")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AttackResult(_Frozen):
    """One attack against one column (a Bloom-filter field or a blocking key), about one field."""

    attack: str = Field(description="frequency_alignment, pattern_mining or blocking_key_frequency.")
    column: str = Field(description="The package column attacked, e.g. bf_family_name or bk_names.")
    field: str = Field(description="What the claims are about: an identifier field, or the key's plaintext (bk_*).")
    records: int = Field(description="Records with a value in the column.")
    distinct_encodings: int | None = None
    clusters: int | None = Field(None, description="Groups of encodings the attacker believes hold one value each.")
    claimed_records: int = Field(description="Records with a claim at or above the confidence threshold.")
    claimed_share: float
    expected_reidentified_share: float = Field(
        description="The attacker's own expectation: mean confidence over confident claims × their share."
    )
    reidentified_records: int | None = Field(None, description="Confident claims that are right (needs truth).")
    reidentified_share: float | None = None
    correct_guess_share: float | None = Field(
        None, description="Share of records whose guess is right whatever its confidence (needs truth)."
    )
    claim_precision: float | None = Field(None, description="Share of confident claims that are right (needs truth).")
    distinct_values: int | None = Field(None, description="Distinct true values among the records (needs truth).")
    reidentified_distinct_values: int | None = None
    reidentified_distinct_share: float | None = None
    baseline_share: float | None = Field(
        None, description="Records right by guessing the single commonest public value, without the encodings."
    )
    notes: list[str] = []


class ColumnProfile(_Frozen):
    """Frequency profile of one deterministic column: how skewed its values are."""

    column: str
    records: int
    distinct_values: int
    largest_value_share: float = Field(description="Share of records holding the commonest value.")
    share_in_values_with_10_or_more: float = Field(description="Share of records whose value occurs at least 10 times.")
    entropy_bits: float


class FieldSummary(_Frozen):
    """All attacks on one field together (needs truth for the re-identified shares)."""

    field: str
    identifying: bool
    records: int
    worst_attack: str | None
    worst_claimed_share: float
    worst_reidentified_share: float | None
    any_attack_reidentified_share: float | None = Field(None, description="Records re-identified by at least one attack.")


class PackageSummary(_Frozen):
    agency: str
    records: int
    schema_hash: str
    key_fingerprint: str


class AuditReport(_Frozen):
    """Result of :func:`dalink.audit.audit_package`; JSON-serialisable, no identifier values."""

    format: str = REPORT_FORMAT
    format_version: int = 1
    dalink_version: str = __version__
    packages: list[PackageSummary]
    schema_name: str
    schema_hash: str
    reference: str = Field(description="The attacker's public frequency tables.")
    confidence_threshold: float
    target_share: float = Field(description="Re-identification share the encodings should stay at or below.")
    evaluated: bool = Field(description="Whether truth was supplied, so re-identification could be scored.")
    attacks: list[AttackResult]
    fields: list[FieldSummary]
    deterministic_columns: list[ColumnProfile]
    not_attacked: list[str] = Field([], description="Columns no implemented attack could target, and why.")
    worst_identifying_claimed_share: float
    worst_identifying_reidentified_share: float | None
    meets_target: bool | None = Field(
        None, description="Every attack re-identifies at most target_share of records on identifying fields."
    )

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"

    def render_text(self) -> str:
        """A plain-text table for the terminal."""
        lines = [
            f"dalink audit: {sum(package.records for package in self.packages)} records from "
            f"{len(self.packages)} package(s), schema {self.schema_name!r} ({self.schema_hash[:12]}…)",
            f"attacker's public tables: {self.reference}",
            f"a claim is a guess with the attacker's confidence ≥ {self.confidence_threshold:.2f}",
            "",
        ]
        header = f"{'attack':<24} {'column':<28} {'about':<16} {'records':>8} {'claimed':>8}"
        if self.evaluated:
            header += f" {'re-identified':>13} {'precision':>9} {'distinct':>9}"
        lines.append(header)
        for result in self.attacks:
            line = (
                f"{result.attack:<24} {result.column:<28} {result.field:<16} {result.records:>8} "
                f"{result.claimed_share:>8.2%}"
            )
            if self.evaluated and result.reidentified_share is not None:
                precision = f"{result.claim_precision:.2f}" if result.claim_precision is not None else "-"
                distinct = (
                    f"{result.reidentified_distinct_share:.2%}" if result.reidentified_distinct_share is not None else "-"
                )
                line += f" {result.reidentified_share:>13.2%} {precision:>9} {distinct:>9}"
            lines.append(line)
        lines.append("")
        for column in self.not_attacked:
            lines.append(f"not attacked: {column}")
        if self.evaluated and self.worst_identifying_reidentified_share is not None:
            verdict = "meets" if self.meets_target else "FAILS"
            lines.append(
                f"worst re-identification on identifying fields: {self.worst_identifying_reidentified_share:.2%} "
                f"({verdict} the target of ≤ {self.target_share:.0%})"
            )
        else:
            lines.append(
                f"worst share of records claimed on identifying fields: {self.worst_identifying_claimed_share:.2%} "
                f"(target ≤ {self.target_share:.0%}; supply --truth on synthetic data to score the claims)"
            )
        return "\n".join(lines) + "\n"
