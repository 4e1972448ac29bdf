"""Messy extracts generated at random: every data row ends encoded or rejected, nothing leaks.

Each generated file mixes what agencies send (other delimiters, BOMs, Windows-1252,
quoted newlines, ragged rows, duplicate ids, blanks, absurd values, optional columns
left out, columns in any order). ``encode_file`` must either refuse the whole file with
one clean line, writing nothing, or write a package whose counts reconcile with the rows
in the file. Every generated name carries the marker ``qzx``, so a leak of any name into
an error, a reject reason or a package file is caught.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sample_data import COLUMNS, TODAY
from dalink.encode.encoder import encode_file
from dalink.encode.package import REJECTS_FILE, read_package
from dalink.errors import DalinkError, InputFileError
from dalink.keys import PartnershipKey

MARKER = "qzx"
OPTIONAL = ["middle_name", "sex", "postcode", "local_authority", "risk_level", "referring_agency"]
NAME_ALPHABET = "abcdefghijklmnoprstuvwyABCDEFGHIJKLMNOPRSTUVWY áéïöüçñłšřż'-.,\";\t|\n"

names = st.one_of(
    st.builds(
        lambda before, after: before + MARKER + after,
        st.text(alphabet=NAME_ALPHABET, max_size=12),
        st.text(alphabet=NAME_ALPHABET, max_size=12),
    ),
    st.sampled_from(["", " ", "N/K", "unknown", "Mr " + MARKER, MARKER * 3_000]),
)
CELLS = {
    "record_id": st.one_of(st.sampled_from([f"R{i}" for i in range(12)] + ["", "  ", "R" * 101]), st.uuids().map(str)),
    "given_name": names,
    "middle_name": names,
    "family_name": names,
    "date_of_birth": st.sampled_from(
        ["12/03/1985", "1985-03-12", "12-03-1985", "12 Mar 1985", "31121/", "31/02/1990", "2090-01-01",
         "30000", "0", "", "yesterday", "1985", "01/01/1880", "1/2/03"]
    ),
    "sex": st.sampled_from(["F", "M", "female", "Male", "2", "X", "", "not stated", "?"]),
    "postcode": st.sampled_from(["AL1 3JX", "wd171ab", "ZZ99 3VZ", "", "Q" * 40, "SW1A 1AA", "NOT A POSTCODE", "nfa"]),
    "event_date": st.sampled_from(["2024-01-10", "10/01/2024", "", "2090-01-01", "31/02/2024", "soon"]),
    "event_type": st.sampled_from(["incident", "refuge_referral", "Refuge Referral", "", "x" * 61]),
    "local_authority": st.sampled_from(["E07000240", "e07000103", "", "E99999999", "Hertfordshire"]),
    "role": st.sampled_from(["victim", "Perpetrator", "child", "", "witness"]),
    "risk_level": st.sampled_from(["high", "", "standard", "y" * 61]),
    "referring_agency": st.sampled_from(["", "police", "GP surgery"]),
}


@st.composite
def extracts(draw) -> tuple[bytes, list[str]]:
    """A messy extract file and its data rows as written (before any encoding)."""
    dropped = draw(st.sets(st.sampled_from(OPTIONAL)))
    header = draw(st.permutations([column for column in COLUMNS if column not in dropped]))
    # extra columns dalink does not use, sometimes named twice; sometimes a used column twice
    header = header + draw(st.sampled_from([[], ["notes"], ["notes", "notes"], [header[0]]]))
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        row = [draw(CELLS[column]) if column in CELLS else "a note" for column in header]
        ragged = draw(st.sampled_from([0] * 12 + [-1, 1]))
        if ragged < 0:
            row = row[:-1]
        elif ragged > 0:
            row = row + ["extra"]
        rows.append(row)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    # headers as systems spell them ("Record ID", "GIVEN_NAME"), sometimes under a title line
    spell = draw(st.sampled_from([str, str.upper, lambda name: name.replace("_", " ").title()]))
    writer.writerow([spell(name) for name in header])
    writer.writerows(rows)
    text = draw(st.sampled_from(["", "", "", "Extract of 1 April 2024\n"])) + buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return text.encode(encoding, errors="replace"), [delimiter.join(row) for row in rows if "".join(row).strip()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(extract=extracts())
def test_every_row_is_accounted_for_and_nothing_leaks(tmp_path_factory, key: PartnershipKey, extract) -> None:
    content, data_rows = extract
    directory = tmp_path_factory.mktemp("fuzz")
    source = directory / "extract.csv"
    source.write_bytes(content)
    output = directory / "out.dalink"
    try:
        manifest = encode_file(source, output, agency="police", key=key, today=TODAY, workers=1)
    except DalinkError as error:
        message = str(error)
        assert isinstance(error, InputFileError), message
        assert "\n" not in message and MARKER not in message.lower()
        assert str(source) in message
        assert not output.exists()
        assert sorted(path.name for path in directory.iterdir()) == ["extract.csv"]  # no temporary left behind
        return
    counts = manifest.counts
    assert counts.rows_in == len(data_rows) > 0
    assert counts.rows_in == counts.encoded + counts.rejected
    package = read_package(output)
    assert package.table.num_rows == counts.encoded
    rejects = pd.read_csv(output / REJECTS_FILE, dtype={"reason": str, "column": str})
    assert len(rejects) == counts.rejected
    assert rejects["row_number"].is_unique and rejects["row_number"].between(1, counts.rows_in).all()
    assert rejects["reason"].notna().all()
    record_ids = package.table.column("record_id").to_pylist()
    assert len(set(record_ids)) == len(record_ids)
    for path in output.rglob("*"):
        if path.is_file():
            assert MARKER.encode() not in path.read_bytes().lower(), path.name


def test_generator_reaches_both_outcomes() -> None:
    """The property above is only worth something if the files it sees both fail and succeed."""
    outcomes = set()

    @settings(max_examples=40, deadline=None, database=None)
    @given(extract=extracts())
    def sample(extract) -> None:
        content, data_rows = extract
        outcomes.add("empty" if not data_rows else "rows")
        outcomes.add("ragged" if any(row.endswith("extra") for row in data_rows) else "even")

    sample()
    assert outcomes == {"empty", "rows", "ragged", "even"}
