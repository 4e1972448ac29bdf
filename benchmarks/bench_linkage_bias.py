"""Is linkage equally good for everyone? Pairwise quality by sex, age band and name group.

    python benchmarks/bench_linkage_bias.py                # 20,000 people (~45,000 records)
    python benchmarks/bench_linkage_bias.py --smoke        # seconds (CI)

The report cannot show match rates by sex and age band, because those are identifiers the
linker only holds encoded (see docs/report.md). On synthetic data the truth knows them, so
this benchmark shows what the report cannot: recall and precision of dalink's linkage for
each group of people, and the share of each group's records linked to another record,
against the true share. A group with lower recall is undercounted as repeat victims.

Pairs are the same-person record pairs (truth) and same-entity record pairs (dalink); a pair
counts for a group when its records belong to a person of that group (for false pairs, the
person of the first record).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report_pipeline import linked_partnership  # noqa: E402

from dalink.synth import synthesise  # noqa: E402

AGE_BANDS = (0, 25, 35, 45, 55, 200)
AGE_LABELS = ("under 25", "25-34", "35-44", "45-54", "55 and over")


def _pairs(records: pd.DataFrame, group: str) -> pd.DataFrame:
    """Every unordered pair of record indices sharing ``group`` (self-join per group)."""
    frame = records[["index", group]]
    joined = frame.merge(frame, on=group, suffixes=("_left", "_right"))
    return joined.loc[joined["index_left"] < joined["index_right"], ["index_left", "index_right"]]


def group_quality(records: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Recall, precision, F1 and match rates of one dimension's groups."""
    true_pairs = _pairs(records, "person_id")
    found_pairs = _pairs(records, "entity_id")
    true_keys = set(zip(true_pairs["index_left"], true_pairs["index_right"]))
    found_keys = set(zip(found_pairs["index_left"], found_pairs["index_right"]))
    group_of = records[dimension].to_numpy()
    rows = []
    order = {label: position for position, label in enumerate(AGE_LABELS)}
    for group in sorted(records[dimension].dropna().unique(), key=lambda value: (order.get(value, len(order)), str(value))):
        true_group = {pair for pair in true_keys if group_of[pair[0]] == group}
        found_group = {pair for pair in found_keys if group_of[pair[0]] == group}
        hits = len(true_group & found_group)
        recall = hits / len(true_group) if true_group else float("nan")
        precision = hits / len(found_group) if found_group else float("nan")
        members = records[records[dimension] == group]
        rows.append(
            {
                dimension: group,
                "records": len(members),
                "true pairs": len(true_group),
                "recall": recall,
                "precision": precision,
                "F1": 2 * recall * precision / (recall + precision) if recall + precision else float("nan"),
                "linked (truth)": float((members.groupby("person_id")["index"].transform("size") > 1).mean()),
                "linked (dalink)": float((members.groupby("entity_id")["index"].transform("size") > 1).mean()),
            }
        )
    return pd.DataFrame(rows)


def run(people: int, seed: int, work_dir: Path) -> dict[str, pd.DataFrame]:
    started = time.perf_counter()
    linked = linked_partnership(work_dir, people=people, seed=seed)
    persons = synthesise(people=people, seed=seed).people
    entities = pd.read_parquet(linked.linkage_dir / "entities.parquet")
    truth = pd.read_csv(linked.linkage_dir.parent / "truth.csv", dtype={"record_id": str})
    records = entities[["agency", "record_id", "entity_id", "event_date"]].merge(
        truth, on=["agency", "record_id"], how="inner", validate="one_to_one"
    )
    records = records.merge(
        persons[["person_id", "sex", "date_of_birth", "name_group"]], on="person_id", how="left", validate="many_to_one"
    )
    birth = pd.to_datetime(records["date_of_birth"], errors="coerce")
    event = pd.to_datetime(records["event_date"], errors="coerce")
    age = (event - birth).dt.days / 365.25
    records["age band"] = pd.cut(age, bins=AGE_BANDS, labels=AGE_LABELS, right=False).astype(str)
    records["sex"] = records["sex"].fillna("unknown")
    records = records.reset_index(drop=True)
    records["index"] = np.arange(len(records))
    print(f"{len(records):,} records of {records['person_id'].nunique():,} people, "
          f"synthesised, encoded and linked in {time.perf_counter() - started:.0f} s\n")
    return {dimension: group_quality(records, dimension) for dimension in ("sex", "age band", "name_group")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="600 people, seconds")
    arguments = parser.parse_args(argv)
    people = 600 if arguments.smoke else arguments.people
    print(f"dalink linkage quality by group ({datetime.date.today()}, {people:,} synthetic people, seed {arguments.seed})")
    with tempfile.TemporaryDirectory() as directory:
        tables = run(people, arguments.seed, Path(directory))
    with pd.option_context("display.width", 140, "display.float_format", "{:.4f}".format):
        for dimension, table in tables.items():
            print(f"by {dimension}:")
            print(table.to_string(index=False))
            spread = table["recall"].max() - table["recall"].min()
            print(f"  recall spread across groups: {spread:.4f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
