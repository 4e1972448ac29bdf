"""Compiled Dice kernels (numba), the fast path next to the numpy code in :mod:`dalink.match.compare`.

numba is an optional extra (``pip install 'dalink[fast]'``). Without it every function here
is absent (``AVAILABLE`` is False) and :mod:`dalink.match.compare` uses its vectorised numpy
path, which gives the same numbers: the tests check both against the bit-by-bit reference.

Why compiled: the numpy path gathers both rows of every pair into temporary arrays, ANDs them,
counts bits per ``uint64`` word and sums - four passes over memory per field. The compiled
loop reads each word once and counts with the CPU's popcount (LLVM ``ctpop``, vectorised to
AVX2 byte shuffles where the CPU has them), with no temporaries, and releases the GIL.

Compilation happens on first use (a second or two) and is cached next to this module when
the directory is writable.
"""

from __future__ import annotations

import logging
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

__all__ = ["AVAILABLE", "Backend", "use_compiled"]


def use_compiled(backend: Backend) -> bool:
    """Whether to run the compiled kernel for ``backend`` (``compiled`` without numba is an error)."""
    if backend == "compiled" and not AVAILABLE:
        raise ImportError("the compiled kernels need numba: pip install 'dalink[fast]'")
    return backend == "compiled" or (backend == "auto" and AVAILABLE)

if AVAILABLE:

    @intrinsic
    def _popcount64(typing_context, value):  # type: ignore[no-untyped-def]
        """LLVM's ``ctpop`` on one ``uint64`` word (the CPU's popcount instruction)."""
        if value != types.uint64:
            return None

        def codegen(context, builder, signature, arguments):  # type: ignore[no-untyped-def]
            function = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
            return builder.call(function, arguments)

        return types.uint64(types.uint64), codegen

    @njit(nogil=True, cache=True, boundscheck=False)
    def dice_pairs_compiled(
        words: np.ndarray, popcounts: np.ndarray, left: np.ndarray, right: np.ndarray, out: np.ndarray
    ) -> None:
        """``out[i]`` = Dice of rows ``left[i]`` and ``right[i]`` of ``words`` (0 when both are empty)."""
        width = words.shape[1]
        for index in range(left.shape[0]):
            first = left[index]
            second = right[index]
            shared = 0
            for word in range(width):
                shared += _popcount64(words[first, word] & words[second, word])
            total = popcounts[first] + popcounts[second]
            out[index] = 2.0 * shared / total if total > 0 else 0.0

    @njit(nogil=True, cache=True, boundscheck=False)
    def dice_all_to_all_compiled(
        first: np.ndarray, second: np.ndarray, first_counts: np.ndarray, second_counts: np.ndarray, out: np.ndarray
    ) -> None:
        """``out[i, j]`` = Dice of ``first[i]`` and ``second[j]``."""
        width = first.shape[1]
        for row in range(first.shape[0]):
            for column in range(second.shape[0]):
                shared = 0
                for word in range(width):
                    shared += _popcount64(first[row, word] & second[column, word])
                total = first_counts[row] + second_counts[column]
                out[row, column] = 2.0 * shared / total if total > 0 else 0.0

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
        "dice_all_to_all_compiled",
        "dice_pairs_compiled",
        "identical_pairs_compiled",
        "minhash_bins_compiled",
    ]
