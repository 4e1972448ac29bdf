"""Linkage speed: the Dice kernel, and ``link`` end to end with peak memory, at growing sizes.

    python benchmarks/bench_link_speed.py                 # kernel + 10k and 100k records
    python benchmarks/bench_link_speed.py --sizes 10000 100000 1000000
    python benchmarks/bench_link_speed.py --smoke         # seconds (CI)

The kernel is timed on random 1024-bit filters in two settings, each against anonlink's
``dice_coefficient_accelerated`` on the same filters when anonlink is installed: (1) the
candidate pairs of a blocking scheme, the linker's actual work (anonlink: one call per block);
(2) one all-to-all comparison, anonlink's home ground. Single thread throughout; the best of
three runs is printed because the machine may be shared. End-to-end runs happen in a fresh subprocess per size so the peak
memory printed (max RSS) belongs to that size alone; encoding is not included in the time.
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
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _random_filters(generator: np.random.Generator, count: int, bits: int = 1024) -> np.ndarray:
    """Packed random filters whose density varies by row (as values of different lengths do)."""
    density = generator.uniform(0.08, 0.3, size=(count, 1))
    return np.packbits(generator.random((count, bits)) < density, axis=1, bitorder="little").view(np.uint64)


def _bitarrays(words: np.ndarray) -> list:
    from bitarray import bitarray  # type: ignore[import-not-found]

    arrays = []
    for row in words:
        array = bitarray(endian="little")
        array.frombytes(row.tobytes())
        arrays.append(array)
    return arrays


def _best_rate(comparisons: int, run, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Comparisons per second of the fastest of ``repeats`` runs (the machine is shared)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return comparisons / best


def kernel(smoke: bool) -> None:
    """Dice comparisons per second on 1024-bit filters: dalink's kernels against anonlink's."""
    from dalink.match import kernels as compiled
    from dalink.match.compare import dice_all_to_all, dice_pairs
    from dalink.match.load import FieldFilters, popcount_rows

    generator = np.random.default_rng(0)
    try:
        from anonlink.similarities import dice_coefficient_accelerated  # type: ignore[import-not-found]
    except ImportError:
        dice_coefficient_accelerated = None
    backends = ["compiled", "numpy"] if compiled.AVAILABLE else ["numpy"]
    if not compiled.AVAILABLE:
        print("  (numba not installed: compiled kernel skipped; pip install 'dalink[fast]')")

    # 1. The linker's work: Dice of the candidate pairs that blocking produced. Two parties,
    #    records spread over blocks of uneven size; every (a, b) pair within a block is scored.
    #    anonlink scores a block with one all-to-all call (threshold 0: every score is kept, as
    #    the linker's EM needs all of them); dalink scores the same pairs from one pair list.
    per_party = 2_000 if smoke else 20_000
    words = _random_filters(generator, 2 * per_party)
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
        f"Dice kernel, 1024-bit filters, single thread. (1) blocked pairs: {pairs:,} pairs in {len(members):,} blocks "
        f"of {int(sizes.min())}-{int(sizes.max())} records (mean {sizes.mean():.1f}), two parties of {per_party:,}"
    )
    rates = {}
    for backend in backends:
        dice_pairs(filters, left[:100], right[:100], backend=backend)  # compile / warm up
        rates[backend] = _best_rate(pairs, lambda backend=backend: dice_pairs(filters, left, right, backend=backend))
        print(f"  dalink dice_pairs ({backend:<8})             {rates[backend] / 1e6:10.1f} M comparisons/s")
    if dice_coefficient_accelerated is None:
        print("  anonlink dice_coefficient_accelerated   not installed (pip install anonlink to compare)")
    else:
        arrays = _bitarrays(words)
        block_arrays = [([arrays[i] for i in first], [arrays[i] for i in second]) for first, second in members]

        def anonlink_blocks() -> None:
            for first, second in block_arrays:
                dice_coefficient_accelerated((first, second), threshold=0.0)

        theirs = _best_rate(pairs, anonlink_blocks)
        ours = max(rates.values())
        print(f"  anonlink dice_coefficient_accelerated   {theirs / 1e6:10.1f} M comparisons/s  (one call per block)")
        print(f"  ratio dalink / anonlink                 {ours / theirs:10.2f}x")

    # 2. anonlink's home ground: one all-to-all comparison of two sets of filters. anonlink
    #    runs with threshold 0.8 so that reporting pairs costs it nothing: this is its raw
    #    popcount kernel against dalink's.
    count = 1_000 if smoke else 4_000
    first_words, second_words = words[:count], words[per_party : per_party + count]
    print(f"  (2) all-to-all: {count:,} x {count:,} filters")
    all_rates = {}
    for backend in backends:
        dice_all_to_all(first_words[:2], second_words[:2], backend=backend)
        all_rates[backend] = _best_rate(
            count * count, lambda backend=backend: dice_all_to_all(first_words, second_words, backend=backend)
        )
        print(f"  dalink dice_all_to_all ({backend:<8})        {all_rates[backend] / 1e6:10.1f} M comparisons/s")
    if dice_coefficient_accelerated is not None:
        first_arrays, second_arrays = _bitarrays(first_words), _bitarrays(second_words)
        theirs = _best_rate(
            count * count, lambda: dice_coefficient_accelerated((first_arrays, second_arrays), threshold=0.8)
        )
        print(f"  anonlink dice_coefficient_accelerated   {theirs / 1e6:10.1f} M comparisons/s  (threshold 0.8)")
        print(f"  ratio dalink / anonlink                 {max(all_rates.values()) / theirs:10.2f}x")


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
    arguments, rest = parser.parse_known_args(argv)
    if rest and rest[0] == "--child-link":
        print(json.dumps(link_in_this_process(rest[1:])))
        return 0
    kernel(arguments.smoke)
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
