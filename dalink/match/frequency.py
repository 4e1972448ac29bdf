"""Term-frequency adjustment for names, read from the keyed names blocking key.

Two records that agree on "Mohammed Ali" are weaker evidence than two that agree on "Delroy
Yusuf": many more unrelated people share the first. Fellegi–Sunter's u for "names agree" is an
average over all names, so it over-rates common names and under-rates rare ones; the
correction (Winkler's, and Splink's ``term_frequency_adjustments``) replaces the average u by
the frequency of the value the pair agrees on::

    adjustment = log2(u_average / u_value)          (bits added to the match weight)

Bloom filters with record-seeded noise cannot be counted (equal names give different
filters), but the keyed, unordered ``names`` blocking key can: equal phonetic codes of given
and family name give equal key values. So ``u_value`` is the share of records holding the
pair's key value and ``u_average`` the chance that two random records share a key value
(the sum of squared shares), both measured on the data being linked. Phonetic codes merge a
few spellings, so both sides are on the same, slightly coarser scale.

The linker sees these counts anyway (they are the sizes of its blocks); nothing new about
any person is revealed. The privacy audit measures how skewed the key is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dalink.match.compare import DIFFERENT_LEVEL, NAME_FIELDS, ComparisonSpec
from dalink.match.load import RecordSet


@dataclass(frozen=True)
class TermFrequencies:
    """How often each value of one keyed blocking key occurs among the records."""

    key: str
    key_values: np.ndarray  # (records,) int64, the key of every record
    present: np.ndarray  # (records,) bool
    shares: np.ndarray  # (records,) float64: share of records holding this record's key value
    average_share: float  # chance that two random records with the key share its value

    @classmethod
    def from_records(cls, records: RecordSet, key: str) -> TermFrequencies:
        column = records.blocking_keys[key]
        present_values = column.values[column.present]
        total = max(len(present_values), 1)
        distinct, inverse, counts = np.unique(present_values, return_inverse=True, return_counts=True)
        shares = np.zeros(len(column.values), dtype=np.float64)
        shares[column.present] = counts[inverse] / total
        share_of_value = counts / total
        average = float((share_of_value * share_of_value).sum()) if len(distinct) else 0.0
        return cls(key, column.values, column.present, shares, average)

    def agrees(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Whether both records hold the key and it is the same value."""
        return self.present[left] & self.present[right] & (self.key_values[left] == self.key_values[right])

    def adjustment_bits(self, left: np.ndarray, right: np.ndarray, applies: np.ndarray) -> np.ndarray:
        """``log2(average share / value share)`` for pairs that agree on the key where ``applies``; else 0."""
        adjustment = np.zeros(len(left), dtype=np.float64)
        chosen = np.flatnonzero(applies & self.agrees(left, right))
        if len(chosen) and self.average_share > 0:
            adjustment[chosen] = np.log2(self.average_share / self.shares[left[chosen]])
        return adjustment


def top_name_agreement(levels: np.ndarray, comparisons: Sequence[ComparisonSpec]) -> np.ndarray:
    """Pairs whose given and family names both reach their top similarity level, or were swapped.

    Like Splink, the adjustment is applied where the names agree (near) exactly: a typo'd name
    says less about which name it was.
    """
    columns = {spec.field: index for index, spec in enumerate(comparisons)}
    if not all(field in columns for field in NAME_FIELDS):
        return np.zeros(len(levels), dtype=bool)
    agree = np.ones(len(levels), dtype=bool)
    swapped = np.zeros(len(levels), dtype=bool)
    for field in NAME_FIELDS:
        spec = comparisons[columns[field]]
        column = levels[:, columns[field]]
        top = DIFFERENT_LEVEL + len(spec.cuts)
        agree &= (column >= top) & (column != _swap_level(spec))
        swapped |= column == _swap_level(spec)
    return agree | swapped


def _swap_level(spec: ComparisonSpec) -> int:
    return spec.labels.index("swapped names") if spec.swap_key else -1
