"""What an attack produces: per record, a guessed value and the attacker's confidence in it.

Claims stay inside the library (they hold guessed names); the audit report built from them
holds only counts and shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Claims:
    """Guesses of one attack about one field (or one blocking key's plaintext).

    ``rows`` index the audited records; ``guesses`` hold the claimed normalised value (None
    for no guess) and ``confidence`` the attacker's own probability that the guess is right.
    """

    attack: str
    field: str
    column: str
    rows: np.ndarray
    guesses: np.ndarray
    confidence: np.ndarray
    distinct_encodings: int | None = None
    clusters: int | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not (len(self.rows) == len(self.guesses) == len(self.confidence)):
            raise ValueError("rows, guesses and confidence must have one entry per record")


def claims_from_clusters(
    attack: str,
    field_name: str,
    column: str,
    rows: np.ndarray,
    labels: np.ndarray,
    cluster_guess: np.ndarray,
    cluster_confidence: np.ndarray,
    claim_values: np.ndarray,
    **extra: object,
) -> Claims:
    """Spread per-cluster guesses to the records of each cluster."""
    values = np.append(np.asarray(claim_values, dtype=object), None)
    guess_index = np.where(cluster_guess >= 0, cluster_guess, len(values) - 1)
    return Claims(
        attack=attack,
        field=field_name,
        column=column,
        rows=rows,
        guesses=values[guess_index[labels]],
        confidence=np.where(cluster_guess[labels] >= 0, cluster_confidence[labels], 0.0),
        **extra,  # type: ignore[arg-type]
    )
