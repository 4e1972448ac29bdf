"""Shared synthetic test data: a fixed test secret and a few made-up extract rows (never real people)."""

from __future__ import annotations

import datetime

TEST_SECRET = bytes(range(100, 132))
OTHER_SECRET = bytes(range(1, 33))
TODAY = datetime.date(2026, 11, 23)

SAMPLE_ROWS = [
    # record_id, given, middle, family, dob, sex, postcode, event_date, event_type, la, role, risk, referring
    ("P1", "Alexandra", "Jane", "Whitcombe", "12/03/1985", "F", "AL1 3JX", "2024-01-10", "incident", "E07000240", "victim", "high", ""),
    ("P2", "Bob", "", "Okonkwo-Reid", "1979-07-01", "Male", "WD17 1AB", "2024-01-10", "incident", "E07000103", "perpetrator", "", ""),
    ("P3", "Siobhán", "", "O'Sullivan", "3 Mar 1990", "female", "", "2024-02-02", "incident", "E07000240", "victim", "medium", ""),
    ("P4", "Priya", "K", "Raghunathan", "31/12/2001", "2", "SG1 1AA", "2024-02-15", "incident", "E07000243", "victim", "standard", ""),
    ("P5", "Marek", "", "Kowalczyk", "", "M", "zz99 3vz", "2024-03-01", "incident", "E07000243", "perpetrator", "", ""),
]
COLUMNS = [
    "record_id", "given_name", "middle_name", "family_name", "date_of_birth", "sex", "postcode",
    "event_date", "event_type", "local_authority", "role", "risk_level", "referring_agency",
]
