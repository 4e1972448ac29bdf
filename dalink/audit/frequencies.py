"""The attacker's public knowledge: frequency tables of names and birth years.

A realistic attacker against an encoded package holds the linkage schema (it travels in the
manifest) and public frequency tables, but not the key. dalink ships such tables under
``dalink/data/reference_frequencies/`` (their provenance is in ``SOURCES.md`` there and in
``docs/privacy.md``); a data protection officer can substitute better ones (a directory with
the same CSV files) to model a better-informed attacker.

Files (UTF-8 CSV with a header; weights are counts or shares, any positive scale):

    given_names.csv   name,sex,weight      sex is F or M
    surnames.csv      name,weight
    birth_years.csv   year,weight
    sex.csv           sex,weight           optional; default: the population's 51% F, 49% M

Every table is normalised with the encoder's own normaliser before use, exactly as an
attacker who knows the public software would do, and spellings that normalise alike merge.
"""

from __future__ import annotations

import calendar
import datetime
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from dalink.encode.normalise import normalise_name
from dalink.errors import DalinkError, InvalidValue

REFERENCE_DIRECTORY = "data/reference_frequencies"
GIVEN_NAMES_FILE = "given_names.csv"
SURNAMES_FILE = "surnames.csv"
BIRTH_YEARS_FILE = "birth_years.csv"
SEX_FILE = "sex.csv"
SOURCES_FILE = "SOURCES.md"


class ReferenceError(DalinkError):
    """A reference frequency table is missing or malformed."""


@dataclass(frozen=True)
class ValueDistribution:
    """Normalised values and their probabilities (summing to 1), most frequent first."""

    values: np.ndarray  # object
    probabilities: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.values)

    def as_series(self) -> pd.Series:
        return pd.Series(self.probabilities, index=pd.Index(self.values, dtype=object))


def _distribution(values: pd.Series, weights: pd.Series) -> ValueDistribution:
    frame = pd.DataFrame({"value": values.to_numpy(dtype=object), "weight": weights.to_numpy(dtype=float)})
    frame = frame[frame["value"].notna() & (frame["weight"] > 0)]
    grouped = frame.groupby("value", sort=False)["weight"].sum().sort_values(ascending=False, kind="stable")
    total = float(grouped.sum())
    if total <= 0:
        raise ReferenceError("a reference table has no positive weights")
    return ValueDistribution(grouped.index.to_numpy(dtype=object), (grouped.to_numpy() / total).astype(np.float64))


def _normalised_names(names: pd.Series) -> pd.Series:
    def safe(value: object) -> str | None:
        try:
            return normalise_name(value)
        except InvalidValue:
            return None

    distinct = pd.unique(names.astype(object))
    mapping = {value: safe(value) for value in distinct}
    return names.map(mapping)


