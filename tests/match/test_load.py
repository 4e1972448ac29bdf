from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from match_helpers import TEST_SECRET, TODAY, encode_partnership, synthetic_partnership
from dalink.encode.encoder import encode_file, encode_frame
from dalink.encode.extract import read_extract
from dalink.encode.package import write_package
from dalink.encode.schema import default_schema
from dalink.errors import InputFileError, LinkageError, PackageError
from dalink.keys import PartnershipKey
from dalink.match.load import load_packages


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    return synthetic_partnership(people=30, seed=5)


import pandas as pd  # noqa: E402


def test_loads_and_stacks_packages(partnership: list[Path]) -> None:
    records = load_packages(partnership)
    assert records.agencies == ("police", "marac", "refuge")
    assert len(records) == len(records.events) == len(records.record_ids)
    assert set(records.filters) == {field.name for field in default_schema().fields}
    for filters in records.filters.values():
        assert filters.words.shape[0] == len(records)
        assert (filters.popcounts[~filters.present] == 0).all()


def test_refuses_a_different_key(tmp_path: Path, small: dict[str, pd.DataFrame]) -> None:
    first = encode_partnership(tmp_path, {"police": small["police"]}, PartnershipKey(TEST_SECRET))[0]
    (tmp_path / "other").mkdir()
    second = encode_partnership(tmp_path / "other", {"marac": small["marac"]}, PartnershipKey(bytes(range(1, 33))))[0]
    with pytest.raises(LinkageError, match="marac.dalink.*different partnership key"):
        load_packages([first, second])


def test_refuses_a_different_schema(tmp_path: Path, small: dict[str, pd.DataFrame]) -> None:
    key = PartnershipKey(TEST_SECRET)
    first = encode_partnership(tmp_path, {"police": small["police"]}, key)[0]
    schema = default_schema()
    changed = schema.model_copy(update={"fields": tuple(f.model_copy(update={"hash_functions": 9}) if f.name == "sex" else f for f in schema.fields)})
    small["marac"].to_csv(tmp_path / "m.csv", index=False)
    encode_file(tmp_path / "m.csv", tmp_path / "marac.dalink", agency="marac", key=key, schema=changed, today=TODAY)
    with pytest.raises(LinkageError, match="marac.dalink.*different linkage schema.*field sex is encoded differently"):
        load_packages([first, tmp_path / "marac.dalink"])


def test_refuses_duplicate_agency_names(partnership: list[Path]) -> None:
    with pytest.raises(LinkageError, match="agency name 'police' is also used"):
        load_packages([partnership[0], partnership[0]])


def test_refuses_a_tampered_package(tmp_path: Path, partnership: list[Path]) -> None:
    copy = tmp_path / "police.dalink"
    shutil.copytree(partnership[0], copy)
    records = copy / "records.parquet"
    data = bytearray(records.read_bytes())
    data[len(data) // 2] ^= 0xFF
    records.write_bytes(bytes(data))
    with pytest.raises(PackageError, match="checksum"):
        load_packages([copy, partnership[1]])


def test_refuses_an_empty_package(tmp_path: Path, small: dict[str, pd.DataFrame]) -> None:
    key = PartnershipKey(TEST_SECRET)
    first = encode_partnership(tmp_path, {"police": small["police"]}, key)[0]
    empty = small["marac"].assign(given_name="", family_name="", date_of_birth="")
    empty.to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(InputFileError, match="every one of its"):  # dalink encode refuses to write it ...
        encode_file(tmp_path / "e.csv", tmp_path / "marac.dalink", agency="marac", key=key, today=TODAY)
    # ... so write it as an older dalink or another tool might have: every row rejected
    result = encode_frame(read_extract(tmp_path / "e.csv"), agency="marac", key=key, today=TODAY)
    schema = default_schema()
    write_package(
        tmp_path / "marac.dalink",
        table=result.table,
        rejects=result.rejects,
        manifest_fields={"agency": "marac", "source_name": "e.csv", "schema": schema, "schema_hash": schema.hash,
                         "key_fingerprint": key.fingerprint, "counts": result.counts},
    )
    assert result.table.num_rows == 0
    with pytest.raises(LinkageError, match="marac.dalink: the package holds no encoded records"):
        load_packages([first, tmp_path / "marac.dalink"])


def test_refuses_no_packages() -> None:
    with pytest.raises(LinkageError, match="at least one package"):
        load_packages([])
