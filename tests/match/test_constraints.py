from __future__ import annotations

import numpy as np
import pandas as pd

from dalink.match.cluster import average_linkage, cluster
from dalink.match.constraints import role_constraints


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "agency": ["police", "police", "police", "police", "idva", "police"],
            "event_date": ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01", None],
            "event_type": ["incident", "incident", "incident", "incident", "idva_referral", "incident"],
            "role": ["victim", "perpetrator", "perpetrator", "Victim ", "perpetrator", "perpetrator"],
        }
    )


def test_victim_and_perpetrator_of_one_event_conflict() -> None:
    constraints = role_constraints(_events())
    left = np.array([0, 0, 0, 1, 0, 0])
    right = np.array([1, 2, 3, 3, 4, 5])
    # same event: victim/perpetrator conflict (0-1, 3-1); other day, two victims, other agency,
    # and a record without a date do not
    assert constraints.conflicts(left, right).tolist() == [True, False, False, True, False, False]
    assert constraints.records == 3


def test_no_event_columns_means_no_constraint() -> None:
    constraints = role_constraints(pd.DataFrame({"agency": ["a", "a"]}))
    assert not constraints.conflicts(np.array([0]), np.array([1])).any()


def test_average_linkage_never_joins_across_a_cannot_link() -> None:
    similarity = np.full((3, 3), 0.99)
    forbidden = np.zeros((3, 3), dtype=bool)
    forbidden[0, 2] = forbidden[2, 0] = True
    labels = average_linkage(similarity, 0.5, forbidden)
    assert labels[0] != labels[2]
    assert len(np.unique(labels)) == 2


def test_cluster_keeps_victim_and_perpetrator_apart() -> None:
    # records 0, 1 (victim) and 2 (perpetrator of the same incident as 1), all strongly linked
    left, right = np.array([0, 1, 0]), np.array([1, 2, 2])
    probability = np.array([0.99, 0.95, 0.9])
    constraints = role_constraints(
        pd.DataFrame(
            {
                "agency": ["idva", "police", "police"],
                "event_date": ["2024-01-05", "2024-01-01", "2024-01-01"],
                "event_type": ["idva_referral", "incident", "incident"],
                "role": ["victim", "victim", "perpetrator"],
            }
        )
    )

    def scorer(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return np.full(len(first), 0.9)

    unconstrained = cluster(3, left, right, probability, 0.5, scorer)
    assert len(np.unique(unconstrained.labels)) == 1
    result = cluster(3, left, right, probability, 0.5, scorer, cannot_link=constraints.conflicts)
    assert result.labels[0] == result.labels[1] != result.labels[2]
    assert result.constrained_links == 1
