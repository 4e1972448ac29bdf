"""Compiled Dice kernels (numba), the fast path next to the numpy code in :mod:`dalink.match.compare`.

numba is an optional extra (``pip install 'dalink[fast]'``). Without it the ``*_compiled``
functions are absent (``AVAILABLE`` is False) and :mod:`dalink.match.compare` uses its
vectorised numpy path, which gives the same numbers: the tests check both against the
bit-by-bit reference. :mod:`dalink.match.threshold_search` builds on the pieces here.

Why compiled: the numpy path gathers both rows of every pair into temporary arrays, ANDs them,
counts bits per ``uint64`` word and sums - four passes over memory per field. The compiled
loop reads each word once and counts with LLVM ``ctpop`` (vectorised to ``vpopcntq`` or AVX2
byte shuffles where the CPU has them), with no temporaries, and releases the GIL so that the
wrappers here can split the work over threads (``threads``; default: the CPUs this process may
use). Results do not depend on the thread count.

Compilation happens on first use (a second or two) and is cached next to this module when
the directory is writable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np

logger = logging.getLogger(__name__)

Backend = Literal["auto", "compiled", "numpy"]
"""Which implementation runs: ``auto`` is the compiled one when numba is installed, else numpy."""

try:  # pragma: no branch - which branch runs depends on the environment
    from llvmlite import ir
    from numba import njit, types
    from numba.extending import intrinsic

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only without the extra
    AVAILABLE = False

__all__ = ["AVAILABLE", "Backend", "available_threads", "run_in_pieces", "use_compiled"]

PARALLEL_MINIMUM = 1_000_000
"""Below this many comparisons (a few milliseconds) one thread is faster than starting others:
starting a pool costs 0.2 ms on an idle machine and several on a busy one."""
CHUNKS_PER_THREAD = 8
"""Work is cut into this many pieces per thread, so a thread that finishes early takes more."""


def use_compiled(backend: Backend) -> bool:
    """Whether to run the compiled kernel for ``backend`` (``compiled`` without numba is an error)."""
    if backend == "compiled" and not AVAILABLE:
        raise ImportError("the compiled kernels need numba: pip install 'dalink[fast]'")
    return backend == "compiled" or (backend == "auto" and AVAILABLE)


def available_threads() -> int:
    """The CPUs this process may run on (the default thread count of the compiled kernels)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - platforms without affinity


def run_in_pieces(run: Callable[[int, int], None], length: int, work: int, threads: int | None) -> None:
    """Call ``run(start, stop)`` over pieces of ``range(length)``, on threads when worth it.

    The kernels release the GIL, so plain threads run them in parallel; pieces are handed out
    as threads free up, which evens out pieces of unequal cost.
    """
    threads = available_threads() if threads is None else max(1, threads)
    if threads == 1 or work < PARALLEL_MINIMUM or length < 2:
        run(0, length)
        return
    size = max(1, -(-length // (threads * CHUNKS_PER_THREAD)))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda start: run(start, min(start + size, length)), range(0, length, size)))


if AVAILABLE:

    @intrinsic
    def popcount64(typing_context, value):  # type: ignore[no-untyped-def]
        """LLVM's ``ctpop`` on one ``uint64`` word (the CPU's popcount instruction)."""
        if value != types.uint64:
            return None

        def codegen(context, builder, signature, arguments):  # type: ignore[no-untyped-def]
            function = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
            return builder.call(function, arguments)

        return types.uint64(types.uint64), codegen

    @njit(nogil=True, cache=True, boundscheck=False)
    def _dice_pairs(words, popcounts, left, right, out):  # type: ignore[no-untyped-def]
        """``out[i]`` = Dice of rows ``left[i]`` and ``right[i]`` of ``words``.

        Loops count from zero (callers pass slices, not start and stop): numba then sees that
        the indices are never negative and drops its wraparound handling, about 10% faster.
        """
        width = words.shape[1]
        for index in range(left.shape[0]):
            first = left[index]
            second = right[index]
            shared = 0
            for word in range(width):
                shared += popcount64(words[first, word] & words[second, word])
            total = popcounts[first] + popcounts[second]
            out[index] = 2.0 * shared / total if total > 0 else 0.0

    def dice_pairs_compiled(
        words: np.ndarray,
        popcounts: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        out: np.ndarray,
        *,
        threads: int | None = None,
    ) -> None:
        """``out[i]`` = Dice of rows ``left[i]`` and ``right[i]`` of ``words`` (0 when both are empty)."""

        def piece(start: int, stop: int) -> None:
            _dice_pairs(words, popcounts, left[start:stop], right[start:stop], out[start:stop])

        run_in_pieces(piece, len(left), len(left), threads)

    @njit(nogil=True, cache=True, boundscheck=False)
    def _dice_all_to_all(first, second, first_counts, second_counts, out):  # type: ignore[no-untyped-def]
        """``out[i, j]`` = Dice of ``first[i]`` and ``second[j]``."""
        width = first.shape[1]
        for row in range(first.shape[0]):
            for column in range(second.shape[0]):
                shared = 0
                for word in range(width):
                    shared += popcount64(first[row, word] & second[column, word])
                total = first_counts[row] + second_counts[column]
                out[row, column] = 2.0 * shared / total if total > 0 else 0.0

    def dice_all_to_all_compiled(
        first: np.ndarray,
        second: np.ndarray,
        first_counts: np.ndarray,
        second_counts: np.ndarray,
        out: np.ndarray,
        *,
        threads: int | None = None,
    ) -> None:
        """``out[i, j]`` = Dice of ``first[i]`` and ``second[j]``."""

        def piece(start: int, stop: int) -> None:
            _dice_all_to_all(first[start:stop], second, first_counts[start:stop], second_counts, out[start:stop])

        run_in_pieces(piece, len(first), len(first) * len(second), threads)

    @njit(nogil=True, cache=True, boundscheck=False)
    def identical_pairs_compiled(words: np.ndarray, left: np.ndarray, right: np.ndarray, out: np.ndarray) -> None:
        """``out[i]`` = whether rows ``left[i]`` and ``right[i]`` are equal word for word."""
        width = words.shape[1]
        for index in range(left.shape[0]):
            first = left[index]
            second = right[index]
            same = True
            for word in range(width):
                if words[first, word] != words[second, word]:
                    same = False
                    break
            out[index] = same

    @njit(nogil=True, cache=True, boundscheck=False)
    def minhash_bins_compiled(
        words: np.ndarray, word_index: np.ndarray, bit_index: np.ndarray, bins: int, width: int, out: np.ndarray
    ) -> None:
        """One-permutation MinHash: per record and bin, the first set bit among the bin's positions.

        Bin ``b`` covers permuted positions ``b·width … b·width + width - 1``; position ``p`` is bit
        ``bit_index[p]`` of word ``word_index[p]``. An empty bin gets ``width``.
        """
        one = np.uint64(1)
        for record in range(words.shape[0]):
            for bin_number in range(bins):
                first = width
                base = bin_number * width
                for offset in range(width):
                    position = base + offset
                    if (words[record, word_index[position]] >> bit_index[position]) & one:
                        first = offset
                        break
                out[record, bin_number] = first

    __all__ += [
        "popcount64",
        "dice_all_to_all_compiled",
        "dice_pairs_compiled",
        "identical_pairs_compiled",
        "minhash_bins_compiled",
    ]
