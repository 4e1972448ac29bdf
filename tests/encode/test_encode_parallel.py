"""The encoder's fast paths against their references: worker processes, token groups,
packed bit flipping and the Arrow CSV reader. Output must not depend on any of them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from sample_data import TODAY
from dalink.cli import main
from dalink.encode import csv_reader, extract, hardening, parallel
from dalink.encode.bloom import FieldHasher
from dalink.encode.encoder import encode_frame
from dalink.encode.extract import read_extract
from dalink.encode.schema import FieldSpec, HardeningStep, default_schema, parse_schema
from dalink.encode.tokenise import field_tokens, token_groups
from dalink.keys import PartnershipKey

STEP_ADAPTER = TypeAdapter(HardeningStep)
GIVEN = ["Alexandra", "bob", "Siobhán", "Mary-Jane", "O'Neil", "li", "Zoë", "", "N/K", "robert"]
FAMILY = ["Whitcombe", "okonkwo reid", "O'Sullivan", "Smith-Jones", "Ng", "smith", "", "Łukasiewicz"]
DATES = ["12/03/1985", "1979-07-01", "", "31/02/1990", "2090-01-01", "01/12/2001", "7 March 1960"]
POSTCODES = ["AL1 3JX", "wd171ab", "", "ZZ99 3VZ", "SG6 2NG", "NOT A POSTCODE", "sw1a1aa"]


def synthetic_csv(path: Path, rows: int) -> Path:
    """Messy synthetic rows (fixed, never real people) with repeats, blanks and invalid values."""
    lines = ["record_id,given_name,middle_name,family_name,date_of_birth,sex,postcode,event_date,event_type,local_authority,role"]
    for index in range(rows):
        lines.append(
            ",".join(
                [
                    f"R{index}",
                    GIVEN[index % len(GIVEN)],
                    GIVEN[(index * 7) % len(GIVEN)] if index % 3 else "",
                    FAMILY[(index * 3) % len(FAMILY)],
                    DATES[(index * 5) % len(DATES)],
                    "FMX "[index % 4],
                    POSTCODES[(index * 11) % len(POSTCODES)],
                    "2024-01-01",
                    "refuge_referral" if index % 9 == 0 else "incident",
                    "E07000096",
                    "victim" if index % 5 else "perpetrator",
                ]
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def schema_variant(hardening_steps: list[dict] | None):
    if hardening_steps is None:
        return default_schema()
    data = default_schema().model_dump(mode="json")
    for field in data["fields"]:
        field["hardening"] = hardening_steps
        field["bits"] = max(field["bits"], 256)
    return parse_schema(data)


@pytest.mark.parametrize(
    "hardening_steps",
    [
        None,
        [{"kind": "salt", "source": "birth_year"}, {"kind": "balance"}],
        [{"kind": "random_bit_flip", "probability": 0.05}, {"kind": "xor_fold", "folds": 2}],
    ],
)
def test_worker_processes_give_identical_output(tmp_path: Path, key: PartnershipKey, hardening_steps) -> None:
    if not parallel.fork_available():
        pytest.skip("worker processes need fork")
    schema = schema_variant(hardening_steps)
    rows = read_extract(synthetic_csv(tmp_path / "extract.csv", 300))
    single = encode_frame(rows, agency="police", key=key, schema=schema, today=TODAY, workers=1)
    several = encode_frame(rows, agency="police", key=key, schema=schema, today=TODAY, workers=3)
    assert single.table.num_rows > 0 and len(single.rejects) > 0
    assert several.table.equals(single.table)
    assert several.rejects.equals(single.rejects)


def test_progress_reaches_every_record_with_workers(tmp_path: Path, key: PartnershipKey) -> None:
    if not parallel.fork_available():
        pytest.skip("worker processes need fork")
    rows = read_extract(synthetic_csv(tmp_path / "extract.csv", 120))
    seen: list[tuple[int, int]] = []
    result = encode_frame(rows, agency="a", key=key, today=TODAY, workers=2, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (result.table.num_rows, result.table.num_rows)


def test_worker_count_defaults() -> None:
    assert parallel.worker_count(100, None) == 1
    assert parallel.worker_count(10_000_000, None) <= parallel.MAXIMUM_DEFAULT_WORKERS
    with pytest.raises(ValueError):
        parallel.worker_count(100, 0)


def test_cli_workers_option(tmp_path: Path, key_file: Path) -> None:
    source = synthetic_csv(tmp_path / "extract.csv", 60)
    outputs = []
    for workers in ("1", "2"):
        output = tmp_path / f"w{workers}.dalink"
        result = CliRunner().invoke(
            main,
            ["encode", str(source), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet", "--workers", workers],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        outputs.append((output / "records.parquet").read_bytes())
    assert outputs[0] == outputs[1]
    assert "--workers" in CliRunner().invoke(main, ["encode", "--help"]).output


# --- token groups ----------------------------------------------------------------------------

TOKENISERS = [
    {"kind": "qgram", "q": 2, "padded": True},
    {"kind": "qgram", "q": 3, "padded": False, "positional": True},
    {"kind": "qgram", "q": 1, "padded": True},
    {"kind": "qgram", "q": 3, "padded": False},
    {"kind": "qgram", "q": 4, "padded": True},
    {"kind": "exact"},
]


def field_spec(tokens: dict, extra: list[str]) -> FieldSpec:
    return FieldSpec.model_validate({"name": "given_name", "tokens": tokens, "bits": 256, "hash_functions": 4, "extra_tokens": extra})


def group_token_sets(values: list[str], spec: FieldSpec) -> list[set[str]]:
    sets: list[set[str]] = [set() for _ in values]
    for group in token_groups(values, spec):
        for owner, text in zip(group.owners.tolist(), group.texts):
            sets[owner].add(group.prefix + text)
    return sets


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.text(alphabet="abcz éłß-'\U0001f600", max_size=12) | st.text(alphabet="ab", min_size=39, max_size=45), max_size=8),
    tokens=st.sampled_from(TOKENISERS),
    extra=st.sampled_from([[], ["nickname"], ["soundex", "metaphone"]]),
)
def test_token_groups_equal_field_tokens(values: list[str], tokens: dict, extra: list[str]) -> None:
    spec = field_spec(tokens, extra)
    assert group_token_sets(values, spec) == [set(field_tokens(value, spec)) for value in values]


dates = st.dates(min_value=__import__("datetime").date(1900, 1, 1)).map(lambda day: day.isoformat())
postcodes = st.from_regex(r"[A-Z]{1,2}[0-9]{1,2}[A-Z]? [0-9][A-Z]{2}", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(dates, max_size=8), parts=st.lists(st.sampled_from(["day", "month", "year", "decade", "day_month_unordered", "year_month"]), min_size=1, unique=True))
def test_date_token_groups_equal_field_tokens(values: list[str], parts: list[str]) -> None:
    spec = FieldSpec.model_validate({"name": "date_of_birth", "tokens": {"kind": "date", "parts": parts}, "bits": 256, "hash_functions": 4})
    assert group_token_sets(values, spec) == [set(field_tokens(value, spec)) for value in values]


@settings(max_examples=40, deadline=None)
@given(values=st.lists(postcodes, max_size=8), q=st.integers(1, 4), parts=st.lists(st.sampled_from(["area", "district", "sector", "unit"]), unique=True))
def test_postcode_token_groups_equal_field_tokens(values: list[str], q: int, parts: list[str]) -> None:
    spec = FieldSpec.model_validate({"name": "postcode", "tokens": {"kind": "postcode", "q": q, "parts": parts}, "bits": 256, "hash_functions": 4})
    assert group_token_sets(values, spec) == [set(field_tokens(value, spec)) for value in values]


# --- packed bit flipping -----------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seeds=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=50),
    field_seed=st.integers(0, 2**64 - 1),
    bits=st.sampled_from([64, 128, 256, 512, 1024]),
    probability=st.sampled_from([0.01, 0.02, 0.05, 0.3]),
    fill=st.integers(0, 2**32),
)
def test_packed_bit_flip_equals_unpacked(seeds: list[int], field_seed: int, bits: int, probability: float, fill: int) -> None:
    seed_array = np.array(seeds, dtype=np.uint64)
    matrix = np.random.default_rng(fill).random((len(seeds), bits)) < 0.4
    expected = np.packbits(hardening.random_bit_flip(matrix, seed_array, field_seed, probability), axis=1)
    packed = np.packbits(matrix, axis=1)
    hardening.random_bit_flip_packed(packed, seed_array, field_seed, bits, probability)
    assert np.array_equal(packed, expected)


DETERMINISTIC_STEPS = st.lists(
    st.one_of(
        st.builds(lambda folds: {"kind": "xor_fold", "folds": folds}, st.integers(1, 3)),
        st.just({"kind": "balance"}),
        st.just({"kind": "rule90"}),
        st.just({"kind": "salt", "source": "sex"}),
    ),
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.text(alphabet="abcé -'", min_size=1, max_size=12), min_size=1, max_size=30),
    bits=st.sampled_from([64, 128, 256, 512]),
    salted=st.booleans(),
)
def test_packed_filters_equal_the_boolean_reference(values: list[str], bits: int, salted: bool) -> None:
    spec = FieldSpec.model_validate(
        {"name": "given_name", "tokens": {"kind": "qgram", "q": 2}, "extra_tokens": ["nickname"], "bits": bits,
         "hash_functions": 7}
    )
    hasher = FieldHasher(spec, PartnershipKey(bytes(range(32))))
    salts = [str(index % 3) for index in range(len(values))] if salted else None
    packed = hasher.packed(values, salts)
    matrix = hasher.matrix(values, salts)
    assert np.array_equal(packed, np.packbits(matrix, axis=1))


@settings(max_examples=60, deadline=None)
@given(
    bits=st.sampled_from([24, 64, 128, 256]),  # 24: folds that leave part of a byte take the unpacked path
    rows=st.integers(1, 20),
    steps=DETERMINISTIC_STEPS,
    fill=st.integers(0, 2**32),
)
def test_packed_hardening_equals_the_boolean_reference(bits: int, rows: int, steps: list[dict], fill: int) -> None:
    matrix = np.random.default_rng(fill).random((rows, bits)) < 0.3
    parsed = [STEP_ADAPTER.validate_python(step) for step in steps]
    expected = np.packbits(hardening.apply_steps(matrix, parsed, permutation_key=b"k" * 64), axis=1)
    packed = hardening.apply_steps_packed(np.packbits(matrix, axis=1), parsed, bits, permutation_key=b"k" * 64)
    assert np.array_equal(packed, expected)


# --- Arrow CSV reader --------------------------------------------------------------------------

CELL_PIECES = ["a", "b", "é", " ", "\t", "\xa0", '"', '""', ",", ";", "\n", "\r\n", "\r", ",,", "x\"y"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(["h1,h2,h3", "a;b", " p , q ", "k", "h1,h2,h1"]),
    terminator=st.sampled_from(["\n", "\r\n", "\r"]),
    body=st.lists(st.sampled_from(CELL_PIECES), max_size=40).map("".join),
)
def test_arrow_csv_reader_agrees_with_csv_module(header: str, terminator: str, body: str) -> None:
    text = header + terminator + body
    delimiter = ";" if ";" in header else ","
    def arrow(*arguments: object) -> object:
        try:
            return csv_reader._read_csv_with_arrow(*arguments)
        except csv_reader._NotForArrow:
            return None

    fast = arrow(text, delimiter)
    from_bytes = arrow(text, delimiter, text.encode("utf-8"))
    if fast is None:
        assert from_bytes is None
        return  # handed to the csv module: nothing to compare
    frame, rejects, rows_read, cleaned = fast
    assert from_bytes is not None and from_bytes[0].equals(frame) and from_bytes[1:] == fast[1:]
    assert cleaned and rejects == []
    reference, reference_rejects, reference_rows = csv_reader._read_csv_with_csv_module(text, delimiter, "test.csv")
    for column in reference.columns:
        if column != "row_number":
            reference[column] = extract._clean_text(reference[column], all_text=True)
    assert reference_rejects == [] and reference_rows == rows_read
    assert list(frame.columns) == list(reference.columns)
    assert frame.equals(reference)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(["h1,h2,h3", "a;b", " p , q ", "k"]),
    terminator=st.sampled_from(["\n", "\r\n", "\r"]),
    rows=st.lists(st.lists(st.sampled_from(["", "a", " b ", "é", '"x,y"', '"q\nr"', '""']), min_size=1, max_size=4), max_size=12),
)
def test_every_csv_reader_path_agrees_with_csv_module(header: str, terminator: str, rows: list[list[str]]) -> None:
    """Whatever path reads a file (Arrow, Arrow around ragged rows, the csv module), rows and rejects match."""
    delimiter = ";" if ";" in header else ","
    text = terminator.join([header, *(delimiter.join(row) for row in rows)]) + terminator
    frame, rejects, rows_read, cleaned = csv_reader._read_csv_text(text, delimiter, "test.csv")
    reference, reference_rejects, reference_rows = csv_reader._read_csv_with_csv_module(text, delimiter, "test.csv")
    if cleaned:
        for column in reference.columns:
            if column != "row_number":
                reference[column] = extract._clean_text(reference[column], all_text=True)
    assert (rejects, rows_read) == (reference_rejects, reference_rows)
    assert list(frame.columns) == list(reference.columns)
    assert frame.reset_index(drop=True).equals(reference.reset_index(drop=True))


def test_ragged_rows_do_not_send_the_file_to_the_csv_module() -> None:
    text = "h1,h2\n" + "a,b\n" * 5 + "c,d,e\n" + '"x\ny",z\n' + "f\n" + "g,h\n"
    fast = csv_reader._read_csv_around_ragged_rows(text, ",")
    assert fast is not None
    frame, rejects, rows_read, cleaned = fast
    assert [reject["row_number"] for reject in rejects] == [6, 8] and rows_read == 9
    assert frame["row_number"].tolist() == [1, 2, 3, 4, 5, 7, 9]
    assert frame["h1"].tolist()[-2:] == ["x\ny", "g"]


def test_ragged_and_nul_files_use_the_csv_module() -> None:
    assert csv_reader._read_csv_with_arrow("a,b\n1,2,3\n", ",") is None  # ragged: worth a pass around the row
    for text in ("a,b\n1,\x002\n", "\na,b\n1,2\n", "a,a\n1,2\n"):  # never for Arrow
        with pytest.raises(csv_reader._NotForArrow):
            csv_reader._read_csv_with_arrow(text, ",")
    fast = csv_reader._read_csv_with_arrow('a,b\n"x, y", z \n , \n', ",")
    assert fast is not None and fast[2] == 1
    assert fast[0]["a"].tolist() == ["x, y"] and fast[0]["b"].tolist() == ["z"]
    reference = list(csv.reader(io.StringIO('a,b\n"x, y", z \n', newline="")))
    assert reference[1] == ["x, y", " z "]


def test_a_windows_1252_file_that_starts_as_ascii_is_read_by_arrow(tmp_path: Path) -> None:
    """Arrow refuses the bytes (not UTF-8 after the first 64 KiB); the decoded text still goes to Arrow."""
    rows = [f"R{index},Smith\n" for index in range(8_000)] + ["R-last,Zoë\n"]
    path = tmp_path / "extract.csv"
    path.write_bytes(("record_id,family_name\n" + "".join(rows)).encode("cp1252"))
    assert path.stat().st_size > csv_reader._FIRST_LINE_WINDOW
    frame, rejects, rows_read, cleaned = csv_reader.read_csv(path)
    assert cleaned and rejects == [] and rows_read == 8_001
    assert frame["family_name"].iloc[-1] == "Zoë" and frame["row_number"].iloc[-1] == 8_001


def test_a_utf8_file_is_read_from_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "extract.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n\nrecord_id;family_name\r\nR1; Zo\xc3\xab \r\n")
    frame, rejects, rows_read, cleaned = csv_reader.read_csv(path)
    assert cleaned and rows_read == 1 and frame["family_name"].tolist() == ["Zoë"]


def test_columns_an_extract_cannot_use_are_not_kept_but_still_count_for_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(
        "record_id,given_name,notes,family_name,officer\n"
        "R1,Ann,called twice,Lee,PC 101\n"
        ",,only a note,,\n"  # a record (rejected later for its missing id), not a blank line
        ",,,,\n"  # a blank line
        "R3,Bo,,Ng,\n",
        encoding="utf-8",
    )
    frame, rejects, rows_read, cleaned = csv_reader.read_csv(path, {"record_id", "given_name", "family_name"})
    assert cleaned and rows_read == 3 and list(frame.columns) == ["record_id", "given_name", "family_name", "row_number"]
    assert frame["record_id"].tolist() == ["R1", None, "R3"] and frame["row_number"].tolist() == [1, 2, 3]
    everything = csv_reader.read_csv(path)[0]
    assert list(everything.columns) == ["record_id", "given_name", "notes", "family_name", "officer", "row_number"]


def test_a_file_arrow_cannot_read_skips_the_ragged_row_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ragged_pass(*args, **kwargs):
        raise AssertionError("the ragged-row pass ran for a file only the csv module may read")

    monkeypatch.setattr(csv_reader, "_read_csv_around_ragged_rows", no_ragged_pass)
    for content in (b"h1,h2\nA,B\x00C\nD,E\n", b"h1,h1\nA,B\nD,E\n"):
        path = tmp_path / "extract.csv"
        path.write_bytes(content)
        frame, rejects, rows_read, cleaned = csv_reader.read_csv(path)
        assert rows_read == 2 and not cleaned and rejects == []
