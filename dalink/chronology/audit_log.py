"""The chronology audit log: ``chronology_audit.jsonl`` in the linkage directory.

Every chronology request is appended here *before* its result is returned: who asked, why,
when, which subject records (their record ids in the subject package, never a name or date
of birth), how many events were returned and from which packages. A request whose entry
cannot be written returns nothing. Requests that fail after they were accepted (a package
that does not belong to the linkage, say) are logged too, with the type of the failure.

The file is append-only JSON lines with mode 0600 (the linker's account only). Each entry
holds the SHA-256 of the line before it, so deleting or editing an entry breaks the chain
and :func:`verify_audit_log` says where. That does not stop someone with write access from
rewriting the whole file, but it turns a quiet edit into a visible one, which is what an
information-governance review of the log needs. Appends take an exclusive lock, so two
requests at once cannot interleave their lines.
"""

from __future__ import annotations

import datetime
import getpass
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dalink._version import __version__
from dalink.errors import AuditLogError

try:  # pragma: no cover - which branch runs depends on the platform
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl; appends are then unlocked
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

AUDIT_FILE = "chronology_audit.jsonl"
AUDIT_FORMAT = "dalink-chronology-audit"
AUDIT_FORMAT_VERSION = 1
FILE_MODE = 0o600


class AuditedPackage(BaseModel):
    """A package a request read: which agency, under which key, and which exact records."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agency: str
    key_fingerprint: str
    records_sha256: str


class AuditEntry(BaseModel):
    """One line of ``chronology_audit.jsonl``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["dalink-chronology-audit"] = AUDIT_FORMAT
    format_version: int = AUDIT_FORMAT_VERSION
    dalink_version: str = __version__
    request_id: str
    requested_at: datetime.datetime = Field(description="When the request was made (UTC).")
    requested_by: str = Field(description="Who asked for the chronology (the review chair or their office).")
    reason: str = Field(description="Why: the review the chronology is for.")
    operator: str | None = Field(None, description="The account that ran dalink.")
    outcome: Literal["returned", "failed"]
    failure: str | None = Field(None, description="The type of error, when the request failed.")
    subjects: tuple[str, ...] = Field(description="Subject record ids in the subject package (never identifiers).")
    subject_package: AuditedPackage | None = None
    linkage_packages: tuple[AuditedPackage, ...] = ()
    match_threshold: float | None = None
    expand_entities: bool | None = Field(None, description="Whether matches were widened to their linked entities.")
    events_returned: int = Field(0, ge=0)
    events_by_subject: dict[str, int] = {}
    previous_entry_sha256: str | None = Field(
        None, description="SHA-256 of the previous line of the log (null for the first entry)."
    )


def audit_log_path(linkage_dir: str | os.PathLike[str]) -> Path:
    return Path(linkage_dir) / AUDIT_FILE


def current_operator() -> str | None:
    """The account running dalink, for the log (None where the platform cannot say)."""
    try:
        return getpass.getuser()
    except Exception:  # getpass raises OSError, KeyError or ImportError depending on the platform
        return None


def _line_digest(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _last_line(handle: int) -> bytes | None:
    """The last non-empty line of an open file, read backwards from the end."""
    end = os.lseek(handle, 0, os.SEEK_END)
    if end == 0:
        return None
    block = 4096
    position = end
    tail = b""
    while position > 0:
        step = min(block, position)
        position -= step
        tail = os.pread(handle, step, position) + tail
        stripped = tail.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    stripped = tail.rstrip(b"\n")
    return stripped or None


def append_audit_entry(linkage_dir: str | os.PathLike[str], entry: AuditEntry) -> AuditEntry:
    """Append ``entry`` (chained to the previous line) and flush it to disk; returns what was written."""
    path = audit_log_path(linkage_dir)
    if not path.parent.is_dir():
        raise AuditLogError(f"{path.parent}: the linkage directory does not exist; nothing was returned")
    try:
        handle = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE)
    except OSError as error:
        raise AuditLogError(
            f"{path}: the audit log cannot be opened for appending ({type(error).__name__}); nothing was returned"
        ) from None
    try:
        try:
            os.fchmod(handle, FILE_MODE)
        except (OSError, AttributeError):  # not the owner, or no fchmod on this platform
            logger.warning("%s: could not set the audit log's mode to 0600", path)
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        previous = _last_line(handle)
        chained = entry.model_copy(
            update={"previous_entry_sha256": _line_digest(previous) if previous is not None else None}
        )
        line = json.dumps(chained.model_dump(mode="json"), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
        written = os.write(handle, line)
        if written != len(line):
            raise OSError("short write")
        os.fsync(handle)
    except OSError as error:
        raise AuditLogError(
            f"{path}: the audit entry could not be written ({type(error).__name__}); nothing was returned"
        ) from None
    finally:
        os.close(handle)  # closing releases the lock
    logger.info("audit log: request %s (%s) recorded", chained.request_id, chained.outcome)
    return chained


def read_audit_log(linkage_dir: str | os.PathLike[str]) -> list[AuditEntry]:
    """Every entry of the log, oldest first (an empty list when no request was made yet)."""
    path = audit_log_path(linkage_dir)
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(AuditEntry.model_validate(json.loads(line)))
        except (json.JSONDecodeError, UnicodeDecodeError, ValidationError):
            raise AuditLogError(f"{path}: line {number} is not a valid audit entry") from None
    return entries


def verify_audit_log(linkage_dir: str | os.PathLike[str]) -> int:
    """Check the chain of the log; returns the number of entries, raises where it breaks."""
    path = audit_log_path(linkage_dir)
    if not path.exists():
        return 0
    previous: bytes | None = None
    count = 0
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            stored = json.loads(line).get("previous_entry_sha256")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            raise AuditLogError(f"{path}: line {number} is not a valid audit entry") from None
        expected = _line_digest(previous) if previous is not None else None
        if stored != expected:
            raise AuditLogError(
                f"{path}: line {number} does not follow the line before it; an entry was removed or changed"
            )
        previous = line
        count += 1
    return count
