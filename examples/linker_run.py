"""The trusted linker's run: link every package in a folder, then build the report.

    python examples/linker_run.py packages/ -o linkage/ --report report/

The linker never holds the partnership key.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dalink.errors import DalinkError
from dalink.match.linker import link
from dalink.report.report import build_report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("packages_dir", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    arguments = parser.parse_args()
    packages = sorted(arguments.packages_dir.glob("*.dalink"))
    if not packages:
        print(f"error: no *.dalink packages in {arguments.packages_dir}", file=sys.stderr)
        return 1
    try:
        result = link(packages, arguments.output)
        build_report(arguments.output, arguments.report)
    except DalinkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{len(result.entities)} records in {result.entities['entity_id'].nunique()} entities")
    measures = json.loads((arguments.report / "measures.json").read_text())["measures"]
    for name, measure in measures.items():
        print(f"{name:28s} {measure['estimate']!s:>8} ({measure['lower']}-{measure['upper']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
