"""Speed of ``dalink synth`` and of the measures on its truth, with peak memory.

    python benchmarks/bench_synth.py                    # about 1,000,000 records
    python benchmarks/bench_synth.py --records 200000
    python benchmarks/bench_synth.py --smoke            # seconds (CI)

Requirement (issue 3): 1,000,000 records in under a minute on 2 cores. Generation, writing the
CSV files and computing the truth measures are timed separately; the measures time is what
each bootstrap replicate of ``dalink report`` costs on a partnership of that size. Peak memory
is the process's maximum resident set size (the run is one process per invocation).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

#: Records per simulated person with the default world (measured; used to size the run).
RECORDS_PER_PERSON = 2.28


def peak_memory_megabytes() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="Approximate records to generate.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="Skip writing the CSV files.")
    parser.add_argument("--smoke", action="store_true", help="A tiny run that finishes in seconds.")
    arguments = parser.parse_args()
    records_wanted = 5_000 if arguments.smoke else arguments.records
    people = max(10, round(records_wanted / RECORDS_PER_PERSON))

    from dalink.report.measures import compute_measures
    from dalink.synth import synthesise, write_partnership

    started = time.perf_counter()
    partnership = synthesise(people=people, seed=arguments.seed)
    synth_seconds = time.perf_counter() - started
    records = partnership.records
    memory_after_synth = peak_memory_megabytes()

    started = time.perf_counter()
    events = partnership.events()
    measures = compute_measures(events)
    measures_seconds = time.perf_counter() - started

    write_seconds = None
    if not arguments.no_write:
        with tempfile.TemporaryDirectory() as temporary:
            started = time.perf_counter()
            write_partnership(Path(temporary) / "data", partnership)
            write_seconds = time.perf_counter() - started

    print(f"dalink synth: {people:,} people -> {records:,} records ({records / people:.2f} per person)")
    print(f"  generate                 {synth_seconds:8.2f} s   {records / synth_seconds:12,.0f} records/s")
    if write_seconds is not None:
        print(
            f"  write CSV + truth measures {write_seconds:6.2f} s   "
            f"{records / write_seconds:12,.0f} records/s"
        )
        total = synth_seconds + write_seconds
        print(f"  total (what `dalink synth` does) {total:.2f} s  (requirement for 1M records: < 60 s)")
    print(f"  compute_measures on truth {measures_seconds:6.2f} s   ({len(events):,} events)")
    print(f"  peak memory (max RSS)    {peak_memory_megabytes():8.0f} MB (after generation {memory_after_synth:.0f} MB)")
    headline = measures.headline()
    print(
        f"  truth: victims {headline['victims']:,}, repeat rate {measures.repeat_rate:.1%}, "
        f"hidden repeats {headline['hidden_repeat_victims']:,}, movers {headline['movers']:,}, "
        f"duplicate referrals {headline['duplicate_referrals']:,}, "
        f"refuge referrals moved in {headline['refuge_referrals_moved_in']:,}"
    )


if __name__ == "__main__":
    main()
