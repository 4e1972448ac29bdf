"""The dalink exception tree.

Every error dalink raises on purpose is a :class:`DalinkError`. Messages name the file, the
row and the column that are wrong, and never the value of an identifier: an error message
ends up in logs, tickets and e-mails, which are not places for a victim's name.
"""

from __future__ import annotations


class DalinkError(Exception):
    """Root of every error dalink raises on purpose."""


class KeyFileError(DalinkError):
    """The partnership key is missing, unreadable, too short or otherwise unusable."""


class SchemaError(DalinkError):
    """A linkage schema is invalid. The message lists every problem at once."""


class InputFileError(DalinkError):
    """An agency extract cannot be read as a whole (missing columns, empty file, ...)."""


class InvalidValue(DalinkError, ValueError):
    """One value cannot be used. Row-level: the row goes to ``rejects.csv`` with this reason.

    The message is a reason such as ``"date of birth is in the future"``; it never quotes the
    value itself.
    """


class PackageError(DalinkError):
    """An encoded package is missing, tampered with, truncated or incompatible."""


class OutputExistsError(DalinkError):
    """The output path exists; dalink never overwrites outputs silently."""


class LinkageError(DalinkError):
    """The linker cannot proceed (incompatible packages, empty input, ...)."""


class ReportError(DalinkError):
    """A report cannot be produced from the given linkage."""


class RequestRefused(DalinkError):
    """A chronology request lacks what a restricted use needs (requester, reason, subjects)."""


class AuditLogError(DalinkError):
    """The chronology audit log cannot be written, read, or its chain of entries is broken."""
