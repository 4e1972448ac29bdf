"""A chronology request: who asks, why, and for which subjects.

A combined chronology shows one person's contacts with every agency of the partnership. That
is the purpose of a Domestic Abuse Related Death Review and nothing else, so dalink refuses
to produce one unless the request names the person who asked for it (the review chair or
their office) and the reason (the review it is for). Both go to the audit log before any
result is returned; a request without them is refused before anything is read.

The subjects are named by their ``record_id`` in the subject package (for example ``V1``,
``P1``): record ids chosen by the chair's office, never a name, so the request and the audit
log can be read without learning who the subjects are.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from dalink.errors import RequestRefused

MAX_TEXT_LENGTH = 1000
MAX_SUBJECT_ID_LENGTH = 100


def _required_text(value: Any, what: str, option: str) -> str:
    """Stripped text, or a refusal that says which part of the request is missing."""
    if value is None or not isinstance(value, str) or not value.strip():
        raise RequestRefused(
            f"a chronology request needs {what} ({option}); nothing was read and nothing was returned"
        )
    text = " ".join(value.split())
    if len(text) > MAX_TEXT_LENGTH:
        raise RequestRefused(f"{option} is longer than {MAX_TEXT_LENGTH} characters; keep it to a short reference")
    return text


class ChronologyRequest(BaseModel):
    """Who asked for a combined chronology, why, and for which subject records.

    ``subjects`` lists subject record ids from the subject package; empty means every record
    of the subject package. Missing or blank ``requested_by`` or ``reason`` raise
    :class:`RequestRefused` (not a validation error), so callers see one refusal type.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    requested_by: str
    reason: str
    subjects: tuple[str, ...] = ()

    @field_validator("requested_by", mode="before")
    @classmethod
    def _has_requester(cls, value: Any) -> str:
        return _required_text(value, "the person who requested it", "--requested-by")

    @field_validator("reason", mode="before")
    @classmethod
    def _has_reason(cls, value: Any) -> str:
        return _required_text(value, "a reason, such as the review it is for", "--reason")

    @field_validator("subjects", mode="before")
    @classmethod
    def _subject_ids(cls, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        subjects = []
        for item in value:
            text = str(item).strip()
            if not text:
                raise RequestRefused("a subject record id is blank")
            if len(text) > MAX_SUBJECT_ID_LENGTH:
                raise RequestRefused(f"a subject record id is longer than {MAX_SUBJECT_ID_LENGTH} characters")
            if text not in subjects:
                subjects.append(text)
        return tuple(subjects)
