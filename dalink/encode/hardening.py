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

import functools
import hashlib
import math
from collections.abc import Sequence

import numpy as np

from dalink.encode.keyed_hash import siphash_strings
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
    """One secret 64-bit seed per record: keyed SipHash-2-4 of (agency, record id)."""
    return siphash_strings([f"{agency}\x1f{record_id}" for record_id in record_ids], noise_key)


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


@functools.cache
def flip_count_table(bits: int, probability: float) -> np.ndarray:
    """Cumulative Binomial(bits, probability) probabilities, cut where the remaining tail is negligible (< 1e-12)."""
    cumulative = []
    total = 0.0
    for count in range(bits + 1):
        term = math.comb(bits, count) * probability**count * (1 - probability) ** (bits - count)
        total += term
        cumulative.append(min(total, 1.0))
        if count > bits * probability and term < 1e-13:
            break
    return np.array(cumulative, dtype=np.float64)


def flip_positions(seeds: np.ndarray, field_seed: int, bits: int, probability: float) -> tuple[np.ndarray, np.ndarray]:
    """Per record: how many bits to flip (Binomial) and a row of candidate positions.

    The record's stream is SplitMix64 of ``base + j * golden`` (j = 1, 2, ...) with ``base``
    mixed from the record seed and the field. Word 1 draws the count by inverse CDF; each
    later word gives four positions, one per 16-bit lane (low lane first), modulo ``bits``
    (uniform, with replacement). Returns (counts, positions[n, max_count]).
    """
    table = flip_count_table(bits, probability)
    position_words = -(-(len(table) - 1) // 4)
    with np.errstate(over="ignore"):
        base = splitmix64(seeds ^ np.uint64(field_seed))
        steps = np.arange(1, position_words + 2, dtype=np.uint64) * np.uint64(_GOLDEN)
        stream = splitmix64(base[:, None] + steps[None, :])
    uniform = (stream[:, 0] >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    counts = np.minimum(np.searchsorted(table, uniform, side="right"), len(table) - 1)
    lanes = np.ascontiguousarray(stream[:, 1:]).view(np.uint16)  # little-endian: low lane first
    if lanes.dtype.byteorder == ">" or np.little_endian is False:  # pragma: no cover - big-endian hosts
        lanes = np.stack([(stream[:, 1:] >> np.uint64(16 * lane)) & np.uint64(0xFFFF) for lane in range(4)], axis=2)
        lanes = lanes.reshape(stream.shape[0], -1)
    positions = lanes.astype(np.int64) % bits
    return counts, positions


def random_bit_flip(matrix: np.ndarray, seeds: np.ndarray, field_seed: int, probability: float) -> np.ndarray:
    """Flip Binomial(bits, p) random bits per record, reproducibly for the key and the record.

    Equivalent in expectation to flipping each bit with probability ``p`` (BLIP), at a cost
    proportional to the flips rather than to the filter length. A position drawn twice is
    flipped twice (back), exactly as the reference does.
    """
    counts, positions = flip_positions(seeds, field_seed, matrix.shape[1], probability)
    used = np.arange(positions.shape[1])[None, :] < counts[:, None]
    rows = np.broadcast_to(np.arange(matrix.shape[0])[:, None], positions.shape)[used]
    flat = rows.astype(np.int64) * matrix.shape[1] + positions[used]
    cells, times = np.unique(flat, return_counts=True)
    flipped = matrix.copy()
    flipped.reshape(-1)[cells[times % 2 == 1]] ^= True
    return flipped


def flip_draws(seeds: np.ndarray, field_seed: int, bits: int, probability: float) -> tuple[np.ndarray, np.ndarray]:
    """The same draws as :func:`flip_positions`, as flat (row, position) pairs of the flips actually made.

    Why: :func:`flip_positions` computes every candidate word for every record (the
    Binomial tail is long), while a record uses only ``ceil(count / 4)`` of them; computing
    just those cuts the mixing work about threefold on large extracts.
    """
    table = flip_count_table(bits, probability)
    with np.errstate(over="ignore"):
        base = splitmix64(seeds ^ np.uint64(field_seed))
        first = splitmix64(base + np.uint64(_GOLDEN))
    uniform = (first >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    counts = np.minimum(np.searchsorted(table, uniform, side="right"), len(table) - 1).astype(np.int64)
    words = (counts + 3) // 4
    word_rows = np.repeat(np.arange(len(seeds), dtype=np.int64), words)
    word_starts = np.cumsum(words) - words
    word_index = np.arange(len(word_rows), dtype=np.int64) - np.repeat(word_starts, words)
    with np.errstate(over="ignore"):
        stream = splitmix64(base[word_rows] + (word_index.astype(np.uint64) + np.uint64(2)) * np.uint64(_GOLDEN))
    if np.little_endian:  # the four 16-bit lanes of each word, low lane first, without shifting
        lanes = stream.view(np.uint16).reshape(-1, 4)
    else:  # pragma: no cover - big-endian hosts
        shifts = np.arange(4, dtype=np.uint64) * np.uint64(16)
        lanes = ((stream[:, None] >> shifts[None, :]) & np.uint64(0xFFFF)).astype(np.uint16)
    lanes_used = np.minimum(counts[word_rows] - 4 * word_index, 4)
    used = np.arange(4)[None, :] < lanes_used[:, None]
    rows = np.broadcast_to(word_rows[:, None], used.shape)[used]
    return rows, lanes[used].astype(np.int64) % bits


def random_bit_flip_packed(
    packed: np.ndarray, seeds: np.ndarray, field_seed: int, bits: int, probability: float
) -> None:
    """:func:`random_bit_flip` on filters packed by ``np.packbits`` (big-endian bits), in place.

    Why: flipping on packed bytes avoids expanding every record to one byte per bit. A
    position drawn twice is XORed twice, so it ends unflipped, as in the reference.
    """
    rows, positions = flip_draws(seeds, field_seed, bits, probability)
    flat = rows * packed.shape[1] + (positions >> 3)
    masks = (np.uint8(0x80) >> (positions & 7).astype(np.uint8)).astype(np.uint8)
    np.bitwise_xor.at(packed.reshape(-1), flat, masks)


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


def apply_steps_packed(
    packed: np.ndarray, steps: Sequence[HardeningStep], bits: int, *, permutation_key: bytes
) -> np.ndarray:
    """:func:`apply_steps` on filters packed by ``np.packbits``, for deterministic steps.

    XOR folds that halve whole bytes fold the packed bytes directly (bit ``i`` and bit
    ``i + half`` sit at the same place in bytes ``i // 8`` and ``i // 8 + half // 8``);
    any other step unpacks, applies the boolean reference and packs again.
    """
    remaining = list(steps)
    while remaining and isinstance(remaining[0], (Salt, XorFold)):
        step = remaining.pop(0)
        if isinstance(step, XorFold):
            if (bits >> step.folds) % 8:
                remaining.insert(0, step)
                break
            for _ in range(step.folds):
                half = packed.shape[1] // 2
                packed = packed[:, :half] ^ packed[:, half:]
                bits //= 2
    if not remaining:
        return np.ascontiguousarray(packed)
    matrix = np.unpackbits(packed, axis=1, count=bits).astype(bool)
    return np.packbits(apply_steps(matrix, remaining, permutation_key=permutation_key), axis=1)
