"""Encode the fields and blocking keys of one extract in several worker processes.

Why by column rather than by row chunk: each field's Bloom filters and each blocking key
are computed from whole columns, once per distinct value, with per-record noise seeded by
the record alone. A worker that computes a whole column therefore runs exactly the code a
single process runs, so the output is byte-identical whatever the number of workers, and
no distinct value is hashed twice (row chunks would re-hash the common names in every
chunk).

Workers are forked, so they inherit the validated frame without copying or pickling it;
they use numpy, pandas and hashlib only (no Arrow threads, which do not survive a fork),
and send back plain numpy arrays. Where ``fork`` is unavailable (Windows, or a
``spawn``-only platform) everything runs in the calling process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

MINIMUM_ROWS_PER_WORKER = 25_000  # below this, starting processes costs more than it saves
MAXIMUM_DEFAULT_WORKERS = 4


@dataclass(frozen=True)
class ColumnTask:
    """One output column: a field's Bloom filters (``kind="field"``) or a blocking key."""

    kind: str
    index: int


@dataclass(frozen=True)
class ColumnResult:
    """A computed column as numpy arrays: ``values`` (uint8 packed rows or int64) and ``present``."""

    task: ColumnTask
    values: np.ndarray
    present: np.ndarray


# The job of the current run, set in the parent before the pool forks; workers read it.
_job: Callable[[ColumnTask], ColumnResult] | None = None


def _run(task: ColumnTask) -> ColumnResult:
    if _job is None:  # pragma: no cover - only if a worker was not forked from run_columns
        raise RuntimeError("encoding worker started without a job")
    return _job(task)


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def worker_count(rows: int, requested: int | None) -> int:
    """How many processes to use: ``requested`` if given, else one per core (capped), one for small extracts."""
    if requested is not None:
        if requested < 1:
            raise ValueError("workers must be at least 1")
        return requested if fork_available() else 1
    if not fork_available():
        return 1
    cores = min(os.cpu_count() or 1, MAXIMUM_DEFAULT_WORKERS)
    return max(1, min(cores, rows // MINIMUM_ROWS_PER_WORKER))


def run_columns(
    tasks: Sequence[ColumnTask], job: Callable[[ColumnTask], ColumnResult], workers: int
) -> Iterator[ColumnResult]:
    """Results of ``job`` for every task, in completion order, computed by ``workers`` processes."""
    global _job
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield job(task)
        return
    _job = job
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
            futures = [pool.submit(_run, task) for task in tasks]
            for future in as_completed(futures):
                yield future.result()
    finally:
        _job = None
