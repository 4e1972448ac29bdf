"""The encode CLI end to end, including every bad input the issue lists and leak scans."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sample_data import SAMPLE_ROWS, TEST_SECRET, TODAY
from dalink.cli import main
from dalink.encode.extract import read_extract
from dalink.keys import PartnershipKey

IDENTIFIER_VALUES = sorted(
    {value for row in SAMPLE_ROWS for value in row[1:7] if value and len(value) > 3}, key=len, reverse=True
)


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def package_text(directory: Path) -> str:
    return "\n".join(path.read_bytes().decode("latin-1") for path in directory.rglob("*") if path.is_file())


def test_keygen_then_encode_then_inspect(tmp_path: Path, sample_csv: Path) -> None:
    key_path = tmp_path / "p.key"
    result = run("keygen", "-o", str(key_path))
    assert result.exit_code == 0 and "fingerprint" in result.output
    assert run("keygen", "-o", str(key_path)).exit_code == 1
    output = tmp_path / "police.dalink"
    result = run("encode", str(sample_csv), "--agency", "police", "--key-file", str(key_path), "-o", str(output), "--quiet")
    assert result.exit_code == 0, result.output
    assert "encoded 5 of 5 rows" in result.output
    result = run("inspect", str(output), "--json")
    assert result.exit_code == 0 and json.loads(result.output)["agency"] == "police"
    summary = run("inspect", str(output))
    assert summary.exit_code == 0 and "agency           police" in summary.output
    assert "5 read, 5 encoded, 0 rejected" in summary.output and "checksums verified" in summary.output
    assert json.loads(result.output)["key_fingerprint"] in summary.output
    assert "bf_" not in summary.output and "Smith" not in summary.output


def test_no_identifier_or_key_leaks_anywhere(tmp_path: Path, sample_csv: Path, key_file: Path) -> None:
    output = tmp_path / "police.dalink"
    result = run("-v", "encode", str(sample_csv), "--agency", "police", "--key-file", str(key_file), "-o", str(output))
    assert result.exit_code == 0
    haystack = (package_text(output) + result.output).lower()
    assert TEST_SECRET.hex() not in haystack
    for value in IDENTIFIER_VALUES:
        assert value.lower() not in haystack, "an identifier value leaked into the package or the CLI output"
    for field in ("whitcombe", "alexandra", "raghunathan", "kowalczyk", "1985-03-12", "al1 3jx"):
        assert field not in haystack


def test_check_reports_what_encode_would_do_without_a_key(tmp_path: Path, key_file: Path) -> None:
    source = write(
        tmp_path / "messy.csv",
        HEADER + ROW + ROW.replace(b"A1", b"A2").replace(b"01/02/1980", b"01/02/2090")
        + ROW.replace(b"A1", b"A3").replace(b"victim", b"witness") + b"A4,Bo,,Li\n",
    )
    before = sorted(path.name for path in tmp_path.iterdir())
    checked = CliRunner().invoke(main, ["encode", str(source), "--check"], env={"DALINK_KEY": "", "DALINK_KEY_FILE": ""})
    assert checked.exit_code == 0, checked.output
    assert sorted(path.name for path in tmp_path.iterdir()) == before, "--check writes nothing"
    assert f"{source}: would encode 1 of 4 rows, reject 3" in checked.output
    assert "row 2: date_of_birth: date of birth is in the future" in checked.output
    assert "row 3: role:" in checked.output and "row 4: row has 4 fields" in checked.output
    for value in ("Ann", "Smith", "SG1 1AA", "01/02/2090", "witness", "Bo", "Li,"):
        assert value not in checked.output.replace("rows", "")
    output = tmp_path / "messy.dalink"
    encoded = run("encode", str(source), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet")
    counts = json.loads((output / "manifest.json").read_text())["counts"]
    assert (counts["encoded"], counts["rejected"]) == (1, 3)
    assert "encoded 1 of 4 rows, rejected 3" in encoded.output


def test_agency_is_required_unless_checking(tmp_path: Path, sample_csv: Path, key_file: Path) -> None:
    result = CliRunner().invoke(main, ["encode", str(sample_csv), "--key-file", str(key_file)])
    assert result.exit_code == 2 and "--agency" in result.output
    assert not list(tmp_path.glob("*.dalink"))


def test_key_from_environment(tmp_path: Path, sample_csv: Path) -> None:
    result = run("encode", str(sample_csv), "--agency", "police", "-o", str(tmp_path / "x.dalink"), "--quiet",
                 env={"DALINK_KEY": TEST_SECRET.hex(), "DALINK_KEY_FILE": ""})
    assert result.exit_code == 0, result.output


def test_column_mapping(tmp_path: Path, sample_csv: Path, key_file: Path) -> None:
    frame = pd.read_csv(sample_csv, dtype=str).rename(columns={"given_name": "Forename", "family_name": "Surname"})
    renamed = tmp_path / "renamed.csv"
    frame.to_csv(renamed, index=False)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"given_name": "Forename"}))
    result = run("encode", str(renamed), "--agency", "police", "--key-file", str(key_file), "--quiet",
                 "--column-map", str(mapping), "--map", "family_name=Surname", "-o", str(tmp_path / "m.dalink"))
    assert result.exit_code == 0, result.output



@pytest.mark.parametrize(
    ("mappings", "expected"),
    [
        (["given_name=Forename"], "already has column(s) given_name"),
        (["given_name=Forename", "middle_name=Forename"], "maps several standard columns to: Forename"),
    ],
)
def test_column_mapping_clashes_fail_cleanly(tmp_path: Path, key_file: Path, mappings: list[str], expected: str) -> None:
    source = tmp_path / "clash.csv"
    source.write_text(
        "record_id,given_name,Forename,family_name,date_of_birth,event_date,event_type,role\n"
        "1,Ann,Anna,Smith,1985-03-12,2024-01-01,incident,victim\n"
    )
    output = tmp_path / "clash.dalink"
    options = [option for mapping in mappings for option in ("--map", mapping)]
    result = run("encode", str(source), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet", *options)
    assert result.exit_code != 0
    assert expected in result.output and "Anna" not in result.output
    assert not output.exists()

def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


HEADER = b"record_id,given_name,middle_name,family_name,date_of_birth,sex,postcode,event_date,event_type,local_authority,role\n"
ROW = b"A1,Ann,,Smith,01/02/1980,F,SG1 1AA,2024-01-01,incident,E07000243,victim\n"
GOOD_ROW = b"A9,Joy,,Patel,03/04/1975,F,AL1 3JX,2024-01-02,incident,E07000243,victim\n"


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty"),
        (HEADER, "no data rows"),
        (HEADER.replace(b"given_name,", b""), "missing required column(s): given_name"),
        (HEADER.replace(b",", b" ") + ROW.replace(b",", b" "), "delimiter"),
    ],
)
def test_whole_file_problems_fail_cleanly(tmp_path: Path, key_file: Path, content: bytes, expected: str) -> None:
    source = write(tmp_path / "in.csv", content)
    output = tmp_path / "out.dalink"
    result = run("encode", str(source), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet")
    assert result.exit_code == 1
    assert expected in result.output and str(source) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not output.exists()


@pytest.mark.parametrize(
    "content, encoded, rejected",
    [
        (HEADER + ROW + b"A2,Bo,,Li\n", 1, 1),  # ragged row
        (HEADER.replace(b",", b";") + ROW.replace(b",", b";"), 1, 0),  # semicolon delimiter
        ("\ufeff".encode("utf-8") + HEADER + "A1,Zoë,,Brontë,01/02/1980,F,,2024-01-01,incident,,victim\n".encode(), 1, 0),
        (HEADER + "A1,Zoë,,Brontë,01/02/1980,F,,2024-01-01,incident,,victim\n".encode("latin-1"), 1, 0),
        (HEADER + ROW + ROW + GOOD_ROW, 1, 2),  # duplicate record ids
        (HEADER + ROW.replace(b"01/02/1980", b"01/02/2090") + ROW.replace(b"A1", b"A2").replace(b"Ann", b"A" * 10000) + GOOD_ROW, 1, 2),
        (HEADER + ROW.replace(b"SG1 1AA", b"Q" * 40) + GOOD_ROW, 1, 1),
        (b"\r\n\n" + HEADER + ROW, 1, 0),  # blank lines before the header
        ("\ufeff".encode("utf-8") + b"\n" + HEADER + ROW, 1, 0),
    ],
)
def test_row_problems_are_rejected_with_reasons(
    tmp_path: Path, key_file: Path, content: bytes, encoded: int, rejected: int
) -> None:
    source = write(tmp_path / "in.csv", content)
    output = tmp_path / "out.dalink"
    result = run("encode", str(source), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet")
    assert result.exit_code == 0, result.output
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["counts"]["encoded"] == encoded and manifest["counts"]["rejected"] == rejected
    rejects = pd.read_csv(output / "rejects.csv")
    assert len(rejects) == rejected and rejects["reason"].notna().all()
    text = package_text(output) + result.output
    for secret in ("Smith", "Bront", "Q" * 12, "A" * 24, "2090"):
        assert secret not in text


@pytest.mark.parametrize("key_content", [None, "", "abc", "00" * 8])
def test_missing_or_short_key(tmp_path: Path, sample_csv: Path, key_content: str | None) -> None:
    key_path = tmp_path / "k.key"
    if key_content is not None:
        key_path.write_text(key_content)
    output = tmp_path / "out.dalink"
    result = run("encode", str(sample_csv), "--agency", "police", "--key-file", str(key_path), "-o", str(output),
                 env={"DALINK_KEY": ""})
    assert result.exit_code == 1 and "key" in result.output
    assert not output.exists()


def test_existing_output_refused(tmp_path: Path, sample_csv: Path, key_file: Path) -> None:
    output = tmp_path / "out.dalink"
    output.mkdir()
    result = run("encode", str(sample_csv), "--agency", "police", "--key-file", str(key_file), "-o", str(output))
    assert result.exit_code == 1 and "exists" in result.output


def test_parquet_and_excel_inputs(tmp_path: Path, sample_csv: Path, key_file: Path) -> None:
    frame = pd.read_csv(sample_csv, dtype=str)
    frame.to_parquet(tmp_path / "in.parquet")
    frame.to_excel(tmp_path / "in.xlsx", index=False)
    for name in ("in.parquet", "in.xlsx"):
        output = tmp_path / f"{name}.dalink"
        result = run("encode", str(tmp_path / name), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet")
        assert result.exit_code == 0, result.output
        assert json.loads((output / "manifest.json").read_text())["counts"]["encoded"] == 5


def test_a_workbook_sheet_is_chosen_by_name(tmp_path: Path, sample_csv: Path, key_file: Path) -> None:
    frame = pd.read_csv(sample_csv, dtype=str)
    workbook = tmp_path / "in.xlsx"
    with pd.ExcelWriter(workbook) as writer:
        pd.DataFrame({"note": ["exported 2024-05-01"]}).to_excel(writer, sheet_name="About", index=False)
        frame.to_excel(writer, sheet_name="Incidents", index=False)
    output = tmp_path / "out.dalink"
    common = ("--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet")
    first = run("encode", str(workbook), *common)
    assert first.exit_code == 1 and "missing required column(s)" in first.output
    assert "the workbook has: About, Incidents; this is About" in first.output and not output.exists()
    wrong = run("encode", str(workbook), "--sheet", "Referrals", *common)
    assert wrong.exit_code == 1 and "no sheet named 'Referrals'" in wrong.output
    chosen = run("encode", str(workbook), "--sheet", "Incidents", *common)
    assert chosen.exit_code == 0, chosen.output
    assert json.loads((output / "manifest.json").read_text())["counts"]["encoded"] == 5
    checked = run("encode", str(workbook), "--sheet", "Incidents", "--check")
    assert checked.exit_code == 0 and "would encode 5 of 5 rows" in checked.output
    not_excel = run("encode", str(sample_csv), "--sheet", "Incidents", "--check")
    assert not_excel.exit_code == 1 and "only be chosen in an Excel workbook" in not_excel.output


def test_typed_parquet_columns_read_as_csv_text_would(tmp_path: Path, key_file: Path) -> None:
    # pandas writes whole numbers with blanks as floats; dates arrive as timestamps
    frame = pd.DataFrame(
        {
            "record_id": [17.0, 18.0, None],
            "given_name": ["Ann", "Bob", "Cat"],
            "family_name": ["Smith", "Jones", "Li"],
            "date_of_birth": pd.to_datetime(["1985-03-12", "1979-07-01", None]),
            "event_date": [datetime.date(2024, 1, 1)] * 3,
            "event_type": ["incident"] * 3,
            "role": ["victim"] * 3,
            "risk_level": [1.0, None, 2.5],
        }
    )
    frame.to_parquet(tmp_path / "typed.parquet")
    output = tmp_path / "typed.dalink"
    result = run("encode", str(tmp_path / "typed.parquet"), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet")
    assert result.exit_code == 0, result.output
    records = pd.read_parquet(output / "records.parquet")
    assert records["record_id"].tolist() == ["17", "18"]
    assert records["risk_level"].tolist() == ["1.0", None]  # not whole numbers: left as they are
    assert records["bf_date_of_birth"].notna().all()
    rejects = pd.read_csv(output / "rejects.csv")
    assert rejects[["row_number", "column"]].values.tolist() == [[3, "record_id"]]


def test_help_lists_options() -> None:
    result = run("encode", "--help")
    assert "--key-file" in result.output and "--column-map" in result.output


def test_progress_bars_are_drawn_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from dalink.cli import TqdmProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, drawn in ((io.StringIO(), False), (Terminal(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        with TqdmProgress("encoding police", unit="rec") as progress:
            progress(5, 10)
        assert ("encoding police" in stream.getvalue()) is drawn
    monkeypatch.setattr(sys, "stderr", Terminal())
    with TqdmProgress("encoding police", enabled=False) as progress:  # --quiet
        progress(5, 10)
    assert sys.stderr.getvalue() == ""


def test_an_extract_whose_every_row_is_rejected_writes_nothing(tmp_path: Path, key_file: Path) -> None:
    header = "record_id,given_name,family_name,date_of_birth,event_date,event_type,role\n"
    source = write(tmp_path / "in.csv", (header + "1,Smith,Jones,2090-01-01,2024-01-01,incident,victim\n"
                                         "2,Bronte,Eyre,2091-05-05,2024-01-01,incident,victim\n").encode())
    output = tmp_path / "out.dalink"
    result = run("encode", str(source), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet")
    assert result.exit_code == 1
    assert "every one of its 2 rows was rejected" in result.output and "future" in result.output
    assert "Smith" not in result.output and "2090" not in result.output
    assert not output.exists() and list(tmp_path.iterdir()) == [source] + ([key_file] if key_file.parent == tmp_path else [])


def test_many_rejected_rows_bring_a_warning(tmp_path: Path, key_file: Path) -> None:
    header = "record_id,given_name,family_name,date_of_birth,event_date,event_type,role\n"
    rows = "".join(f"{index},Ann,Lee,1980-01-0{index % 9 + 1},2024-01-01,incident,victim\n" for index in range(18))
    rows += "18,Ann,Lee,2090-01-01,2024-01-01,incident,victim\n19,Ann,Lee,1980-01-01,2024-01-01,incident,witness\n"
    source = write(tmp_path / "in.csv", (header + rows).encode())
    output = tmp_path / "out.dalink"
    result = run("encode", str(source), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet")
    assert result.exit_code == 0 and "encoded 18 of 20" in result.output
    assert "warning: 10% of the rows were rejected" in result.output  # (on stderr)


def test_a_whole_name_in_one_column_is_split(tmp_path: Path, key_file: Path) -> None:
    source = write(tmp_path / "marac.csv", (
        "Ref,Victim name,DOB,Date,Type,Role\n"
        'M1,"SMITH, Jane",12/03/1985,2024-01-20,marac_referral,victim\n'
        "M2,Mrs Mary Jones-Reid,1979-07-01,2024-02-10,marac_referral,victim\n"
        "M3,Jane 2nd,1979-07-01,2024-02-10,marac_referral,victim\n"
    ).encode())
    mapping = ["--map", "record_id=Ref", "--map", "full_name=Victim name", "--map", "date_of_birth=DOB",
               "--map", "event_date=Date", "--map", "event_type=Type", "--map", "role=Role"]
    checked = run("encode", str(source), *mapping, "--check")
    assert checked.exit_code == 0 and "would encode 2 of 3 rows" in checked.output
    assert "row 3: family_name: name contains digits" in checked.output  # (the part split from full_name)
    rows = read_extract(source, column_mapping=dict(item.split("=", 1) for item in mapping[1::2])).rows
    assert rows["given_name"].tolist() == ["Jane", "Mary", "Jane"]
    assert rows["family_name"].tolist() == ["SMITH", "Jones-Reid", "2nd"]
    # a system that exports a whole name beside the separate ones is read from the separate ones ...
    both = write(tmp_path / "both.csv", b"record_id,Full Name,given_name,family_name,date_of_birth,event_date,event_type,role\n"
                                        b"R1,Smith Jane,Jane,Smith,1985-03-12,2024-01-20,incident,victim\n")
    assert read_extract(both).rows.loc[0, "family_name"] == "Smith"
    # ... unless the whole name is mapped on purpose: then which to use is unclear
    result = run("encode", str(both), "--check", "--map", "full_name=Full Name")
    assert result.exit_code == 1 and "has full_name and given_name, family_name; map the names one way only" in result.output


def test_a_parquet_extract_is_read_without_its_unused_columns(tmp_path: Path, sample_csv: Path) -> None:
    frame = pd.read_csv(sample_csv, dtype=str)
    frame["case_notes"] = [[1, 2]] * len(frame)  # a column dalink cannot use (and could not flatten)
    frame.rename(columns={"given_name": "Forename"}).to_parquet(tmp_path / "in.parquet")
    extract = read_extract(tmp_path / "in.parquet", column_mapping={"given_name": "Forename"})
    assert "case_notes" not in extract.rows.columns and extract.rows["given_name"].notna().any()
    assert len(extract.rows) == len(frame)


def test_a_column_named_twice_is_an_error_only_if_dalink_uses_it(tmp_path: Path) -> None:
    header = "record_id,given_name,family_name,date_of_birth,event_date,event_type,role"
    row = "R1,Ann,Lee,1980-01-01,2024-01-01,incident,victim"
    used = write(tmp_path / "used.csv", f"{header},family_name\n{row},Lee\n".encode())
    result = run("encode", str(used), "--check")
    assert result.exit_code == 1 and "the header has column(s) family_name more than once" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Lee" not in result.output
    unused = write(tmp_path / "unused.csv", f"{header},notes,notes\n{row},a,b\n".encode())
    result = run("encode", str(unused), "--check")
    assert result.exit_code == 0 and "would encode 1 of 1 rows" in result.output


def test_standard_columns_are_found_in_any_case_or_spacing_and_aliases_are_suggested(tmp_path: Path) -> None:
    row = "R1,Ann,Lee,1980-01-01,2024-01-01,incident,victim\n"
    spelled = write(tmp_path / "spelled.csv", ("Record ID,GIVEN-NAME,Family_Name,Date of Birth,event_date,Event Type,ROLE\n" + row).encode())
    result = run("encode", str(spelled), "--check")
    assert result.exit_code == 0 and "would encode 1 of 1 rows" in result.output
    assert "columns read: record_id <- Record ID, given_name <- GIVEN-NAME, family_name <- Family_Name," in result.output
    assert "event_date, event_type <- Event Type, role <- ROLE" in result.output
    rows = read_extract(spelled).rows
    assert rows.loc[0, "given_name"] == "Ann" and rows.loc[0, "date_of_birth"] == "1980-01-01"
    aliased = write(tmp_path / "aliased.csv", ("Ref,Forename,Surname,DOB,Date,Type,Role\n" + row).encode())
    result = run("encode", str(aliased), "--check")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    for suggestion in ("--map record_id=Ref", "--map given_name=Forename", "--map family_name=Surname", "--map date_of_birth=DOB"):
        assert suggestion in result.output
    mapped = run("encode", str(aliased), "--check", *[part for pair in (
        ("--map", "record_id=Ref"), ("--map", "given_name=Forename"), ("--map", "family_name=Surname"),
        ("--map", "date_of_birth=DOB"), ("--map", "event_date=Date"), ("--map", "event_type=Type")) for part in pair])
    assert mapped.exit_code == 0 and "would encode 1 of 1 rows" in mapped.output
    twice = write(tmp_path / "twice.csv", ("record_id,Given Name,given-name,family_name,date_of_birth,event_date,event_type,role\n"
                                           "R1,Ann,Ann,Lee,1980-01-01,2024-01-01,incident,victim\n").encode())
    result = run("encode", str(twice), "--check")
    assert result.exit_code == 1 and "several columns could be given_name (Given Name, given-name)" in result.output


def test_roles_under_their_common_names_are_read_and_other_words_rejected(tmp_path: Path, key_file: Path) -> None:
    rows = "".join(
        f"R{index},Ann,Lee,1980-01-0{index + 1},2024-01-05,incident,{role}\n"
        for index, role in enumerate(["Victim/Survivor", "Suspect", "Young Person", "witness", "Person causing harm", "CHILD"])
    )
    source = write(tmp_path / "roles.csv", ("record_id,given_name,family_name,date_of_birth,event_date,event_type,role\n" + rows).encode())
    output = tmp_path / "out.dalink"
    result = run("encode", str(source), "--agency", "police", "--key-file", str(key_file), "-o", str(output), "--quiet")
    assert result.exit_code == 0 and "encoded 5 of 6 rows" in result.output
    assert pq.read_table(output / "records.parquet").column("role").to_pylist() == [
        "victim", "perpetrator", "child", "perpetrator", "child"
    ]
    assert pd.read_csv(output / "rejects.csv")["row_number"].tolist() == [4]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_title_above_the_header_is_found_and_skipped_on_request(tmp_path: Path, suffix: str) -> None:
    header = ["Ref", "Victim name", "DOB", "Date", "Type", "Role"]
    rows = [["M1", "Jane Smith", "12/03/1985", "2024-04-02", "marac_referral", "victim"],
            ["M2", "Bo Ng", "12/03/1986", "2024-04-03", "marac_referral", "victim"]]
    path = tmp_path / f"marac{suffix}"
    if suffix == ".csv":
        path.write_text("MARAC referrals April 2024 - OFFICIAL SENSITIVE\n\n" + "".join(",".join(row) + "\n" for row in [header, *rows]))
    else:
        from openpyxl import Workbook

        workbook = Workbook()
        for row in [["MARAC referrals April 2024 - OFFICIAL SENSITIVE"], [], header, *rows]:
            workbook.active.append(row)
        workbook.save(path)
    mapping = ["--map", "full_name=Victim name", "--map", "record_id=Ref", "--map", "date_of_birth=DOB",
               "--map", "event_date=Date", "--map", "event_type=Type"]
    found = run("encode", str(path), "--check", *mapping)
    assert found.exit_code == 1 and "row 3 looks like one (--header-row 3)" in found.output
    assert "Jane" not in found.output
    chosen = run("encode", str(path), "--check", "--header-row", "3", *mapping)
    assert chosen.exit_code == 0 and "would encode 2 of 2 rows" in chosen.output
    beyond = run("encode", str(path), "--check", "--header-row", "40", *mapping)
    assert beyond.exit_code == 1 and len(beyond.output.strip().splitlines()) == 1


def test_both_excel_readers_give_the_same_package(tmp_path: Path, key: PartnershipKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """calamine (when installed) and openpyxl read typed cells alike: numbers, dates, serials, blanks."""

    from openpyxl import Workbook

    from dalink.encode import extract
    from dalink.encode.encoder import encode_frame

    pytest.importorskip("python_calamine")
    workbook = Workbook()
    for row in [
        ["record_id", "given_name", "family_name", "date_of_birth", "sex", "postcode", "event_date", "event_type", "role", "risk_level"],
        [17, "Ann", "Lee", datetime.datetime(1980, 1, 2), 1, "SG1 1AA", datetime.date(2024, 1, 5), "incident", "victim", 2.0],
        [18, "Bo", "Ng", "12/03/1985", "F", None, 45292, "incident", "victim", True],
        ["0019", "Cy", "Ho", 31000, None, "AL1 3JX", "2024-01-05", "incident", "victim", None],
    ]:
        workbook.active.append(row)
    path = tmp_path / "typed.xlsx"
    workbook.save(path)
    assert extract._excel_engine(path) == "calamine"
    tables = []
    for engine in ("calamine", None):
        monkeypatch.setattr(extract, "_excel_engine", lambda _path, engine=engine: engine)
        tables.append(encode_frame(extract.read_extract(path), agency="police", key=key, today=TODAY).table)
    assert tables[0].num_rows == 3 and tables[0].equals(tables[1])


def test_a_safe_accommodation_provider_never_encodes_a_postcode(tmp_path: Path, key_file: Path) -> None:
    source = write(tmp_path / "refuge.csv", (
        "record_id,given_name,family_name,date_of_birth,postcode,event_date,event_type,role\n"
        "R1,Ann,Lee,1980-01-01,SG1 1AA,2024-01-05,refuge_admission,victim\n"
        "R2,Bo,Ng,1981-01-01,NOT A POSTCODE,2024-01-06,outreach,victim\n"
    ).encode())
    plain = run("encode", str(source), "--check")
    assert "would encode 1 of 2 rows" in plain.output  # the bad postcode rejects a row ...
    output = tmp_path / "refuge.dalink"
    result = run("encode", str(source), "--agency", "refuge", "--key-file", str(key_file), "-o", str(output),
                 "--safe-accommodation", "--quiet")
    assert result.exit_code == 0 and "encoded 2 of 2 rows" in result.output  # ... not when postcodes are withheld
    table = pq.read_table(output / "records.parquet")
    assert table.column("bf_postcode").null_count == 2 and table.column("bk_postcode_given_initial").null_count == 2
    assert table.column("bf_given_name").null_count == 0
