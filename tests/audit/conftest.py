"""Fixtures for the audit tests (helpers in ``audit_helpers``)."""

from __future__ import annotations

import pandas as pd
import pytest
from audit_helpers import sample_extract, small_reference

from dalink.audit.frequencies import ReferenceFrequencies


@pytest.fixture(scope="session")
def reference() -> ReferenceFrequencies:
    return small_reference()


@pytest.fixture(scope="session")
def extract(reference: ReferenceFrequencies) -> pd.DataFrame:
    return sample_extract(reference, 4000)
