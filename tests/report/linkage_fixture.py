"""Test helpers: synthetic events with known persons, and linkage directories built from them.

A linkage directory normally comes from ``dalink link``; these helpers write one straight from
the truth (``entity_id`` = person) with a controlled amount of linkage error, so report tests
run in milliseconds and know exactly what the right answer is. Invented data only.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pandas as pd

AGENCIES = ("police", "marac", "refuge", "idva", "housing")
EVENT_TYPE = {
    "police": "incident",
    "marac": "marac_referral",
    "refuge": "refuge_referral",
    "idva": "idva_referral",
    "housing": "homelessness_presentation",
}
LOCAL_AUTHORITIES = ("E07000192", "E07000193", "E07000194", "E07000195", "E07000196", "E06000021")


def make_events(people: int = 600, seed: int = 0) -> pd.DataFrame:
    """Events of ``people`` invented persons (``person_id``) across five agencies.

    Most persons are victims with one to eight events over two years, some in a second local
    authority; a fifth are perpetrators seen by the police only.
    """
    generator = np.random.default_rng(seed)
    rows = []
    start = datetime.date(2022, 1, 1)
    for person in range(people):
        perpetrator = generator.random() < 0.2
        home = LOCAL_AUTHORITIES[int(generator.integers(len(LOCAL_AUTHORITIES) - 1))]
        elsewhere = LOCAL_AUTHORITIES[int(generator.integers(len(LOCAL_AUTHORITIES)))]
        day = int(generator.integers(0, 500))
        for number in range(int(generator.integers(1, 4 if perpetrator else 9))):
            agency = "police" if perpetrator else AGENCIES[int(generator.choice(5, p=[0.4, 0.2, 0.1, 0.2, 0.1]))]
            day += int(generator.choice([0, 3, 10, 20, 40, 90, 200, 400]))
            local_authority = elsewhere if generator.random() < 0.25 else home
            if agency == "refuge" and generator.random() < 0.7:
                local_authority = elsewhere
            rows.append(
                {
                    "person_id": f"person{person:05d}",
                    "agency": agency,
                    "record_id": f"{agency[:2].upper()}{person:05d}{number}",
                    "event_date": (start + datetime.timedelta(days=day)).isoformat(),
                    "event_type": EVENT_TYPE[agency],
                    "local_authority": "" if generator.random() < 0.02 else local_authority,
                    "role": "perpetrator" if perpetrator else "victim",
                    "risk_level": str(generator.choice(["standard", "medium", "high"])),
                    "referring_agency": "",
                }
            )
    return pd.DataFrame(rows)


def write_linkage(
    directory: Path,
    events: pd.DataFrame,
    *,
    split_rate: float = 0.0,
    merge_rate: float = 0.0,
    seed: int = 0,
    blocking_recall: float = 0.995,
) -> Path:
    """Write ``entities.parquet``, ``pairs.parquet``, ``summary.json`` and ``model.json``.

    ``entity_id`` is the person, except that a ``split_rate`` share of multi-record persons
    lose their last record to a new entity (a missed link, scored just below the threshold)
    and a ``merge_rate`` share of persons are merged with another person (a false link, scored
    just above it). Within-person pairs score near 1; random near misses score low.
    """
    generator = np.random.default_rng(seed)
    frame = events.reset_index(drop=True).copy()
    entity = frame["person_id"].astype(str).to_numpy(dtype=object).copy()
    pairs: list[dict] = []

    def pair(first: int, second: int, probability: float) -> None:
        pairs.append(
            {
                "agency_l": frame.at[first, "agency"],
                "record_id_l": frame.at[first, "record_id"],
                "agency_r": frame.at[second, "agency"],
                "record_id_r": frame.at[second, "record_id"],
                "match_weight": float(np.log2(probability / (1 - probability))),
                "match_probability": probability,
            }
        )

    groups = list(frame.groupby("person_id").indices.values())
    for members in groups:
        members = list(members)
        if len(members) > 1 and generator.random() < split_rate:
            last = members.pop()
            entity[last] = f"{entity[last]}-split"
            pair(members[-1], last, float(generator.uniform(0.1, 0.45)))
        for first, second in zip(members[:-1], members[1:]):
            pair(first, second, float(1 - 10 ** generator.uniform(-6, -2)))
    persons = len(groups)
    for index, members in enumerate(groups):
        if generator.random() < merge_rate:
            other = groups[int(generator.integers(persons))]
            if other[0] == members[0]:
                continue
            entity[list(other)] = entity[members[0]]
            pair(members[0], other[0], float(generator.uniform(0.55, 0.9)))
    for _ in range(len(frame) // 3):
        first, second = generator.integers(len(frame), size=2)
        if first != second and frame.at[first, "person_id"] != frame.at[second, "person_id"]:
            pair(int(first), int(second), float(10 ** generator.uniform(-2, -0.7)))
    frame.insert(2, "entity_id", entity)
    entities = frame.drop(columns=["person_id"])
    pair_frame = pd.DataFrame(pairs)
    same = entities.set_index(["agency", "record_id"])["entity_id"]
    pair_frame["same_entity"] = (
        same.reindex(pd.MultiIndex.from_frame(pair_frame[["agency_l", "record_id_l"]])).to_numpy()
        == same.reindex(pd.MultiIndex.from_frame(pair_frame[["agency_r", "record_id_r"]])).to_numpy()
    )
    directory.mkdir(parents=True, exist_ok=True)
    entities.to_parquet(directory / "entities.parquet", index=False)
    pair_frame.to_parquet(directory / "pairs.parquet", index=False)
    linked = pair_frame["match_probability"] >= 0.5
    probability = pair_frame["match_probability"]
    summary = {
        "format": "dalink-linkage-summary",
        "format_version": 1,
        "agencies": {str(k): int(v) for k, v in entities["agency"].value_counts().items()},
        "records": len(entities),
        "entities": int(entities["entity_id"].nunique()),
        "links": int(linked.sum()),
        "match_threshold": 0.5,
        "blocking": {"estimated_recall": blocking_recall},
        "estimated_quality": {
            "expected_matching_pairs": float(probability.sum()),
            "precision": float(probability[linked].mean()),
            "recall": float(probability[linked].sum() / probability.sum() * blocking_recall),
        },
    }
    (directory / "summary.json").write_text(json.dumps(summary, indent=2))
    (directory / "model.json").write_text(json.dumps({"format": "test-fixture"}))
    return directory
