"""Hardening steps applied to Bloom filters after hashing.

Each step is a function of a boolean bit matrix (one row per record) plus what it needs
from the key; new steps slot in here without touching the encoder. Deterministic steps
(balance, XOR folding, rule 90) depend only on the filter, so the encoder applies them
once per distinct value; the random bit flip depends on the record and runs per row.

The noise of :func:`random_bit_flip` is a SplitMix64 stream seeded per record from a keyed
BLAKE2b hash of (agency, record id): the same package is produced on every rerun, an
attacker without the key cannot predict which bits were flipped, and the same value in two
records is flipped differently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from dalink.encode.schema import Balance, HardeningStep, RandomBitFlip, Rule90, Salt, XorFold

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def splitmix64(values: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        mixed = values + np.uint64(_GOLDEN)
        mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return mixed ^ (mixed >> np.uint64(31))


def splitmix64_int(value: int) -> int:
    """The SplitMix64 finaliser on one Python int (reference implementation)."""
    mixed = (value + _GOLDEN) & _MASK64
    mixed = ((mixed ^ (mixed >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    mixed = ((mixed ^ (mixed >> 27)) * 0x94D049BB133111EB) & _MASK64
    return mixed ^ (mixed >> 31)


def record_seeds(noise_key: bytes, agency: str, record_ids: Sequence[str]) -> np.ndarray:
    """One secret 64-bit seed per record, from the key, the agency and the record id."""
    prefix = agency.encode("utf-8") + b"\x1f"
    seeds = np.empty(len(record_ids), dtype=np.uint64)
    for index, record_id in enumerate(record_ids):
        digest = hashlib.blake2b(prefix + str(record_id).encode("utf-8"), key=noise_key, digest_size=8).digest()
        seeds[index] = int.from_bytes(digest, "little")
    return seeds


def field_constant(noise_key: bytes, field_name: str) -> int:
    """A secret per-field constant so each field of a record gets its own noise stream."""
    digest = hashlib.blake2b(field_name.encode("utf-8"), key=noise_key, digest_size=8, person=b"dalink-field").digest()
    return int.from_bytes(digest, "little")


def keyed_permutation(permutation_key: bytes, length: int) -> np.ndarray:
    """A permutation of ``range(length)`` that only the key holder can compute."""
    ranks = [
        hashlib.blake2b(index.to_bytes(4, "little"), key=permutation_key, digest_size=8).digest()
        for index in range(length)
    ]
    return np.array(sorted(range(length), key=ranks.__getitem__), dtype=np.int64)


def balance(matrix: np.ndarray, permutation_key: bytes) -> np.ndarray:
    """Append the complement, then permute: every filter gets exactly half its bits set."""
    doubled = np.concatenate([matrix, ~matrix], axis=1)
    return doubled[:, keyed_permutation(permutation_key, doubled.shape[1])]


def xor_fold(matrix: np.ndarray, folds: int) -> np.ndarray:
    """XOR the first half with the second, ``folds`` times."""
    for _ in range(folds):
        half = matrix.shape[1] // 2
        matrix = matrix[:, :half] ^ matrix[:, half:]
    return matrix


def rule90(matrix: np.ndarray) -> np.ndarray:
    """Each bit becomes the XOR of its cyclic neighbours."""
    return np.roll(matrix, 1, axis=1) ^ np.roll(matrix, -1, axis=1)


def flip_mask(seeds: np.ndarray, field_seed: int, bits: int, probability: float) -> np.ndarray:
    """Which bits to flip: uniform numbers from SplitMix64(seed ^ field, bit) below ``probability``."""
    with np.errstate(over="ignore"):
        base = splitmix64(seeds ^ np.uint64(field_seed))
        counters = base[:, None] + np.arange(1, bits + 1, dtype=np.uint64)[None, :] * np.uint64(_GOLDEN)
    uniform = (splitmix64(counters) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    return uniform < probability


def random_bit_flip(matrix: np.ndarray, seeds: np.ndarray, field_seed: int, probability: float) -> np.ndarray:
    """Flip each bit with ``probability``, reproducibly for the key and the record."""
    return matrix ^ flip_mask(seeds, field_seed, matrix.shape[1], probability)


def is_deterministic(step: HardeningStep) -> bool:
    """Whether a step depends only on the filter (so it can run once per distinct value)."""
    return not isinstance(step, RandomBitFlip)


def apply_steps(
    matrix: np.ndarray,
    steps: Sequence[HardeningStep],
    *,
    permutation_key: bytes,
    seeds: np.ndarray | None = None,
    field_seed: int = 0,
) -> np.ndarray:
    """Apply hardening steps in order (``Salt`` acts while hashing, so it is skipped here)."""
    for step in steps:
        if isinstance(step, Salt):
            continue
        if isinstance(step, Balance):
            matrix = balance(matrix, permutation_key)
        elif isinstance(step, XorFold):
            matrix = xor_fold(matrix, step.folds)
        elif isinstance(step, Rule90):
            matrix = rule90(matrix)
        elif isinstance(step, RandomBitFlip):
            if seeds is None:
                raise ValueError("random bit flipping needs per-record seeds")
            matrix = random_bit_flip(matrix, seeds, field_seed, step.probability)
        else:  # pragma: no cover
            raise TypeError(f"unknown hardening step {step!r}")
    return matrix
