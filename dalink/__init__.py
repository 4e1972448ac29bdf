"""dalink: privacy-preserving record linkage for domestic-abuse partnerships.

The public surface, one function or class per pipeline step, importable from here::

    import dalink
    key = dalink.load_key(key_file="partnership.key")
    dalink.encode_file("police.csv", "police.dalink", agency="police", key=key)
    dalink.link(["police.dalink", "marac.dalink"], "linkage/")
    dalink.build_report("linkage/", "report/")

Names load on first use, so ``import dalink`` stays quick and needs only the core
dependencies. Everything else lives in the step's subpackage (``dalink.encode``,
``dalink.match``, ``dalink.report``, ``dalink.chronology``, ``dalink.audit``, ``dalink.synth``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dalink._version import __version__

_EXPORTS = {
    # keys
    "PartnershipKey": "dalink.keys",
    "generate_key_file": "dalink.keys",
    "load_key": "dalink.keys",
    # agency side
    "LinkageSchema": "dalink.encode.schema",
    "default_schema": "dalink.encode.schema",
    "load_schema": "dalink.encode.schema",
    "check_file": "dalink.encode.validate",
    "encode_file": "dalink.encode.encoder",
    "encode_frame": "dalink.encode.encoder",
    "read_package": "dalink.encode.package",
    # linker
    "LinkConfig": "dalink.match.linker",
    "link": "dalink.match.linker",
    # report
    "MeasureParameters": "dalink.report.measures",
    "compute_measures": "dalink.report.measures",
    "DisclosureRules": "dalink.report.disclosure",
    "build_report": "dalink.report.report",
    # restricted uses and assurance
    "combined_chronology": "dalink.chronology",
    "audit_package": "dalink.audit",
    # synthetic data and the demo
    "synthesise": "dalink.synth",
    "write_partnership": "dalink.synth",
    "run_demo": "dalink.demo",
    # errors
    "DalinkError": "dalink.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dalink' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from dalink.audit import audit_package
    from dalink.chronology import combined_chronology
    from dalink.demo import run_demo
    from dalink.encode.encoder import encode_file, encode_frame
    from dalink.encode.package import read_package
    from dalink.encode.validate import check_file
    from dalink.encode.schema import LinkageSchema, default_schema, load_schema
    from dalink.errors import DalinkError
    from dalink.keys import PartnershipKey, generate_key_file, load_key
    from dalink.match.linker import LinkConfig, link
    from dalink.report.disclosure import DisclosureRules
    from dalink.report.measures import MeasureParameters, compute_measures
    from dalink.report.report import build_report
    from dalink.synth import synthesise, write_partnership
