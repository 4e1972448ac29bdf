"""Vectorised keyed hashing of many strings: SipHash-2-4 through pandas' C implementation.

SipHash-2-4 is a keyed pseudo-random function (a MAC) designed for short inputs. pandas
exposes it as ``hash_array(..., hash_key=<16 characters>)`` and UTF-8-encodes the key, so
dalink passes 16 ASCII characters made from 7 bits of each of 16 subkey bytes: a 112-bit
key, far beyond brute force. Used where millions of short strings must be hashed (record
noise seeds, blocking-key parts); token positions keep BLAKE2b because there are few tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def siphash_key(subkey: bytes) -> str:
    """The 16-ASCII-character form of a subkey that pandas' SipHash accepts (112 key bits)."""
    if len(subkey) < 16:
        raise ValueError("SipHash needs a subkey of at least 16 bytes")
    return "".join(chr(byte & 0x7F) for byte in subkey[:16])


def siphash_strings(texts: Sequence[str] | np.ndarray, subkey: bytes) -> np.ndarray:
    """Keyed 64-bit SipHash-2-4 of each string, as ``uint64``."""
    values = np.asarray(texts, dtype=object)
    if values.size == 0:
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_array(values, hash_key=siphash_key(subkey), categorize=False).astype(np.uint64)
