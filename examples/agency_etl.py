"""An agency's ETL step: map the case system's columns and encode the extract.

Run it where the raw extract lives, with the partnership key readable only by you:

    python examples/agency_etl.py extract.csv --agency housing --key-file partnership.key -o housing.dalink

Only the package (``housing.dalink/``) leaves the agency.
"""

from __future__ import annotations

import argparse
import sys

from dalink.encode.encoder import encode_file
from dalink.errors import DalinkError
from dalink.keys import load_key

# The case management system's column names, mapped to dalink's standard names.
COLUMN_MAPPING = {
    "record_id": "CaseRef",
    "given_name": "Forename",
    "family_name": "Surname",
    "date_of_birth": "DOB",
    "postcode": "Postcode",
    "event_date": "PresentationDate",
    "event_type": "EventType",
    "local_authority": "LACode",
    "role": "Role",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("extract")
    parser.add_argument("--agency", required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--standard-columns", action="store_true", help="The extract already uses dalink's names.")
    arguments = parser.parse_args()
    try:
        manifest = encode_file(
            arguments.extract,
            arguments.output,
            agency=arguments.agency,
            key=load_key(arguments.key_file),
            column_mapping=None if arguments.standard_columns else COLUMN_MAPPING,
        )
    except DalinkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    counts = manifest.counts
    print(f"encoded {counts.encoded} of {counts.rows_in} rows; rejected {counts.rejected}")
    for reason, count in counts.rejected_by_reason.items():
        print(f"  {count:6d}  {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
