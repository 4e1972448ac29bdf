"""Shared fixtures: a fixed test key and small synthetic extracts (never real people)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dalink.keys import PartnershipKey

from sample_data import COLUMNS, OTHER_SECRET, SAMPLE_ROWS, TEST_SECRET, TODAY  # noqa: F401


@pytest.fixture
def key() -> PartnershipKey:
    return PartnershipKey(TEST_SECRET)


@pytest.fixture
def other_key() -> PartnershipKey:
    return PartnershipKey(OTHER_SECRET)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "partnership.key"
    path.write_text(TEST_SECRET.hex() + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def sample_frame() -> pd.DataFrame:
    return pd.DataFrame(SAMPLE_ROWS, columns=COLUMNS)


@pytest.fixture
def sample_csv(tmp_path: Path, sample_frame: pd.DataFrame) -> Path:
    path = tmp_path / "police.csv"
    sample_frame.to_csv(path, index=False)
    return path
