"""Privacy audit of encoded packages: published attacks, measured (``dalink audit``).

See ``docs/privacy.md`` for the threat model and what the figures mean.
"""

from dalink.audit.audit import ATTACKS, AuditError, audit_package, normalised_truth
from dalink.audit.frequencies import (
    ReferenceFrequencies,
    default_reference_frequencies,
    load_reference_frequencies,
)
from dalink.audit.report import AttackResult, AuditReport, ColumnProfile, FieldSummary

__all__ = [
    "ATTACKS",
    "AttackResult",
    "AuditError",
    "AuditReport",
    "ColumnProfile",
    "FieldSummary",
    "ReferenceFrequencies",
    "audit_package",
    "default_reference_frequencies",
    "load_reference_frequencies",
    "normalised_truth",
]
