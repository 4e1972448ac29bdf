from __future__ import annotations

import pickle
import stat
from pathlib import Path

import pytest

from dalink.errors import KeyFileError, OutputExistsError
from dalink.keys import PartnershipKey, generate_key_file, hkdf_sha256, load_key, load_key_file


def test_hkdf_matches_rfc5869_test_case_1() -> None:
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    expected = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    assert hkdf_sha256(ikm, info=info, salt=salt, length=42).hex() == expected


def test_generate_writes_0600_and_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "p.key"
    key = generate_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key_file(path) == key
    with pytest.raises(OutputExistsError):
        generate_key_file(path)


def test_two_generated_keys_differ(tmp_path: Path) -> None:
    assert generate_key_file(tmp_path / "a").fingerprint != generate_key_file(tmp_path / "b").fingerprint


@pytest.mark.parametrize("content", ["", "not hex at all", "abcd", "00" * 16])
def test_bad_key_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.key"
    path.write_text(content)
    with pytest.raises(KeyFileError) as caught:
        load_key_file(path)
    assert str(path) in str(caught.value)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        load_key_file(tmp_path / "nope.key")


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch, key: PartnershipKey) -> None:
    monkeypatch.delenv("DALINK_KEY_FILE", raising=False)
    monkeypatch.setenv("DALINK_KEY", bytes(range(100, 132)).hex())
    assert load_key() == key
    monkeypatch.delenv("DALINK_KEY")
    with pytest.raises(KeyFileError, match="no partnership key"):
        load_key()


def test_key_never_shows_its_bytes(key: PartnershipKey) -> None:
    secret = bytes(range(100, 132))
    for text in (repr(key), str(key), f"{key}", key.fingerprint):
        assert secret.hex() not in text
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_subkeys_differ_by_purpose_and_key(key: PartnershipKey, other_key: PartnershipKey) -> None:
    assert key.derive("bloom/given_name") != key.derive("bloom/family_name")
    assert key.derive("bloom/given_name") != other_key.derive("bloom/given_name")
    assert key.fingerprint != other_key.fingerprint
