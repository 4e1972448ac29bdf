"""Write a synthetic partnership to a directory, atomically.

The directory holds ``<agency>.csv`` per agency (the standard extract columns), ``truth.csv``
(agency, record_id, person_id), ``truth_measures.json`` (every measure computed from the true
persons by :func:`dalink.report.measures.compute_measures`) and ``parameters.json`` (all that is
needed to regenerate it). It is written to a temporary directory beside the target and renamed
into place, so a crash never leaves a half-written partnership that looks complete.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from dalink._version import __version__
from dalink.errors import OutputExistsError
from dalink.report.measures import MeasureParameters
from dalink.synth.errors import ErrorRates
from dalink.synth.partnership import (
    DEFAULT_START_DATE,
    Progress,
    SyntheticPartnership,
    synthesise,
)
from dalink.synth.world import WorldParameters

logger = logging.getLogger(__name__)

TRUTH_FILE = "truth.csv"
TRUTH_MEASURES_FILE = "truth_measures.json"
PARAMETERS_FILE = "parameters.json"


def write_partnership(
    output_dir: str | os.PathLike[str],
    partnership: SyntheticPartnership | None = None,
    *,
    people: int = 20_000,
    seed: int = 1,
    years: int = 3,
    agencies: Iterable[str] | None = None,
    error_rates: ErrorRates | None = None,
    area: str = "hertfordshire",
    world: WorldParameters | None = None,
    measure_parameters: MeasureParameters | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write ``partnership`` (or a new one synthesised from the keyword arguments) to
    ``output_dir``, which must not exist. Returns the directory."""
    target = Path(output_dir)
    if target.exists():
        raise OutputExistsError(f"{target}: the output exists; choose another directory or remove it first")
    stages = 5 if partnership is None else 2

    def report(done: int) -> None:
        if progress:
            progress(done, stages)

    if partnership is None:
        partnership = synthesise(
            people=people,
            seed=seed,
            years=years,
            agencies=agencies,
            error_rates=error_rates,
            area=area,
            start_date=DEFAULT_START_DATE,
            world=world,
            progress=(lambda done, total: report(done)) if progress else None,
        )
    written = stages - 2
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        for agency, extract in partnership.extracts.items():
            write_csv(temporary / f"{agency}.csv", extract)
        write_csv(temporary / TRUTH_FILE, partnership.truth)
        report(written + 1)
        measures = partnership.measures(measure_parameters)
        (temporary / TRUTH_MEASURES_FILE).write_text(
            json.dumps(measures.to_dict(), indent=2) + "\n", encoding="utf-8"
        )
        parameters = {
            "dalink_version": __version__,
            "synth": partnership.parameters.model_dump(mode="json"),
            "records": {agency: len(extract) for agency, extract in partnership.extracts.items()},
            "people_with_records": int((partnership.people["records"] > 0).sum()),
        }
        (temporary / PARAMETERS_FILE).write_text(
            json.dumps(parameters, indent=2) + "\n", encoding="utf-8"
        )
        if target.exists():
            raise OutputExistsError(f"{target}: the output appeared while writing; nothing was replaced")
        os.rename(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    report(stages)
    logger.info("wrote %d records to %s", partnership.records, target)
    return target


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as CSV (blanks for missing values) with the csv module: identical to
    ``DataFrame.to_csv(index=False)`` for these frames, and about three times faster."""
    columns = [
        frame[column].to_numpy(dtype=object, na_value=None) for column in frame.columns
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(frame.columns)
        writer.writerows(zip(*columns))
