from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sample_data import TODAY
from dalink.encode.encoder import encode_file
from dalink.encode.package import MANIFEST_FILE, RECORDS_FILE, read_package
from dalink.errors import OutputExistsError, PackageError
from dalink.keys import PartnershipKey


@pytest.fixture
def package(tmp_path: Path, sample_csv: Path, key: PartnershipKey) -> Path:
    output = tmp_path / "police.dalink"
    encode_file(sample_csv, output, agency="police", key=key, today=TODAY)
    return output


def test_package_layout_and_manifest(package: Path, key: PartnershipKey) -> None:
    assert sorted(path.name for path in package.iterdir()) == [MANIFEST_FILE, "records.parquet", "rejects.csv"]
    loaded = read_package(package)
    manifest = loaded.manifest
    assert manifest.agency == "police" and manifest.key_fingerprint == key.fingerprint
    assert manifest.schema_hash == manifest.schema_.hash
    assert manifest.counts.rows_in == manifest.counts.encoded + manifest.counts.rejected == 5
    assert len(loaded) == manifest.counts.encoded
    filters, present = loaded.bloom_filters("given_name")
    bits = manifest.schema_.field("given_name").encoded_bits
    assert filters.dtype == np.uint64 and filters.shape == (len(loaded), bits // 64) and present.all()
    _, postcode_present = loaded.bloom_filters("postcode")
    assert postcode_present.tolist() == [True, True, False, True, False]  # blank and ZZ99 are missing
    assert list(loaded.events().columns) == [
        "record_id", "event_date", "event_type", "local_authority", "role", "risk_level", "referring_agency",
    ]


def test_rerun_gives_identical_records(tmp_path: Path, sample_csv: Path, key: PartnershipKey, package: Path) -> None:
    again = tmp_path / "again.dalink"
    encode_file(sample_csv, again, agency="police", key=key, today=TODAY)
    assert (again / RECORDS_FILE).read_bytes() == (package / RECORDS_FILE).read_bytes()


def test_existing_output_is_refused_and_untouched(package: Path, sample_csv: Path, key: PartnershipKey) -> None:
    before = (package / MANIFEST_FILE).read_bytes()
    with pytest.raises(OutputExistsError):
        encode_file(sample_csv, package, agency="police", key=key, today=TODAY)
    assert (package / MANIFEST_FILE).read_bytes() == before


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / RECORDS_FILE).write_bytes((p / RECORDS_FILE).read_bytes()[:-10]), "truncated"),
        (lambda p: (p / "rejects.csv").write_text("row_number,record_id,column,reason\n9,X,,forged\n"), "size|checksum"),
        (lambda p: (p / RECORDS_FILE).unlink(), "missing"),
        (lambda p: (p / MANIFEST_FILE).write_text("{"), "not valid JSON"),
    ],
)
def test_tampered_or_truncated_packages_are_refused(package: Path, damage, message: str) -> None:
    damage(package)
    with pytest.raises(PackageError, match=message):
        read_package(package)


def test_manifest_schema_tampering_detected(package: Path) -> None:
    manifest = json.loads((package / MANIFEST_FILE).read_text())
    manifest["schema"]["fields"][0]["hash_functions"] = 3
    (package / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(PackageError, match="schema does not match"):
        read_package(package)


def test_failed_run_leaves_nothing(tmp_path: Path, key: PartnershipKey) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    output = tmp_path / "out.dalink"
    with pytest.raises(Exception):
        encode_file(empty, output, agency="police", key=key)
    assert not output.exists()
    assert [path.name for path in tmp_path.iterdir()] == ["empty.csv"]
