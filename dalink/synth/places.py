"""Places in the simulated partnership: local authorities and their postcodes."""

from __future__ import annotations

import dataclasses

import numpy as np

from dalink.synth.names import Area

#: Letters used in the unit part of a postcode (Royal Mail leaves out C, I, K, M, O, V).
POSTCODE_UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)


@dataclasses.dataclass(frozen=True)
class LocalAuthorityTable:
    """Partnership authorities first, then neighbours, with their postcode districts flattened."""

    codes: np.ndarray
    names: np.ndarray
    population: np.ndarray
    in_partnership: np.ndarray
    district_start: np.ndarray
    district_count: np.ndarray
    districts: np.ndarray

    @classmethod
    def from_area(cls, area: Area) -> LocalAuthorityTable:
        authorities = list(area.local_authorities)
        partnership_codes = {authority.code for authority in authorities}
        authorities += [item for item in area.neighbours if item.code not in partnership_codes]
        starts, counts, districts = [], [], []
        for authority in authorities:
            starts.append(len(districts))
            counts.append(len(authority.postcode_districts))
            districts.extend(authority.postcode_districts)
        return cls(
            codes=np.array([item.code for item in authorities], dtype=object),
            names=np.array([item.name for item in authorities], dtype=object),
            population=np.array([item.population for item in authorities], dtype=np.float64),
            in_partnership=np.array([item.code in partnership_codes for item in authorities]),
            district_start=np.array(starts, dtype=np.int64),
            district_count=np.array(counts, dtype=np.int64),
            districts=np.array(districts, dtype=object),
        )

    @property
    def partnership_indices(self) -> np.ndarray:
        return np.flatnonzero(self.in_partnership)

    def postcodes(self, authority: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """Random full postcodes ("SG1 4QT") inside each given local authority."""
        size = len(authority)
        pick = self.district_start[authority] + (
            generator.random(size) * self.district_count[authority]
        ).astype(np.int64)
        sector = generator.integers(1, 10, size).astype(str).astype(object)
        first = POSTCODE_UNIT_LETTERS[generator.integers(0, 20, size)]
        second = POSTCODE_UNIT_LETTERS[generator.integers(0, 20, size)]
        return self.districts[pick] + " " + sector + first + second

    def draw(
        self, size: int, generator: np.random.Generator, *, partnership_only: bool = False,
        neighbour_share: float = 0.0,
    ) -> np.ndarray:
        """Local authorities drawn by population (neighbours with ``neighbour_share``)."""
        inside = self.partnership_indices
        outside = np.flatnonzero(~self.in_partnership)
        chosen = inside[
            generator.choice(len(inside), size=size, p=self._weights(inside))
        ]
        if not partnership_only and neighbour_share > 0 and len(outside):
            moved_out = generator.random(size) < neighbour_share
            chosen[moved_out] = outside[
                generator.choice(len(outside), size=int(moved_out.sum()), p=self._weights(outside))
            ]
        return chosen

    def draw_other_partnership(
        self, current: np.ndarray, generator: np.random.Generator
    ) -> np.ndarray:
        """A partnership authority other than ``current``, drawn by population."""
        inside = self.partnership_indices
        chosen = self.draw(len(current), generator, partnership_only=True)
        for _ in range(4):
            same = chosen == current
            if not same.any():
                break
            chosen[same] = self.draw(int(same.sum()), generator, partnership_only=True)
        same = chosen == current
        if same.any() and len(inside) > 1:
            position = np.searchsorted(inside, chosen[same])
            chosen[same] = inside[(position + 1) % len(inside)]
        return chosen

    def _weights(self, indices: np.ndarray) -> np.ndarray:
        weights = self.population[indices]
        return weights / weights.sum()
