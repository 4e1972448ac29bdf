"""Small synthetic partnerships with known truth (invented names, never real people)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dalink.keys import PartnershipKey

from match_helpers import TEST_SECRET, encode_partnership, synthetic_partnership


@pytest.fixture(scope="session")
def partnership(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("partnership")
    return encode_partnership(directory, synthetic_partnership(), PartnershipKey(TEST_SECRET))
