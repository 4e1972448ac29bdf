"""Restricted combined chronologies for Domestic Abuse Related Death Reviews (``dalink chronology``).

A review chair's office encodes the review's subjects with the partnership key; the linker
finds them in the linkage with the linkage's own model and returns every linked agency
contact, by date. Each request names who asked and why and is appended to an audit log in
the linkage directory before anything is returned. Panel summaries and learning across
reviews reuse the partnership measures; learning leaves only as disclosure-controlled counts.
See ``docs/dardr.md``.
"""

from dalink.chronology.audit_log import (
    AUDIT_FILE,
    AuditEntry,
    AuditLogError,
    read_audit_log,
    verify_audit_log,
)
from dalink.chronology.chronology import CHRONOLOGY_COLUMNS, Chronology, combined_chronology
from dalink.chronology.learning import LearningSummary, aggregate_learning
from dalink.chronology.request import ChronologyRequest, RequestRefused
from dalink.chronology.summary import PanelSummary, SubjectPanelSummary, panel_summary

__all__ = [
    "AUDIT_FILE",
    "CHRONOLOGY_COLUMNS",
    "AuditEntry",
    "AuditLogError",
    "Chronology",
    "ChronologyRequest",
    "LearningSummary",
    "PanelSummary",
    "RequestRefused",
    "SubjectPanelSummary",
    "aggregate_learning",
    "combined_chronology",
    "panel_summary",
    "read_audit_log",
    "verify_audit_log",
]
