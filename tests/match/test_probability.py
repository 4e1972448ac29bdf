"""The model's probability arithmetic, apart from any fitted model."""

from __future__ import annotations

import numpy as np
import pytest

from dalink.match.probability import expected_f1_threshold


def test_expected_f1_threshold_prefers_the_gap() -> None:
    probability = np.array([0.999, 0.98, 0.6, 0.02, 0.001])
    counts = np.array([100, 50, 2, 30, 10_000])
    assert expected_f1_threshold(probability, counts) == pytest.approx(0.6)
    assert expected_f1_threshold(np.zeros(0), np.zeros(0, dtype=np.int64)) == 0.5
