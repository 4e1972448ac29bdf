from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

recordlinkage = pytest.importorskip("recordlinkage")

from dalink.encode.package import read_package  # noqa: E402
from dalink.match.compare import dice_reference  # noqa: E402
from dalink.match.recordlinkage_compat import BloomDice  # noqa: E402


def test_bloom_dice_in_a_recordlinkage_pipeline(partnership: list[Path]) -> None:
    police = read_package(partnership[0]).table.to_pandas().set_index("record_id").head(40)
    marac = read_package(partnership[1]).table.to_pandas().set_index("record_id").head(40)
    pairs = recordlinkage.Index().full().index(police, marac)
    compare = recordlinkage.Compare()
    compare.add(BloomDice("bf_family_name", "bf_family_name", label="family_name"))
    compare.add(BloomDice("bf_postcode", "bf_postcode", missing_value=-1.0, label="postcode"))
    features = compare.compute(pairs, police, marac)
    assert len(features) == len(pairs)
    for (left, right), value in features["family_name"].head(200).items():
        assert value == pytest.approx(dice_reference(police.at[left, "bf_family_name"], marac.at[right, "bf_family_name"]), abs=1e-6)
    missing = police["bf_postcode"].isna().reindex(features.index.get_level_values(0)).to_numpy()
    assert np.all(features["postcode"].to_numpy()[missing] == -1.0)
