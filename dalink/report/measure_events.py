"""Events made ready for the measures: checked, coded as integers and sorted by person and date.

Why a module of its own: every measure reads the same sorted integer arrays, and the tie rule
(events of a person on one date ordered by agency name, then ``record_id``) is decided once,
here; :mod:`dalink.report.measures` only counts.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dalink.errors import ReportError

if TYPE_CHECKING:
    from dalink.report.measures import MeasureParameters

logger = logging.getLogger("dalink.report.measures")  # one logger for everything the measures report

VICTIM_ROLE = "victim"
REFERRAL_SUFFIX = "_referral"
REQUIRED_COLUMNS = (
    "entity_id",
    "agency",
    "record_id",
    "event_date",
    "event_type",
    "local_authority",
    "role",
)


@dataclasses.dataclass
class _SortedEvents:
    """Events as integer codes, sorted by person, date, agency name, record_id."""

    entity: np.ndarray  # int64 codes, 0..persons-1
    days: np.ndarray  # int64 days since 1970-01-01
    agency: np.ndarray  # int64 codes in agency-name order
    agency_names: np.ndarray
    event_type: np.ndarray  # int64 codes (normalised names)
    event_type_names: np.ndarray
    local_authority: np.ndarray  # int64 codes, -1 where missing
    local_authority_names: np.ndarray
    is_victim: np.ndarray  # bool
    persons: int
    events_without_date: int


def _normalised_codes(values: pd.Series, *, upper: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Codes of stripped, case-normalised strings, in sorted order; missing or blank is -1.

    Normalising the few distinct values (not the million rows) keeps this cheap, and sorted
    codes make the agency code order the agency-name order the tie rule asks for.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    names = pd.Index(uniques).astype(str).str.strip()
    names = names.str.upper() if upper else names.str.lower()
    normalised, remap = np.unique(np.asarray(names, dtype=object), return_inverse=True)
    remap = remap.astype(np.int64).reshape(-1)
    blank = np.isin(normalised, ["", "nan", "none", "NAN", "NONE", "<NA>", "<na>"])
    if blank.any():
        keep = ~blank
        new_index = np.full(len(normalised), -1, dtype=np.int64)
        new_index[keep] = np.arange(int(keep.sum()))
        remap = new_index[remap]
        normalised = normalised[keep]
    result = np.full(len(codes), -1, dtype=np.int64)
    present = codes >= 0
    result[present] = remap[codes[present]]
    return result, normalised


def _event_days(values: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as int64; missing dates become ``iNaT`` (int64 minimum)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        series = values
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)
    else:
        text = values.astype("string").str.strip()
        text = text.mask(text == "")
        series = pd.to_datetime(text, format="ISO8601", errors="coerce")
        unparseable = int((series.isna() & text.notna()).sum())
        if unparseable:
            raise ReportError(
                f"event_date: {unparseable} value(s) are not ISO dates (YYYY-MM-DD)"
            )
    as_days = series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return as_days.view(np.int64)


def _sort_order(
    entity: np.ndarray, days: np.ndarray, agency: np.ndarray, record_id: pd.Series
) -> np.ndarray:
    """Row order by person, date, agency name, then record_id.

    One argsort of a combined int64 key is about three times faster than ``np.lexsort`` on
    three keys. Only rows tied on (person, date, agency) need their record_id compared, and
    factorising a million record_ids on every call would dominate the run time, so only those
    rows are ranked.
    """
    count = len(entity)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    day_offset = days - days.min()
    day_span = int(day_offset.max()) + 1
    agency_span = int(agency.max()) + 1
    entity_span = int(entity.max()) + 1
    if entity_span * day_span * agency_span >= 2**62:
        order = np.lexsort((agency, days, entity))
        sorted_key = np.stack([entity[order], days[order], agency[order]])
        tied_with_previous = (sorted_key[:, 1:] == sorted_key[:, :-1]).all(axis=0)
        key = None
    else:
        key = (entity * day_span + day_offset) * agency_span + agency
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        tied_with_previous = sorted_key[1:] == sorted_key[:-1]
    if not tied_with_previous.any():
        return order
    tied = np.zeros(count, dtype=bool)
    tied[1:] |= tied_with_previous
    tied[:-1] |= tied_with_previous
    tied_rows = order[tied]
    record_rank = np.zeros(count, dtype=np.int64)
    tied_codes, tied_uniques = pd.factorize(
        record_id.to_numpy()[tied_rows], sort=True, use_na_sentinel=False
    )
    record_rank[tied_rows] = tied_codes
    rank_span = len(tied_uniques) + 1
    if key is not None and int(sorted_key[-1]) < 2**62 // rank_span:
        return np.argsort(key * rank_span + record_rank, kind="stable")
    return np.lexsort((record_rank, agency, days, entity))


def _prepare(events: pd.DataFrame, parameters: MeasureParameters) -> _SortedEvents:
    missing_columns = [column for column in REQUIRED_COLUMNS if column not in events.columns]
    if missing_columns:
        raise ReportError(f"events table lacks column(s): {', '.join(missing_columns)}")

    days = _event_days(events["event_date"])
    not_a_time = np.iinfo(np.int64).min
    has_date = days != not_a_time
    events_without_date = int((~has_date).sum())
    if events_without_date:
        logger.warning("%d event(s) without an event date are left out", events_without_date)
    keep = has_date
    if parameters.period_start is not None:
        start = np.datetime64(parameters.period_start, "D").astype(np.int64)
        keep &= days >= start
    if parameters.period_end is not None:
        end = np.datetime64(parameters.period_end, "D").astype(np.int64)
        keep &= days <= end
    if not keep.all():
        events = events.loc[keep]
        days = days[keep]

    entity_codes, entity_uniques = pd.factorize(events["entity_id"], use_na_sentinel=True)
    if (entity_codes < 0).any():
        raise ReportError("entity_id is missing on some events")
    entity = entity_codes.astype(np.int64)

    agency, agency_names = _normalised_codes(events["agency"])
    if (agency < 0).any():
        raise ReportError("agency is missing on some events")
    event_type, event_type_names = _normalised_codes(events["event_type"])
    role, role_names = _normalised_codes(events["role"])
    victim_code = np.flatnonzero(role_names == VICTIM_ROLE)
    is_victim = (
        role == victim_code[0] if victim_code.size else np.zeros(len(role), dtype=bool)
    )
    local_authority, local_authority_names = _normalised_codes(events["local_authority"], upper=True)

    order = _sort_order(entity, days, agency, events["record_id"])

    return _SortedEvents(
        entity=entity[order],
        days=days[order],
        agency=agency[order],
        agency_names=agency_names,
        event_type=event_type[order],
        event_type_names=event_type_names,
        local_authority=local_authority[order],
        local_authority_names=local_authority_names,
        is_victim=is_victim[order],
        persons=len(entity_uniques),
        events_without_date=events_without_date,
    )

def _referral_mask(prepared: _SortedEvents, parameters: MeasureParameters) -> np.ndarray:
    names = prepared.event_type_names
    if parameters.duplicate_event_type is None:
        wanted = np.array([str(name).endswith(REFERRAL_SUFFIX) for name in names], dtype=bool)
    else:
        wanted = names == parameters.duplicate_event_type.strip().lower()
    if not wanted.any():
        return np.zeros(len(prepared.event_type), dtype=bool)
    codes = prepared.event_type
    return (codes >= 0) & wanted[np.where(codes >= 0, codes, 0)]
