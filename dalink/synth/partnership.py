"""A synthetic partnership: one extract per agency, the truth behind them, and its measures.

Nobody can share real domestic-abuse data to try, test or tune dalink, so dalink makes its
own. The truth (which records are the same person) is what linkage is scored against, and
the truth measures come from :func:`dalink.report.measures.compute_measures` — the function
``dalink report`` uses on linked entities — so truth and estimate share one definition.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dalink.errors import DalinkError
from dalink.report.measures import MeasureParameters, Measures, compute_measures
from dalink.synth.errors import ErrorRates, format_dates, render_records
from dalink.synth.names import GROUPS, area_names, load_area
from dalink.synth.parameters import AGENCIES, VICTIM, WorldParameters
from dalink.synth.world import World, simulate_world

logger = logging.getLogger(__name__)

AgencyName = Literal["police", "marac", "refuge", "housing", "childrens_services", "idva"]
#: The standard extract columns, in order (``PRODUCT.md``).
EXTRACT_COLUMNS = (
    "record_id",
    "given_name",
    "middle_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
    "event_date",
    "event_type",
    "local_authority",
    "role",
    "risk_level",
    "referring_agency",
)
TRUTH_COLUMNS = ("agency", "record_id", "person_id")
#: Record-number prefixes; numbers are assigned in shuffled order so they say nothing about
#: the person or the date.
RECORD_PREFIXES = {
    "police": "POL",
    "marac": "MAR",
    "refuge": "REF",
    "housing": "HOU",
    "childrens_services": "CSC",
    "idva": "IDV",
}
DEFAULT_START_DATE = datetime.date(2021, 4, 1)
Progress = Callable[[int, int], None]


class SynthParameters(BaseModel):
    """Everything that determines a synthetic partnership (written to ``parameters.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    people: int = Field(20_000, ge=10, le=20_000_000, description="People in the simulated world.")
    seed: int = Field(1, ge=0, description="Seed of the random generator: same seed, same data.")
    years: int = Field(3, ge=1, le=30, description="Length of the period simulated.")
    start_date: datetime.date = Field(DEFAULT_START_DATE, description="First day of the period.")
    area: str = Field("hertfordshire", description="Partnership area (local authorities, names).")
    agencies: tuple[AgencyName, ...] = Field(AGENCIES, min_length=1, description="Agencies with an extract.")
    error_rates: ErrorRates = Field(default_factory=ErrorRates)
    world: WorldParameters = Field(default_factory=WorldParameters)

    @field_validator("agencies")
    @classmethod
    def _distinct_agencies(cls, agencies: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(agencies)) != len(agencies):
            raise ValueError("an agency is listed twice")
        return tuple(name for name in AGENCIES if name in agencies)

    @field_validator("area")
    @classmethod
    def _known_area(cls, area: str) -> str:
        if area not in area_names():
            raise ValueError(f"unknown area; choose one of: {', '.join(area_names())}")
        return area


@dataclasses.dataclass(frozen=True)
class SyntheticPartnership:
    """Agency extracts with the truth behind them.

    ``extracts`` maps agency name to its extract (the standard columns, blanks as ``None``);
    ``truth`` has one row per record (``agency``, ``record_id``, ``person_id``); ``people``
    holds each simulated person's true identity, including people no agency ever saw.
    """

    parameters: SynthParameters
    extracts: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    people: pd.DataFrame

    @property
    def records(self) -> int:
        return int(sum(len(extract) for extract in self.extracts.values()))

    def events(self) -> pd.DataFrame:
        """Every record's event fields with ``entity_id`` = the true person."""
        event_columns = ["record_id", "event_date", "event_type", "local_authority", "role"]
        parts = [
            extract[event_columns].assign(agency=agency) for agency, extract in self.extracts.items()
        ]
        if not parts:
            return truth_events(self.extracts, self.truth)
        events = pd.concat(parts, ignore_index=True)
        aligned = len(events) == len(self.truth) and bool(
            (events["record_id"].to_numpy() == self.truth["record_id"].to_numpy()).all()
            and (events["agency"].to_numpy() == self.truth["agency"].to_numpy()).all()
        )
        if not aligned:  # the truth was re-ordered: join on the keys instead
            return truth_events(self.extracts, self.truth)
        events.insert(0, "entity_id", self.truth["person_id"].to_numpy())
        return events[["entity_id", "agency", *event_columns]]

    def measures(self, parameters: MeasureParameters | None = None) -> Measures:
        """The true partnership measures (the same code the report runs on linked entities)."""
        return compute_measures(self.events(), parameters)


def truth_events(extracts: Mapping[str, pd.DataFrame], truth: pd.DataFrame) -> pd.DataFrame:
    """Join extracts to the truth: the events table :func:`compute_measures` expects.

    Works the same on frames read back from ``<agency>.csv`` and ``truth.csv``, which is how
    a test checks that ``truth_measures.json`` is reproducible from the files alone.
    """
    event_columns = ["record_id", "event_date", "event_type", "local_authority", "role"]
    parts = [
        extract[event_columns].assign(agency=agency)
        for agency, extract in extracts.items()
        if len(extract)
    ]
    if not parts:
        return pd.DataFrame(columns=["entity_id", "agency", *event_columns])
    events = pd.concat(parts, ignore_index=True)
    keys = truth[["agency", "record_id", "person_id"]].astype({"record_id": str})
    events = events.astype({"record_id": str}).merge(
        keys, on=["agency", "record_id"], how="left", validate="one_to_one"
    )
    if events["person_id"].isna().any():
        raise DalinkError("some records have no row in the truth table")
    return events.rename(columns={"person_id": "entity_id"})[
        ["entity_id", "agency", *event_columns]
    ]


def _blank_to_none(values: np.ndarray) -> np.ndarray:
    values = values.astype(object, copy=True)
    values[values == ""] = None
    return values


def _record_numbers(count: int, generator: np.random.Generator) -> np.ndarray:
    """Record numbers 1..count in shuffled order (the i-th record gets number[i])."""
    return generator.permutation(count) + 1


def _format_record_ids(prefix: str, count: int) -> np.ndarray:
    """``PREFIX-000001`` ... as Python strings, built as fixed-width bytes (a list
    comprehension over a million f-strings costs seconds)."""
    width = max(6, len(str(count)))
    numbers = np.arange(1, count + 1, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (numbers[:, None] // powers[None, :]) % 10 + ord("0")
    head = np.frombuffer(f"{prefix}-".encode("ascii"), dtype=np.uint8)
    characters = np.empty((count, len(head) + width), dtype=np.uint8)
    characters[:, : len(head)] = head
    characters[:, len(head) :] = digits
    as_bytes = characters.view(f"S{len(head) + width}").reshape(count)
    return as_bytes.astype(f"U{len(head) + width}").astype(object)


def synthesise(
    people: int = 20_000,
    seed: int = 1,
    years: int = 3,
    agencies: Iterable[str] | None = None,
    error_rates: ErrorRates | None = None,
    *,
    area: str = "hertfordshire",
    start_date: datetime.date = DEFAULT_START_DATE,
    world: WorldParameters | None = None,
    progress: Progress | None = None,
) -> SyntheticPartnership:
    """Simulate a partnership and the extract each agency would hold of it.

    Deterministic for a seed; the whole world is always simulated, so an extract is the same
    whichever other agencies are asked for. ``progress(done, total)`` counts stages.
    """
    try:
        parameters = SynthParameters(
            people=people,
            seed=seed,
            years=years,
            start_date=start_date,
            area=area,
            agencies=tuple(agencies) if agencies is not None else AGENCIES,
            error_rates=error_rates or ErrorRates(),
            world=world or WorldParameters(),
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'parameters'}: {item['msg']}"
            for item in error.errors()
        )
        raise DalinkError(f"invalid synth parameters: {problems}") from None
    return synthesise_from(parameters, progress=progress)


def synthesise_from(
    parameters: SynthParameters, *, progress: Progress | None = None
) -> SyntheticPartnership:
    """:func:`synthesise` from a parameters object (e.g. read back from ``parameters.json``)."""
    stages = 3
    generator = np.random.default_rng(parameters.seed)
    world = simulate_world(
        parameters.people,
        area=load_area(parameters.area),
        start_date=parameters.start_date,
        years=parameters.years,
        parameters=parameters.world,
        generator=generator,
    )
    logger.info("simulated %d events for %d people", len(world.events), parameters.people)
    # Put events in their final order (agency, then shuffled record number) before rendering,
    # so each extract is a contiguous slice of the rendered columns. Record numbers are drawn
    # for every agency, so an extract does not depend on which other agencies are kept.
    order_parts = []
    for code in range(len(AGENCIES)):
        rows = np.flatnonzero(world.events.agency == code)
        order_parts.append(rows[np.argsort(_record_numbers(len(rows), generator))])
    world = dataclasses.replace(world, events=world.events.take(np.concatenate(order_parts)))
    if progress:
        progress(1, stages)
    columns = render_records(world, parameters.error_rates, generator)
    if progress:
        progress(2, stages)

    extracts: dict[str, pd.DataFrame] = {}
    truth_parts = []
    end = 0
    for agency, rows in zip(AGENCIES, order_parts):
        begin, end = end, end + len(rows)
        if agency not in parameters.agencies:
            continue
        record_ids = _format_record_ids(RECORD_PREFIXES[agency], len(rows))
        frame = {"record_id": record_ids}
        for name in EXTRACT_COLUMNS[1:]:
            frame[name] = _blank_to_none(columns[name][begin:end])
        extracts[agency] = pd.DataFrame(frame, columns=list(EXTRACT_COLUMNS))
        truth_parts.append(
            pd.DataFrame(
                {
                    "agency": agency,
                    "record_id": record_ids,
                    "person_id": world.events.person[begin:end] + 1,
                }
            )
        )
    truth = pd.concat(truth_parts, ignore_index=True) if truth_parts else pd.DataFrame(
        columns=list(TRUTH_COLUMNS)
    )
    if progress:
        progress(3, stages)
    return SyntheticPartnership(
        parameters=parameters,
        extracts=extracts,
        truth=truth,
        people=_people_table(world, truth),
    )


def _people_table(world: World, truth: pd.DataFrame) -> pd.DataFrame:
    people = world.people
    count = len(people)
    records = np.bincount(truth["person_id"].to_numpy(dtype=np.int64), minlength=count + 1)[1:]
    return pd.DataFrame(
        {
            "person_id": np.arange(1, count + 1),
            "kind": np.where(people.kind == VICTIM, "victim", "perpetrator"),
            "sex": np.where(people.sex == 0, "F", "M"),
            "date_of_birth": format_dates(
                people.date_of_birth, np.zeros(count, dtype=np.int64)
            ),
            "given_name": people.given_name,
            "middle_name": _blank_to_none(people.middle_name),
            "family_name": people.family_name,
            "birth_family_name": people.birth_family_name,
            "name_group": np.array(GROUPS, dtype=object)[people.group],
            "home_local_authority": world.authorities.codes[people.home_authority],
            "home_postcode": people.home_postcode,
            "has_children": people.has_children,
            "perpetrator_id": np.where(people.perpetrator >= 0, people.perpetrator + 1, 0),
            "records": records,
        }
    )
