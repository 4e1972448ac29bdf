"""Linkage speed: the Dice kernel, and ``link`` end to end with peak memory, at growing sizes.

    python benchmarks/bench_link_speed.py                 # kernel + 10k and 100k records
    python benchmarks/bench_link_speed.py --sizes 10000 100000 1000000
    python benchmarks/bench_link_speed.py --smoke         # seconds (CI)

The kernel is timed on random 1024-bit filters, pairwise (what the linker does after
blocking); anonlink's ``dice_coefficient_accelerated`` is timed on the same filters when
anonlink is installed. End-to-end runs happen in a fresh subprocess per size so the peak
memory printed (max RSS) belongs to that size alone; encoding is not included in the time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def kernel(pairs: int, records: int = 20_000) -> None:
    from dalink.match.compare import dice_pairs
    from dalink.match.load import FieldFilters, popcount_rows

    generator = np.random.default_rng(0)
    bits = (generator.random((records, 1024)) < 0.15).astype(np.uint8)
    words = np.packbits(bits, axis=1, bitorder="little").view(np.uint64)
    filters = FieldFilters("bench", words, np.ones(records, dtype=bool), popcount_rows(words))
    left = generator.integers(0, records, size=pairs)
    right = generator.integers(0, records, size=pairs)
    dice_pairs(filters, left[:1000], right[:1000])
    started = time.perf_counter()
    dice_pairs(filters, left, right)
    seconds = time.perf_counter() - started
    ours = pairs / seconds
    print(f"Dice kernel, 1024-bit filters, {pairs:,} pairs")
    print(f"  dalink dice_pairs (numpy popcount)      {ours / 1e6:10.1f} M comparisons/s")
    try:
        from anonlink.similarities import dice_coefficient_accelerated  # type: ignore[import-not-found]
        from bitarray import bitarray  # type: ignore[import-not-found]
    except ImportError:
        print("  anonlink dice_coefficient_accelerated   not installed (pip install anonlink to compare)")
        return
    count = min(records, 2000)
    filters_bitarray = []
    for row in bits[:count]:
        array = bitarray(endian="little")
        array.pack(row.astype(bool).tobytes())
        filters_bitarray.append(array)
    started = time.perf_counter()
    dice_coefficient_accelerated((filters_bitarray, filters_bitarray), threshold=0.0, k=count)
    theirs = count * count / (time.perf_counter() - started)
    print(f"  anonlink dice_coefficient_accelerated   {theirs / 1e6:10.1f} M comparisons/s  (ratio {ours / theirs:.2f}x)")


def end_to_end(records: int) -> dict:
    """Generate, encode and link ``records`` records in this process; return time and memory."""
    sys.path.insert(0, str(HERE))
    from bench_link_quality import KEY, TODAY, fallback_synthetic

    from dalink.encode.encoder import encode_file
    from dalink.match.linker import link

    extracts, _ = fallback_synthetic(records)
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        paths = []
        for agency, frame in extracts.items():
            frame.to_csv(directory / f"{agency}.csv", index=False)
            encode_file(directory / f"{agency}.csv", directory / f"{agency}.dalink", agency=agency, key=KEY, today=TODAY)
            paths.append(directory / f"{agency}.dalink")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = link(paths, directory / "linkage")
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "records": records,
        "seconds": seconds,
        "peak_mib": peak / 1024,
        "peak_before_link_mib": before / 1024,
        "pairs_compared": result.summary["pairs_compared"],
        "entities": result.summary["entities"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        print(json.dumps(end_to_end(arguments.child)))
        return 0
    kernel(200_000 if arguments.smoke else 20_000_000)
    sizes = [2_000] if arguments.smoke else arguments.sizes
    print("\nlink end to end (6 agencies, synthetic; encoding not timed)")
    print(f"  {'records':>10} {'seconds':>9} {'peak MiB':>9} {'pairs compared':>15} {'entities':>9}")
    for size in sizes:
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(size)], capture_output=True, text=True, check=True
        ).stdout
        row = json.loads(output.strip().splitlines()[-1])
        print(f"  {row['records']:>10,} {row['seconds']:9.2f} {row['peak_mib']:9.0f} {row['pairs_compared']:>15,} {row['entities']:>9,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
