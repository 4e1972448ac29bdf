"""dalink encodings inside a recordlinkage pipeline.

``recordlinkage`` (an optional dependency) builds comparison vectors from feature objects.
:class:`BloomDice` is one such feature: it compares two ``bf_<field>`` columns of dalink
packages (packed Bloom filters as ``bytes``, ``None`` where missing) by their Dice
coefficient, with the same kernel the linker uses::

    import recordlinkage
    from dalink.encode.package import read_package
    from dalink.match.recordlinkage_compat import BloomDice

    police = read_package("police.dalink").table.to_pandas().set_index("record_id")
    refuge = read_package("refuge.dalink").table.to_pandas().set_index("record_id")
    pairs = recordlinkage.Index().full().index(police, refuge)   # or block on bk_* columns
    compare = recordlinkage.Compare()
    compare.add(BloomDice("bf_family_name", "bf_family_name", label="family_name"))
    features = compare.compute(pairs, police, refuge)

Blocking keys (``bk_<name>``) work with recordlinkage's own ``Block`` indexer unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dalink.errors import DalinkError
from dalink.match.compare import dice_pairs
from dalink.match.load import FieldFilters, popcount_rows

try:
    from recordlinkage.base import BaseCompareFeature
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise DalinkError(
        "dalink.match.recordlinkage_compat needs recordlinkage: pip install 'dalink[recordlinkage]'"
    ) from error


def filters_from_series(values: pd.Series) -> FieldFilters:
    """Packed filters from a column of ``bytes`` (``None``/NaN where missing)."""
    items = values.tolist()
    present = np.array([isinstance(item, (bytes, bytearray)) for item in items], dtype=bool)
    width = next((len(item) for item, ok in zip(items, present) if ok), 8)
    if width % 8:
        raise DalinkError("a Bloom-filter column must hold filters whose length is a multiple of 64 bits")
    blank = bytes(width)
    buffer = b"".join(bytes(item) if ok else blank for item, ok in zip(items, present))
    if len(buffer) != width * len(items):
        raise DalinkError("the Bloom filters in a column must all have the same length")
    words = np.frombuffer(buffer, dtype=np.uint64).reshape(len(items), width // 8).copy()
    return FieldFilters("column", words, present, popcount_rows(words))


class BloomDice(BaseCompareFeature):
    """Dice similarity of two dalink Bloom-filter columns (``missing_value`` where either is missing)."""

    name = "bloom_dice"
    description = "Dice coefficient of dalink Bloom filters."

    def __init__(self, left_on: str, right_on: str, *, missing_value: float = 0.0, label: str | None = None) -> None:
        super().__init__(left_on, right_on, label=label)
        self.missing_value = missing_value

    def _compute_vectorized(self, s_left: pd.Series, s_right: pd.Series) -> np.ndarray:
        left = filters_from_series(s_left)
        right = filters_from_series(s_right)
        if left.words.shape[1] != right.words.shape[1]:
            raise DalinkError("the two Bloom-filter columns have different lengths")
        stacked = FieldFilters(
            "pair", np.concatenate([left.words, right.words]), np.concatenate([left.present, right.present]),
            np.concatenate([left.popcounts, right.popcounts]),
        )
        count = len(left.present)
        index = np.arange(count)
        dice = dice_pairs(stacked, index, index + count).astype(np.float64)
        dice[~(left.present & right.present)] = self.missing_value
        return dice