@dataclass(frozen=True)
class ReferenceFrequencies:
    """Public frequency tables an attacker aligns encodings against."""

    given_names: pd.DataFrame  # name, sex, weight
    surnames: pd.DataFrame  # name, weight
    birth_years: pd.DataFrame  # year, weight
    sex: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"sex": ["F", "M"], "weight": [51.0, 49.0]}))
    source: str = "custom tables"

    def __post_init__(self) -> None:
        for name, frame, columns in (
            ("given_names", self.given_names, ("name", "sex", "weight")),
            ("surnames", self.surnames, ("name", "weight")),
            ("birth_years", self.birth_years, ("year", "weight")),
            ("sex", self.sex, ("sex", "weight")),
        ):
            missing = [column for column in columns if column not in frame.columns]
            if missing:
                raise ReferenceError(f"reference table {name} lacks column(s) {', '.join(missing)}")

    # --- distributions of normalised values ------------------------------------------------

    def given_name_distribution(self, sex: str | None = None) -> ValueDistribution:
        """Given names (normalised), of one sex or of both mixed in the population's sex ratio."""
        frame = self.given_names
        sexes = frame["sex"].astype(str).str.upper().str[:1]
        if sex is not None:
            frame = frame[sexes == sex.upper()[:1]]
            return _distribution(_normalised_names(frame["name"]), frame["weight"])
        shares = self.sex_distribution().as_series()
        weights = frame["weight"].astype(float).copy()
        for code in ("F", "M"):
            chosen = sexes == code
            total = float(weights[chosen].sum())
            if total > 0:
                weights[chosen] = weights[chosen] / total * float(shares.get(code, 0.5))
        return _distribution(_normalised_names(frame["name"]), weights)

    def surname_distribution(self) -> ValueDistribution:
        return _distribution(_normalised_names(self.surnames["name"]), self.surnames["weight"])

    def birth_year_distribution(self) -> ValueDistribution:
        years = pd.to_numeric(self.birth_years["year"], errors="coerce")
        keep = years.notna()
        return _distribution(
            years[keep].astype(int).astype(str), self.birth_years.loc[keep, "weight"].astype(float)
        )

    def sex_distribution(self) -> ValueDistribution:
        """Normalised sex codes as the encoder writes them (upper-case single letters)."""
        codes = self.sex["sex"].astype(str).str.strip().str.upper().str[:1]
        return _distribution(codes, self.sex["weight"].astype(float))

    def date_of_birth_distribution(self) -> ValueDistribution:
        """ISO dates: a birth year from the table, every day of that year equally likely."""
        years = self.birth_year_distribution()
        values: list[str] = []
        probabilities: list[float] = []
        for year_text, probability in zip(years.values, years.probabilities):
            year = int(year_text)
            days = 366 if calendar.isleap(year) else 365
            start = datetime.date(year, 1, 1)
            for offset in range(days):
                values.append((start + datetime.timedelta(days=offset)).isoformat())
                probabilities.append(probability / days)
        order = np.argsort(-np.asarray(probabilities), kind="stable")
        return ValueDistribution(np.asarray(values, dtype=object)[order], np.asarray(probabilities)[order])

    def field_distribution(self, field_name: str) -> ValueDistribution | None:
        """The attacker's prior over one identifier field's normalised values (None: no table)."""
        if field_name in ("given_name", "middle_name"):
            return self.given_name_distribution()
        if field_name == "family_name":
            return self.surname_distribution()
        if field_name == "date_of_birth":
            return self.date_of_birth_distribution()
        if field_name == "sex":
            return self.sex_distribution()
        return None


def _read_csv(directory: Path | resources.abc.Traversable, name: str, *, required: bool = True) -> pd.DataFrame | None:
    path = directory / name
    try:
        with path.open("r", encoding="utf-8") as handle:  # type: ignore[union-attr]
            return pd.read_csv(handle, dtype={"name": str, "sex": str}, keep_default_na=False)
    except FileNotFoundError:
        if required:
            raise ReferenceError(f"{path}: reference frequency table is missing") from None
        return None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise ReferenceError(f"{path}: not a readable CSV table ({type(error).__name__})") from None


def load_reference_frequencies(directory: str | os.PathLike[str] | None = None) -> ReferenceFrequencies:
    """Read reference tables from ``directory`` (default: the tables shipped with dalink)."""
    if directory is None:
        return default_reference_frequencies()
    source = Path(directory)
    if not source.is_dir():
        raise ReferenceError(f"{source}: not a directory of reference frequency tables")
    return _load(source, f"tables in {source}")


def _load(directory: Path | resources.abc.Traversable, description: str) -> ReferenceFrequencies:
    given = _read_csv(directory, GIVEN_NAMES_FILE)
    surnames = _read_csv(directory, SURNAMES_FILE)
    years = _read_csv(directory, BIRTH_YEARS_FILE)
    sex = _read_csv(directory, SEX_FILE, required=False)
    sources = directory / SOURCES_FILE
    try:
        first_line = sources.read_text(encoding="utf-8").strip().splitlines()[0].lstrip("# ").strip()
        description = f"{first_line} ({description})"
    except (FileNotFoundError, IndexError, OSError):
        pass
    assert given is not None and surnames is not None and years is not None
    if sex is None:
        return ReferenceFrequencies(given, surnames, years, source=description)
    return ReferenceFrequencies(given, surnames, years, sex, source=description)


@cache
def default_reference_frequencies() -> ReferenceFrequencies:
    """The tables shipped with dalink (provenance in ``SOURCES.md`` beside them)."""
    return _load(resources.files("dalink").joinpath(REFERENCE_DIRECTORY), "shipped with dalink")
