"""Linkage speed: the Dice kernel, and ``link`` end to end with peak memory, at growing sizes.

    python benchmarks/bench_link_speed.py                 # kernel + 10k and 100k records
    python benchmarks/bench_link_speed.py --sizes 10000 100000 1000000
    python benchmarks/bench_link_speed.py --kernel-only --repeats 5
    python benchmarks/bench_link_speed.py --smoke         # seconds (CI)

The kernel is timed on random 1024-bit filters in two settings, each against anonlink's
``dice_coefficient_accelerated`` on the same filters when anonlink is installed: (1) the
candidate pairs of a blocking scheme, the linker's actual work (anonlink: one call per block,
threshold 0 because the linker's EM needs every score); (2) one all-to-all search for the pairs
with Dice >= 0.8, anonlink's home ground, where both tools get the same threshold, both skip
pairs their popcounts rule out, and the outputs (pairs and float64 scores) are checked to be
identical. Comparisons are counted as the pairs evaluated logically (n x m in setting 2) for
both tools. anonlink is single-threaded; dalink is printed with one thread and with every CPU.
Each figure is the best of ``--repeats`` runs, with the slowest in brackets; the tools take turns
run by run so that load from other processes falls on all of them (the machine may be shared),
and the single-thread ratio is also given on CPU time, which leaves out time spent waiting for a
CPU someone else holds. End-to-end runs happen in a fresh subprocess per size so the peak memory printed (max
RSS) belongs to that size alone; encoding is not included in the time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _random_filters(generator: np.random.Generator, count: int, bits: int = 1024) -> np.ndarray:
    """Packed random filters whose density varies by row (as values of different lengths do)."""
    density = generator.uniform(0.08, 0.3, size=(count, 1))
    return np.packbits(generator.random((count, bits)) < density, axis=1, bitorder="little").view(np.uint64)


def _noisy_copies(generator: np.random.Generator, words: np.ndarray, flips: int = 12) -> np.ndarray:
    """Copies of ``words`` with ``flips`` random bits flipped each: true matches for the search."""
    copies = words.copy()
    bits = words.shape[1] * 64
    for row in range(len(copies)):
        for position in generator.choice(bits, size=flips, replace=False):
            copies[row, position // 64] ^= np.uint64(1) << np.uint64(position % 64)
    return copies


def _bitarrays(words: np.ndarray) -> list:
    from bitarray import bitarray  # type: ignore[import-not-found]

    arrays = []
    for row in words:
        array = bitarray(endian="little")
        array.frombytes(row.tobytes())
        arrays.append(array)
    return arrays


@dataclass
class Contender:
    """One timed implementation: ``run`` does ``comparisons`` Dice comparisons."""

    label: str
    comparisons: int
    run: Callable[[], object]
    note: str = ""
    repeats: int | None = None  # None: the benchmark's --repeats
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # this thread's CPU time

    def line(self) -> float:
        """Print the best rate and the slowest; return the best."""
        best, worst = self.comparisons / min(self.seconds), self.comparisons / max(self.seconds)
        print(f"  {self.label:<52} {best / 1e6:9.1f} M comparisons/s  (slowest {worst / 1e6:7.1f}){self.note}")
        return best

    @property
    def best_cpu_rate(self) -> float:
        return self.comparisons / max(min(self.cpu_seconds), 1e-9)


def _race(contenders: list[Contender], repeats: int) -> None:
    """Time every contender ``repeats`` times, taking turns, so that they all see the same load.

    The machine is shared: run one tool's repeats back to back and the other's later, and a
    burst of someone else's work lands on one of them only. Taking turns spreads it. The CPU
    time of this thread is kept too: for single-threaded runs it leaves out the time spent
    waiting for a CPU that someone else holds.
    """
    for round_number in range(repeats):
        for contender in contenders:
            if round_number < (contender.repeats or repeats):
                started, started_cpu = time.perf_counter(), time.thread_time()
                contender.run()
                contender.cpu_seconds.append(time.thread_time() - started_cpu)
                contender.seconds.append(time.perf_counter() - started)


def _ratios(thread_counts: list[int], ours: list[Contender], theirs: Contender, note: str = "") -> None:
    """dalink / anonlink on wall time; for one thread also on CPU time (robust to a busy machine)."""
    for threads, contender in zip(thread_counts, ours):
        ratio = min(theirs.seconds) / min(contender.seconds) * contender.comparisons / theirs.comparisons
        extra = ""
        if threads == 1:
            extra = f"  (on CPU time: {contender.best_cpu_rate / theirs.best_cpu_rate:.2f}x)"
        print(f"  {f'ratio dalink ({_threads_label(threads)}) / anonlink':<52} {ratio:9.2f}x{extra}{note}")


def _popcount_instruction() -> str:
    """Which popcount instruction the compiled threshold kernel uses (read from its machine code)."""
    from numba import njit

    from dalink.match import threshold_search

    cached = threshold_search._dice_above_threshold_rows
    if not cached.signatures:
        return "not compiled"
    # Code loaded from numba's cache cannot be inspected: compile the same function afresh.
    search = njit(nogil=True, boundscheck=False)(cached.py_func)
    search.compile(cached.signatures[0])
    assembly = search.inspect_asm(cached.signatures[0]).lower()
    if "vpopcntq" in assembly:
        return "vpopcntq (AVX-512 vector popcount)"
    if "popcnt" in assembly:
        return "popcnt (scalar hardware popcount)"
    return "no popcount instruction (byte-table or shuffle code)"


def _threads_label(threads: int) -> str:
    return f"{threads} thread{'s' if threads > 1 else ''}"


def kernel(smoke: bool, repeats: int = 3) -> None:
    """Dice comparisons per second on 1024-bit filters: dalink's kernels against anonlink's."""
    from dalink.match import kernels

    try:
        from anonlink.similarities import dice_coefficient_accelerated  # type: ignore[import-not-found]
    except ImportError:
        dice_coefficient_accelerated = None
    cpus = kernels.available_threads()
    thread_counts = sorted({1, cpus}) if kernels.AVAILABLE else []
    print(
        f"Dice kernel, 1024-bit filters; {cpus} CPUs available (shared machine); best of {repeats} runs, slowest"
        f" in brackets; anonlink {'is' if dice_coefficient_accelerated else 'would be'} single-threaded."
    )
    if not kernels.AVAILABLE:
        print("  (numba not installed: compiled kernel skipped; pip install 'dalink[fast]')")
    generator = np.random.default_rng(0)
    per_party = 2_000 if smoke else 20_000
    words = _random_filters(generator, 2 * per_party)
    _blocked_pairs(generator, words, per_party, thread_counts, dice_coefficient_accelerated, repeats)
    _all_to_all_search(generator, words, per_party, smoke, thread_counts, dice_coefficient_accelerated, repeats)


def _blocked_pairs(  # type: ignore[no-untyped-def]
    generator, words, per_party, thread_counts, anonlink_dice, repeats
) -> None:
    """(1) The linker's work: Dice of the candidate pairs that blocking produced.

    Two parties, records spread over blocks of uneven size; every (a, b) pair within a block
    is scored. anonlink scores a block with one all-to-all call (threshold 0: every score is
    kept, as the linker's EM needs all of them); dalink scores the same pairs from one list.
    """
    from dalink.match import kernels
    from dalink.match.compare import dice_pairs
    from dalink.match.load import FieldFilters, popcount_rows

    filters = FieldFilters("bench", words, np.ones(len(words), dtype=bool), popcount_rows(words))
    block_count = per_party // 4
    weights = 1.0 / np.arange(1, block_count + 1) ** 0.6
    blocks = generator.choice(block_count, size=2 * per_party, p=weights / weights.sum())
    first_party = np.arange(per_party)
    second_party = np.arange(per_party, 2 * per_party)
    members = [
        (first_party[blocks[:per_party] == block], second_party[blocks[per_party:] == block])
        for block in range(block_count)
    ]
    members = [(first, second) for first, second in members if len(first) and len(second)]
    left = np.concatenate([np.repeat(first, len(second)) for first, second in members]).astype(np.int32)
    right = np.concatenate([np.tile(second, len(first)) for first, second in members]).astype(np.int32)
    pairs = len(left)
    sizes = np.array([len(first) + len(second) for first, second in members])
    print(
        f"(1) blocked pairs: {pairs:,} pairs in {len(members):,} blocks of {int(sizes.min())}-{int(sizes.max())}"
        f" records (mean {sizes.mean():.1f}), two parties of {per_party:,}; every score kept"
    )
    scores = np.empty(pairs, dtype=np.float32)
    contenders = []
    for threads in thread_counts:
        kernels.dice_pairs_compiled(words, filters.popcounts, left[:100], right[:100], scores, threads=1)  # compile

        def run(threads: int = threads) -> None:
            kernels.dice_pairs_compiled(words, filters.popcounts, left, right, scores, threads=threads)

        contenders.append(Contender(f"dalink dice_pairs (compiled, {_threads_label(threads)})", pairs, run))
    numpy_path = lambda: dice_pairs(filters, left, right, backend="numpy")  # noqa: E731
    contenders.append(Contender("dalink dice_pairs (numpy, 1 thread)", pairs, numpy_path))
    if anonlink_dice is not None:
        arrays = _bitarrays(words)
        block_arrays = [([arrays[i] for i in first], [arrays[i] for i in second]) for first, second in members]

        def anonlink_blocks() -> None:
            for first, second in block_arrays:
                anonlink_dice((first, second), threshold=0.0)

        label = "anonlink dice_coefficient_accelerated"
        contenders.append(Contender(label, pairs, anonlink_blocks, "  (one call per block)"))
    _race(contenders, repeats)
    for contender in contenders:
        contender.line()
    if anonlink_dice is None:
        print("  anonlink dice_coefficient_accelerated: not installed (pip install anonlink to compare)")
        return
    _ratios(thread_counts, contenders[: len(thread_counts)], contenders[-1])


def _all_to_all_search(  # type: ignore[no-untyped-def]
    generator, words, per_party, smoke, thread_counts, anonlink_dice, repeats
) -> None:
    """(2) anonlink's home ground: one all-to-all search for the pairs with Dice >= 0.8.

    Both tools get the same threshold and both skip pairs whose popcounts rule them out
    (anonlink: ``|a| - |b|`` at most ``2|a|(1/t - 1)``; dalink: ``min(|a|, |b|)`` short of the
    shared bits the threshold needs, a tighter bound when ``|b| < |a|``). A quarter of the
    second set are noisy copies of rows of the first, so there are true matches to find, and
    the outputs are compared pair for pair, score for score.
    """
    from dalink.match import kernels, threshold_search
    from dalink.match.load import popcount_rows

    threshold = 0.8
    count = 1_000 if smoke else 4_000
    first_words = np.ascontiguousarray(words[:count])
    second_words = np.ascontiguousarray(words[per_party : per_party + count])
    planted = generator.choice(count, size=count // 4, replace=False)
    second_words[planted] = _noisy_copies(generator, first_words[generator.permutation(count)[: count // 4]])
    logical = count * count
    print(
        f"(2) all-to-all search for Dice >= {threshold}: {count:,} x {count:,} filters, {count // 4:,} of them planted"
        f" near-copies; comparisons counted as {count:,} x {count:,} = {logical:,} for both tools (pairs evaluated"
        " logically), though both skip pairs whose popcounts rule them out"
    )
    found: dict[int, object] = {}
    contenders = []
    for threads in thread_counts:
        threshold_search.dice_above_threshold(first_words[:4], second_words[:4], threshold, threads=1)  # compile

        def run(threads: int = threads) -> None:
            found[threads] = threshold_search.dice_above_threshold(
                first_words, second_words, threshold, backend="compiled", threads=threads
            )

        contenders.append(Contender(f"dalink dice_above_threshold (compiled, {_threads_label(threads)})", logical, run))
    reference_rows = min(count, 1_000)  # the numpy reference is slow: time it once, on a slice
    reference: list = []

    def run_reference() -> None:
        part = first_words[:reference_rows]
        reference.append(threshold_search.dice_above_threshold(part, second_words, threshold, backend="numpy"))

    label, note = "dalink dice_above_threshold (numpy, 1 thread)", f"  (one run, {reference_rows:,} x {count:,})"
    contenders.append(Contender(label, reference_rows * count, run_reference, note, repeats=1))
    first_counts, second_counts = popcount_rows(first_words), popcount_rows(second_words)
    matrix = np.empty((count, count), dtype=np.float32)
    for threads in thread_counts:  # the kernel without threshold or bound: every one of the n x m scores

        def dense(threads: int = threads) -> None:
            kernels.dice_all_to_all_compiled(
                first_words, second_words, first_counts, second_counts, matrix, threads=threads
            )

        label = f"dalink dice_all_to_all (compiled, {_threads_label(threads)})"
        contenders.append(Contender(label, logical, dense, "  (every score, no bound; for scale)"))
    result: list = []
    if anonlink_dice is not None:
        first_arrays, second_arrays = _bitarrays(first_words), _bitarrays(second_words)

        def run_anonlink() -> None:
            result.append(anonlink_dice((first_arrays, second_arrays), threshold=threshold))

        note = f"  (threshold {threshold}, k=None)"
        contenders.append(Contender("anonlink dice_coefficient_accelerated", logical, run_anonlink, note))
    _race(contenders, repeats)
    for contender in contenders:
        contender.line()
    if kernels.AVAILABLE:
        _bound_statistics(first_counts, second_counts, first_words.shape[1] * 64, threshold)
        print(f"  dalink compiled popcount instruction: {_popcount_instruction()}")
        for threads in thread_counts[1:]:
            assert _same_pairs(found[threads], found[1]), "the thread count changed the result"
    if anonlink_dice is None:
        return
    scores, (first_index, second_index) = result[-1]
    theirs = threshold_search.ScoredPairs(np.asarray(scores), np.asarray(first_index), np.asarray(second_index))
    within = theirs.first_index < reference_rows
    checks = {
        "numpy reference": _same_pairs(
            reference[-1], threshold_search.ScoredPairs(*(part[within] for part in vars(theirs).values()))
        )
    }
    for threads in thread_counts:
        checks[f"compiled, {_threads_label(threads)}"] = _same_pairs(found[threads], theirs)
    _ratios(thread_counts, contenders[: len(thread_counts)], contenders[-1])
    print(f"  outputs identical to anonlink's ({len(theirs):,} pairs, scores bit for bit): {checks}")
    if not all(checks.values()):
        raise SystemExit("dalink and anonlink found different pairs or scores")


def _bound_statistics(first_counts: np.ndarray, second_counts: np.ndarray, bits: int, threshold: float) -> None:
    """The share of the n x m pairs each tool's popcount bound leaves to compare."""
    from dalink.match.threshold_search import minimum_shared_bits

    first, second = first_counts.astype(np.int64)[:, None], second_counts.astype(np.int64)[None, :]
    need = minimum_shared_bits(bits, threshold)
    dalink_left = (np.minimum(first, second) >= need[first + second]).mean()
    anonlink_left = (np.abs(first - second) <= (2 * first * (1 / threshold - 1)).astype(np.int64)).mean()
    print(f"  pairs the popcount bound leaves to compare: dalink {dalink_left:.1%}, anonlink {anonlink_left:.1%}")


def _same_pairs(mine, theirs) -> bool:  # type: ignore[no-untyped-def]
    """Same pairs with bit-identical scores (pairs tied in score may be listed in either order)."""

    def canonical(found):  # type: ignore[no-untyped-def]
        order = np.lexsort((found.second_index, found.first_index, -found.scores))
        return found.scores[order], found.first_index[order], found.second_index[order]

    same = (np.array_equal(ours, their) for ours, their in zip(canonical(mine), canonical(theirs)))
    return len(mine) == len(theirs) and all(same)


def prepare(records: int, directory: Path) -> tuple[list[Path], pd.DataFrame, str]:
    """Synthetic extracts of about ``records`` records, encoded to one package per agency (not timed)."""
    sys.path.insert(0, str(HERE))
    from bench_link_quality import KEY, TODAY, synthetic

    from dalink.encode.encoder import encode_file

    extracts, truth, source = synthetic(records)
    paths = []
    for agency, frame in extracts.items():
        frame.to_csv(directory / f"{agency}.csv", index=False)
        encode_file(directory / f"{agency}.csv", directory / f"{agency}.dalink", agency=agency, key=KEY, today=TODAY)
        (directory / f"{agency}.csv").unlink()
        paths.append(directory / f"{agency}.dalink")
    return paths, truth, source


def link_in_this_process(arguments: list[str]) -> dict:
    """``dalink link`` (the CLI) in this process; wall time and this process's peak memory."""
    from dalink.cli import main as dalink_main

    started = time.perf_counter()
    try:
        dalink_main(["link", *arguments, "--quiet"], standalone_mode=False)
    finally:
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mib": peak / 1024}


def end_to_end(records: int) -> dict:
    """Synthesise and encode (untimed), then time ``dalink link`` in a fresh subprocess."""
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        paths, truth, source = prepare(records, directory)
        output = directory / "linkage"
        completed = subprocess.run(
            [sys.executable, __file__, "--child-link", *map(str, paths), "-o", str(output)],
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise RuntimeError(completed.stderr[-3000:])
        row = json.loads(completed.stdout.strip().splitlines()[-1])
        summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
        entities = pd.read_parquet(output / "entities.parquet", columns=["agency", "record_id", "entity_id"])
    truth_key = truth["agency"].astype(str) + ":" + truth["record_id"].astype(str)
    found = entities.assign(key=entities["agency"].astype(str) + ":" + entities["record_id"].astype(str))
    merged = found.merge(pd.DataFrame({"key": truth_key, "person": truth["person_id"].astype(str)}), on="key")
    row.update(
        records=summary["records"],
        pairs_compared=summary["pairs_compared"],
        entities=summary["entities"],
        timings=summary["timings_seconds"],
        source=source,
        f1=pairwise_f1(merged["entity_id"].to_numpy(), merged["person"].to_numpy()),
    )
    return row


def _pair_count(labels: np.ndarray) -> int:
    _, counts = np.unique(labels, return_counts=True)
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_f1(predicted: np.ndarray, true: np.ndarray) -> float:
    """Pairwise F1 of a clustering against the truth, from contingency counts (no pair lists)."""
    _, predicted_codes = np.unique(predicted, return_inverse=True)
    _, true_codes = np.unique(true, return_inverse=True)
    joint = predicted_codes.astype(np.int64) * (int(true_codes.max()) + 1) + true_codes
    both = _pair_count(joint)
    found, real = _pair_count(predicted_codes), _pair_count(true_codes)
    return 2 * both / (found + real) if found + real else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3, help="runs per kernel figure (best and slowest printed)")
    parser.add_argument("--kernel-only", action="store_true", help="skip the end-to-end runs")
    arguments, rest = parser.parse_known_args(argv)
    if rest and rest[0] == "--child-link":
        print(json.dumps(link_in_this_process(rest[1:])))
        return 0
    kernel(arguments.smoke, arguments.repeats)
    if arguments.kernel_only:
        return 0
    sizes = [2_000] if arguments.smoke else arguments.sizes
    print(f"\ndalink link end to end (CLI in a fresh process; synthesis and encoding not timed; {os.cpu_count()} CPUs, shared)")
    print(f"  {'records':>10} {'seconds':>9} {'peak MiB':>9} {'pairs compared':>15} {'entities':>9} {'F1':>7}  stages (s)")
    for size in sizes:
        row = end_to_end(size)
        stages = ", ".join(f"{name} {value:.1f}" for name, value in row["timings"].items())
        print(
            f"  {row['records']:>10,} {row['seconds']:9.2f} {row['peak_mib']:9.0f} {row['pairs_compared']:>15,}"
            f" {row['entities']:>9,} {row['f1']:7.4f}  {stages}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
