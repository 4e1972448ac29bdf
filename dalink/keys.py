"""The partnership key: generation, loading, fingerprints and key derivation.

Security reasoning, in short:

* The key is 256 random bits from :func:`secrets.token_bytes`, stored hex-encoded in a file
  created with mode 0600. It is read from a file or an environment variable, never from a
  command-line argument (argv is visible to every user of the machine through ``ps``).
* Nothing is keyed with the partnership key directly. Each use (one per Bloom-filter field,
  one per blocking key, one for the record noise of the hardening) gets its own subkey from
  HKDF-SHA256 (RFC 5869) with a distinct ``info`` label, so that a weakness in one use does
  not spill into another and encodings under different keys are unrelated.
* The fingerprint is an HMAC of a fixed label: it proves two packages were made with the
  same key without revealing anything about the key.
* :class:`PartnershipKey` never shows its bytes in ``repr``/``str`` and refuses pickling.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from dalink.errors import KeyFileError, OutputExistsError

KEY_BYTES = 32
KEY_ENVIRONMENT_VARIABLE = "DALINK_KEY"
KEY_FILE_ENVIRONMENT_VARIABLE = "DALINK_KEY_FILE"
_FINGERPRINT_LABEL = b"dalink/v1/key-fingerprint"


def hkdf_sha256(key: bytes, *, info: bytes, length: int = 32, salt: bytes = b"") -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with ``salt``, expand with ``info`` to ``length`` bytes."""
    if length > 255 * 32:
        raise ValueError("HKDF-SHA256 cannot produce more than 8160 bytes")
    pseudo_random_key = hmac.new(salt or b"\x00" * 32, key, hashlib.sha256).digest()
    output = b""
    block = b""
    counter = 1
    while len(output) < length:
        block = hmac.new(pseudo_random_key, block + info + bytes([counter]), hashlib.sha256).digest()
        output += block
        counter += 1
    return output[:length]


class PartnershipKey:
    """A partnership's secret key. Its bytes never appear in ``repr``, ``str`` or pickles."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, (bytes, bytearray)):
            raise KeyFileError("the partnership key must be bytes")
        if len(secret) < KEY_BYTES:
            raise KeyFileError(
                f"the partnership key is too short: {len(secret) * 8} bits, at least {KEY_BYTES * 8} are required"
            )
        self._secret = bytes(secret)

    def derive(self, purpose: str, length: int = 32) -> bytes:
        """A subkey for one purpose (e.g. ``"bloom/given_name"``), unrelated to every other purpose."""
        return hkdf_sha256(self._secret, info=b"dalink/v1/" + purpose.encode("utf-8"), length=length)

    @property
    def fingerprint(self) -> str:
        """A public identifier of the key: equal keys have equal fingerprints; it reveals nothing else."""
        return hmac.new(self._secret, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:32]

    def __repr__(self) -> str:
        return f"PartnershipKey(fingerprint={self.fingerprint!r})"

    __str__ = __repr__

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("a PartnershipKey cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartnershipKey) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.fingerprint)


def generate_key_file(path: str | os.PathLike[str]) -> PartnershipKey:
    """Write a new random 256-bit key to ``path`` (mode 0600). Refuses to overwrite."""
    target = Path(path)
    if target.exists():
        raise OutputExistsError(f"{target}: the key file exists; dalink never overwrites a key")
    if not target.parent.exists():
        raise KeyFileError(f"{target}: the directory {target.parent} does not exist")
    secret = secrets.token_bytes(KEY_BYTES)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret.hex() + "\n")
    os.chmod(target, 0o600)
    return PartnershipKey(secret)


def _parse_key_text(text: str, source: str) -> PartnershipKey:
    cleaned = text.strip()
    if not cleaned:
        raise KeyFileError(f"{source}: the key is empty")
    try:
        secret = bytes.fromhex(cleaned)
    except ValueError:
        raise KeyFileError(f"{source}: the key is not hexadecimal (expected {KEY_BYTES * 2} hex digits)") from None
    if len(secret) < KEY_BYTES:
        raise KeyFileError(
            f"{source}: the key is too short: {len(secret) * 8} bits, at least {KEY_BYTES * 8} are required"
        )
    return PartnershipKey(secret)


def load_key_file(path: str | os.PathLike[str]) -> PartnershipKey:
    """Read a key written by :func:`generate_key_file`."""
    source = Path(path)
    try:
        text = source.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(f"{source}: the key file does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(f"{source}: the key file cannot be read ({type(error).__name__})") from None
    return _parse_key_text(text, str(source))


def load_key(key_file: str | os.PathLike[str] | None = None) -> PartnershipKey:
    """The key from ``key_file``, else ``$DALINK_KEY_FILE``, else ``$DALINK_KEY`` (hex)."""
    if key_file is not None:
        return load_key_file(key_file)
    if os.environ.get(KEY_FILE_ENVIRONMENT_VARIABLE):
        return load_key_file(os.environ[KEY_FILE_ENVIRONMENT_VARIABLE])
    if os.environ.get(KEY_ENVIRONMENT_VARIABLE):
        return _parse_key_text(os.environ[KEY_ENVIRONMENT_VARIABLE], f"${KEY_ENVIRONMENT_VARIABLE}")
    raise KeyFileError(
        f"no partnership key: pass --key-file, or set ${KEY_FILE_ENVIRONMENT_VARIABLE} or ${KEY_ENVIRONMENT_VARIABLE}"
    )
