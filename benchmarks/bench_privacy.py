"""Privacy against linkage quality, over hardening settings, on a synthetic partnership.

    python benchmarks/bench_privacy.py                      # ≥ 40,000 records, every setting
    python benchmarks/bench_privacy.py --smoke              # a tiny run (CI)
    python benchmarks/bench_privacy.py --settings unhardened,default --no-link
    python benchmarks/bench_privacy.py --attackers oracle --settings salt_year --json rows.json
    python benchmarks/bench_privacy.py --no-audit --json link.json   # linkage only, every setting

For each hardening setting (applied to the name fields; the other fields keep the default
schema's hardening unless the setting says otherwise) the synthetic partnership's extracts
are encoded under one key, pooled as the linker holds them, and attacked by ``dalink audit``
with two attackers: the *public* one (dalink's shipped reference tables) and the *oracle*
one (the synthetic generator's own name frequencies and the records' own birth-year
distribution — the best-informed attacker possible). Printed side by side: the
re-identification rate of each attack (records whose value the attack names correctly with
confidence ≥ 0.5), the per-field Dice separation (mean Dice of true-match pairs minus that of
random pairs: the linkage signal the hardening leaves) and the linkage F1 of ``dalink link``
against the truth (pairwise, records of one person). With ``--json`` the rows are written
after every setting. ``benchmarks/bench_privacy_curve.py`` turns the rows into the trade-off
curve and picks the default on it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dalink.audit import ReferenceFrequencies, audit_package, default_reference_frequencies
from dalink.encode.encoder import encode_file
from dalink.encode.package import read_package
from dalink.encode.schema import LinkageSchema, default_schema, parse_schema
from dalink.keys import PartnershipKey
from dalink.match.load import popcount
from dalink.synth import synthesise, write_partnership

KEY = PartnershipKey(bytes(range(90, 122)))
TODAY = datetime.date(2026, 1, 1)
NAME_FIELDS = ("given_name", "middle_name", "family_name")

FLIP = {"kind": "random_bit_flip", "probability": 0.02}
SALT_YEAR = {"kind": "salt", "source": "birth_year"}
SALT_DECADE = {"kind": "salt", "source": "birth_decade"}
BALANCE = {"kind": "balance"}
FOLD = {"kind": "xor_fold", "folds": 1}

#: name → hardening of the name fields (None: the default schema unchanged; "none": no hardening anywhere).
SETTINGS: dict[str, object] = {
    "unhardened": "none",
    "default": None,
    "flip_0.02": [FLIP],  # the v1 default (before 2026-12-03)
    "balance": [BALANCE, FLIP],
    "xor_fold": [FOLD, FLIP],
    "flip_0.04": [{"kind": "random_bit_flip", "probability": 0.04}],
    "flip_0.05": [{"kind": "random_bit_flip", "probability": 0.05}],
    "flip_0.06": [{"kind": "random_bit_flip", "probability": 0.06}],
    "flip_0.10": [{"kind": "random_bit_flip", "probability": 0.10}],
    "flip_0.15": [{"kind": "random_bit_flip", "probability": 0.15}],
    "flip_0.20": [{"kind": "random_bit_flip", "probability": 0.20}],
    "flip_0.25": [{"kind": "random_bit_flip", "probability": 0.25}],
    "flip_0.30": [{"kind": "random_bit_flip", "probability": 0.30}],
    "salt_year": [SALT_YEAR, FLIP],
    "salt_decade": [SALT_DECADE, FLIP],
    "salt_year_balance": [SALT_YEAR, BALANCE, FLIP],
    "salt_year_flip_0.05": [SALT_YEAR, {"kind": "random_bit_flip", "probability": 0.05}],
    "salt_year_flip_0.10": [SALT_YEAR, {"kind": "random_bit_flip", "probability": 0.10}],
    "salt_year_fold": [SALT_YEAR, FOLD, FLIP],
    "salt_decade_fold": [SALT_DECADE, FOLD, FLIP],
    "salt_sex_fold": [{"kind": "salt", "source": "sex"}, FOLD, FLIP],
    "xor_fold_flip_0.10": [FOLD, {"kind": "random_bit_flip", "probability": 0.10}],
}


def schema_for(setting: object) -> LinkageSchema:
    data = default_schema().model_dump(mode="json")
    data["name"] = "bench"
    for field in data["fields"]:
        if setting == "none":
            field["hardening"] = []
        elif setting is not None and field["name"] in NAME_FIELDS:
            field["hardening"] = setting
    return parse_schema(data)


def oracle_reference(people: pd.DataFrame) -> ReferenceFrequencies:
    """The generator's own name frequencies (every group, population-weighted) and the true
    birth-year distribution of the records.

    Birth years matter as much as names: salting by birth year spreads a name over the years
    the attacker expects, so an attacker who assumes national births by year (1940–2010,
    flat-ish) is weaker than one who knows that a domestic-abuse caseload is mostly aged 16–50.
    The best-informed attacker knows the caseload's age profile (published survey figures
    give it roughly), so the oracle takes it from the records themselves.
    """
    from dalink.synth.names import family_name_pools, given_name_pools, load_area

    area = load_area("hertfordshire")
    given_parts, family_parts = [], []
    for (group, sex), pool in given_name_pools().items():
        share = area.group_shares.get(group, 0.0) * 0.5
        given_parts.append(pd.DataFrame({"name": pool.names, "sex": sex, "weight": pool.probabilities * share}))
    for (group, sex), pool in family_name_pools().items():
        share = area.group_shares.get(group, 0.0) * 0.5
        family_parts.append(pd.DataFrame({"name": pool.names, "weight": pool.probabilities * share}))
    public = default_reference_frequencies()
    years = pd.to_datetime(people["date_of_birth"], errors="coerce").dt.year
    weights = people["records"].astype(float) if "records" in people.columns else pd.Series(1.0, index=people.index)
    birth_years = (
        pd.DataFrame({"year": years, "weight": weights}).dropna().astype({"year": int})
        .groupby("year", as_index=False)["weight"].sum()
    )
    birth_years = birth_years[birth_years["weight"] > 0]
    return ReferenceFrequencies(
        pd.concat(given_parts, ignore_index=True),
        pd.concat(family_parts, ignore_index=True),
        birth_years,
        public.sex,
        source="oracle: the synthetic generator's own name tables and the records' birth years",
    )


def truth_frame(directory: Path, agencies: list[str]) -> pd.DataFrame:
    parts = []
    for agency in agencies:
        frame = pd.read_csv(directory / f"{agency}.csv", dtype=str, keep_default_na=False)
        frame = frame.replace("", None)
        frame.insert(0, "agency", agency)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def pairwise_f1(entities: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    merged = entities.merge(truth, on=["agency", "record_id"])
    true_pairs = int((merged.groupby("person_id").size() * (merged.groupby("person_id").size() - 1) // 2).sum())
    found_sizes = merged.groupby("entity_id").size()
    found_pairs = int((found_sizes * (found_sizes - 1) // 2).sum())
    both = merged.groupby(["entity_id", "person_id"]).size()
    correct = int((both * (both - 1) // 2).sum())
    precision = correct / found_pairs if found_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def dice_separation(packages: list, truth: pd.DataFrame, field: str, generator: np.random.Generator) -> float | None:
    """Mean Dice of true-match pairs minus mean Dice of random pairs, for one field."""
    words_list, present_list, keys = [], [], []
    for package in packages:
        words, present = package.bloom_filters(field)
        words_list.append(words)
        present_list.append(present)
        keys.append(package.events()["record_id"].map(lambda record, agency=package.agency: (agency, record)))
    words = np.concatenate(words_list)
    present = np.concatenate(present_list)
    index = pd.MultiIndex.from_tuples(pd.concat(keys).tolist(), names=["agency", "record_id"])
    person = truth.set_index(["agency", "record_id"])["person_id"].reindex(index).to_numpy()
    order = np.argsort(person, kind="stable")
    same = order[:-1][(person[order[:-1]] == person[order[1:]])]
    following = order[1:][(person[order[:-1]] == person[order[1:]])]
    keep = present[same] & present[following]
    if keep.sum() < 10:
        return None
    left_random = generator.integers(0, len(words), 20000)
    right_random = generator.integers(0, len(words), 20000)
    keep_random = present[left_random] & present[right_random] & (person[left_random] != person[right_random])

    def dice(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        both = popcount(words[left] & words[right]).sum(axis=1)
        total = popcount(words[left]).sum(axis=1) + popcount(words[right]).sum(axis=1)
        return 2 * both / np.maximum(total, 1)

    return float(dice(same[keep], following[keep]).mean() - dice(left_random[keep_random], right_random[keep_random]).mean())


def measure(
    settings: list[str],
    *,
    people: int = 20_000,
    seed: int = 1,
    attackers: tuple[str, ...] = ("public", "oracle"),
    linkage: bool = True,
    json_path: Path | None = None,
) -> tuple[list[dict[str, object]], list[str]]:
    """Encode, attack and link one synthetic partnership under each setting, in order.

    Returns one row of figures per setting and the attackers' names. With ``json_path`` the
    rows are written after every setting, so a long run that is stopped keeps what it measured.
    """
    unknown = [name for name in settings if name not in SETTINGS]
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    work = Path(tempfile.mkdtemp(prefix="dalink-bench-privacy-"))
    try:
        started = time.perf_counter()
        partnership = synthesise(people=people, seed=seed)
        data_dir = write_partnership(work / "data", partnership)
        agencies = [agency for agency, extract in partnership.extracts.items() if len(extract)]
        truth = truth_frame(data_dir, agencies)
        person_truth = partnership.truth.astype({"record_id": str})
        print(f"synthetic partnership: {partnership.records} records, {people} people, {len(agencies)} agencies "
              f"({time.perf_counter() - started:.1f}s)")
        references = {}
        if "public" in attackers:
            references["public"] = default_reference_frequencies()
        if "oracle" in attackers:
            references["oracle"] = oracle_reference(partnership.people)
        generator = np.random.default_rng(0)
        results: list[dict[str, object]] = []
        for setting in settings:
            schema = schema_for(SETTINGS[setting])
            package_dir = work / setting
            package_dir.mkdir()
            paths = []
            for agency in agencies:
                path = package_dir / f"{agency}.dalink"
                encode_file(data_dir / f"{agency}.csv", path, agency=agency, key=KEY, schema=schema, today=TODAY)
                paths.append(path)
            packages = [read_package(path) for path in paths]
            row: dict[str, object] = {"setting": setting, "records": partnership.records, "people": people, "seed": seed,
                                      "date": datetime.date.today().isoformat(), "oracle_birth_years": "records"}
            for attacker, reference in references.items():
                began = time.perf_counter()
                report = audit_package(packages, reference, truth)
                row[f"{attacker}_seconds"] = round(time.perf_counter() - began, 1)
                for result in report.attacks:
                    row[f"{attacker}:{result.attack}:{result.field}:{result.column}"] = result.reidentified_share
                row[f"{attacker}_worst"] = report.worst_identifying_reidentified_share
            for field in ("given_name", "family_name", "date_of_birth"):
                row[f"dice_separation:{field}"] = dice_separation(packages, person_truth, field, generator)
            if linkage:
                from dalink.match.linker import link

                began = time.perf_counter()
                linked = link(packages, work / f"{setting}.linkage")
                row.update({f"link_{name}": value for name, value in pairwise_f1(linked.entities, person_truth).items()})
                row["link_seconds"] = round(time.perf_counter() - began, 1)
            results.append(row)
            _print_row(row, list(references))
            if json_path is not None:
                json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
            shutil.rmtree(package_dir, ignore_errors=True)
            shutil.rmtree(work / f"{setting}.linkage", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results, list(references)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny partnership, two settings, no linkage")
    parser.add_argument("--people", type=int, default=20_000, help="people simulated (20,000 give ~45,000 records)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated: " + ", ".join(SETTINGS))
    parser.add_argument("--no-link", action="store_true", help="skip linkage (report Dice separation only)")
    parser.add_argument("--no-oracle", action="store_true", help="only the public-tables attacker")
    parser.add_argument("--attackers", default="public,oracle", help="comma-separated: public, oracle")
    parser.add_argument("--no-audit", action="store_true", help="linkage only (every setting linked by one linker version)")
    parser.add_argument("--json", type=Path, help="write all figures here (after every setting)")
    arguments = parser.parse_args()
    settings = arguments.settings.split(",")
    people = arguments.people
    if arguments.smoke:
        people, settings, arguments.no_link = 600, ["unhardened", "default"], True
    unknown = [name for name in settings if name not in SETTINGS]
    if unknown:
        parser.error(f"unknown setting(s): {', '.join(unknown)}")
    attackers = tuple(name for name in arguments.attackers.split(",") if not (arguments.no_oracle and name == "oracle"))
    if arguments.no_audit:
        attackers = ()
    elif not attackers or any(name not in ("public", "oracle") for name in attackers):
        parser.error("--attackers takes public and/or oracle")
    results, attackers = measure(
        settings, people=people, seed=arguments.seed, attackers=attackers,
        linkage=not arguments.no_link, json_path=arguments.json,
    )
    _print_table(results, attackers)
    return 0


def _fmt(value: object) -> str:
    return f"{value:.2%}" if isinstance(value, float) else "-"


def _print_row(row: dict[str, object], attackers: list[str]) -> None:
    print(f"\n== {row['setting']}")
    for key, value in row.items():
        if ":" in key and not key.startswith("dice"):
            attacker, attack, field, column = key.split(":")
            print(f"  {attacker:<7} {attack:<24} {column:<26} {field:<15} {_fmt(value):>8}")
    for key, value in row.items():
        if key.startswith("dice") or key.startswith("link") or key.endswith("seconds") or key.endswith("worst"):
            print(f"  {key:<40} {value if not isinstance(value, float) else round(value, 4)}")
    sys.stdout.flush()


def _print_table(results: list[dict[str, object]], attackers: list[str]) -> None:
    print("\nre-identification rate on identifying fields (worst attack) vs linkage quality")
    header = f"{'setting':<22}" + "".join(f" {name + ' worst':>13}" for name in attackers)
    header += f" {'FA family':>10} {'PM family':>10} {'FA given':>9} {'PM given':>9} {'BK worst':>9}"
    header += f" {'Δdice given':>11} {'Δdice family':>12} {'link F1':>8}"
    print(header)
    for row in results:
        def worst_of(prefix: str) -> float | None:
            values = [value for key, value in row.items() if key.startswith(prefix) and isinstance(value, float)]
            return max(values) if values else None

        line = f"{row['setting']:<22}" + "".join(f" {_fmt(row.get(f'{name}_worst')):>13}" for name in attackers)
        line += f" {_fmt(row.get('public:frequency_alignment:family_name:bf_family_name')):>10}"
        line += f" {_fmt(row.get('public:pattern_mining:family_name:bf_family_name')):>10}"
        line += f" {_fmt(row.get('public:frequency_alignment:given_name:bf_given_name')):>9}"
        line += f" {_fmt(row.get('public:pattern_mining:given_name:bf_given_name')):>9}"
        line += f" {_fmt(worst_of('public:blocking_key_frequency')):>9}"
        given, family = row.get("dice_separation:given_name"), row.get("dice_separation:family_name")
        line += f" {given if given is None else round(given, 3):>11} {family if family is None else round(family, 3):>12}"
        f1 = row.get("link_f1")
        line += f" {'-' if f1 is None else round(f1, 4):>8}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
