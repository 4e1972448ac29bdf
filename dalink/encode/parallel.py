"""Encode an extract in several worker processes, by column.

Two rounds of column jobs: first each identifier and date column is normalised (one job
per column), then each field's Bloom filters and each blocking key are built (one job per
output column). Why by column rather than by row chunk: both rounds work once per
distinct value, and per-record noise is seeded by the record alone, so a worker that
handles a whole column runs exactly the code a single process runs; the output is
byte-identical whatever the number of workers, and no distinct value is normalised or
hashed twice (row chunks would redo the common names in every chunk: tried, and slower
at a million rows).

Workers are forked, so they inherit the extract without copying or pickling it; they use
numpy, pandas and hashlib only (no Arrow threads, which do not survive a fork). Normalised
columns come back through a pipe as codes into their distinct values; filters and blocking
keys are written straight into memory shared with the parent (:func:`zeros`). Where
``fork`` is unavailable (Windows, or a ``spawn``-only platform) everything runs in the
calling process.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, TypeVar

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

    values: np.ndarray
    present: np.ndarray


def zeros(shape: int | tuple[int, ...], dtype: type | np.dtype, *, shared: bool) -> np.ndarray:
    """``np.zeros``, in anonymous shared memory if ``shared``: what a forked worker writes there, the parent sees.

    Why: sending a million-row column back through a pipe pickles and copies it twice;
    writing it in place costs nothing extra. Anonymous ``mmap`` pages start zeroed and are
    shared with every process forked after they are mapped.
    """
    if not shared:
        return np.zeros(shape, dtype=dtype)
    dimensions = (shape,) if isinstance(shape, int) else shape
    count = int(np.prod(dimensions))
    buffer = mmap.mmap(-1, max(count * np.dtype(dtype).itemsize, 1))
    return np.frombuffer(buffer, dtype=dtype, count=count).reshape(dimensions)


Task = TypeVar("Task", bound=Hashable)
Result = TypeVar("Result")

# The job of the current run, set in the parent before the pool forks; workers read it.
_job: Callable[[Any], Any] | None = None


def _run(task: Any) -> Any:
    if _job is None:  # pragma: no cover - only if a worker was not forked from run_tasks
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


def run_tasks(tasks: Sequence[Task], job: Callable[[Task], Result], workers: int) -> Iterator[tuple[Task, Result]]:
    """``(task, job(task))`` for every task, in completion order, computed by ``workers`` processes.

    Tasks are started in the order given, so put the longest first.
    """
    global _job
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield task, job(task)
        return
    _job = job
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
            futures = {pool.submit(_run, task): task for task in tasks}
            for future in as_completed(futures):
                yield futures[future], future.result()
    finally:
        _job = None
