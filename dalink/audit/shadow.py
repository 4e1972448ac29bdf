"""What an attacker can compute from the public schema alone, with a key of its own.

The schema says how values become tokens and how filters are hardened; only the key is
secret. So the attacker can encode the public reference values under *its own* random keys
and measure every key-independent property of an encoding: how many bits a value sets (which
tracks the length of a name), which tokens it holds, what salt it would carry. These
"shadow" encodings are how the audit's attacks turn public frequency tables into something
comparable with the package.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np

from dalink.audit.frequencies import ReferenceFrequencies, ValueDistribution
from dalink.encode import hardening
from dalink.encode.bloom import FieldHasher, salted
from dalink.encode.schema import Balance, FieldSpec, RandomBitFlip, Rule90, Salt, XorFold
from dalink.encode.tokenise import field_tokens
from dalink.keys import PartnershipKey

MISSING_SALT_SHARE = 0.03


@dataclass(frozen=True)
class SaltDistribution:
    """Salt values a salted field's tokens may carry, with the attacker's probabilities."""

    values: np.ndarray  # object; "" is the salt of a record whose salt source is missing
    probabilities: np.ndarray


def salt_step(spec: FieldSpec) -> Salt | None:
    return next((step for step in spec.hardening if isinstance(step, Salt)), None)


def flip_probability(spec: FieldSpec) -> float:
    """The schema's per-record bit-flip probability for a field (0 without noise)."""
    return next((step.probability for step in spec.hardening if isinstance(step, RandomBitFlip)), 0.0)


def has_step(spec: FieldSpec, kind: type) -> bool:
    return any(isinstance(step, kind) for step in spec.hardening)


def mixes_bits(spec: FieldSpec) -> bool:
    """Whether a hardening step makes set bits depend on more than one token (XOR folding, rule 90)."""
    return has_step(spec, XorFold) or has_step(spec, Rule90)


def salt_distribution(step: Salt | None, reference: ReferenceFrequencies) -> SaltDistribution:
    """The attacker's prior over salts: birth years (or decades, or sexes) plus a little missing."""
    if step is None:
        return SaltDistribution(np.array([None], dtype=object), np.array([1.0]))
    if step.source == "sex":
        base = reference.sex_distribution()
        values, probabilities = base.values, base.probabilities
    else:
        years = reference.birth_year_distribution()
        if step.source == "birth_decade":
            decades: dict[str, float] = {}
            for year, probability in zip(years.values, years.probabilities):
                decades[year[:3]] = decades.get(year[:3], 0.0) + probability
            values = np.array(list(decades), dtype=object)
            probabilities = np.array(list(decades.values()))
        else:
            values, probabilities = years.values, years.probabilities
    values = np.concatenate([values, np.array([""], dtype=object)])
    probabilities = np.concatenate([probabilities * (1 - MISSING_SALT_SHARE), [MISSING_SALT_SHARE]])
    return SaltDistribution(values, probabilities)


def _shadow_matrix(spec: FieldSpec, values: list[str], key: PartnershipKey) -> np.ndarray:
    hasher = FieldHasher(spec, key)
    matrix = hasher.matrix(values)
    deterministic = [step for step in spec.hardening if hardening.is_deterministic(step) and not isinstance(step, Salt)]
    return hardening.apply_steps(matrix, deterministic, permutation_key=key.derive(f"permute/{spec.name}", 64))


def shadow_popcounts(spec: FieldSpec, values: np.ndarray, *, keys: int = 2, random_state: int | None = None) -> tuple[np.ndarray, float]:
    """Expected set bits of each value's (noise-free) encoding, and their spread across keys."""
    if len(values) == 0:
        return np.zeros(0), 1.0
    generator = np.random.default_rng(random_state)
    results = []
    for _ in range(keys):
        secret = generator.bytes(32) if random_state is not None else secrets.token_bytes(32)
        matrix = _shadow_matrix(spec, [str(value) for value in values], PartnershipKey(secret))
        results.append(matrix.sum(axis=1).astype(np.float64))
    stacked = np.stack(results)
    mean = stacked.mean(axis=0)
    spread = float(np.std(stacked[0] - stacked[1]) / np.sqrt(2)) if keys > 1 else 1.0
    return mean, max(spread, 0.75)


def noisy_popcount_shift(spec: FieldSpec) -> tuple[float, float, float]:
    """How record noise moves a filter's set-bit count: (scale, offset, extra spread)."""
    probability = flip_probability(spec)
    bits = spec.encoded_bits
    return 1 - 2 * probability, bits * probability, float(np.sqrt(bits * probability * (1 - probability)))


def value_tokens(spec: FieldSpec, distribution: ValueDistribution) -> list[list[str]]:
    """The tokens each reference value puts in a filter (the tokeniser is public)."""
    return [field_tokens(str(value), spec) for value in distribution.values]


def salted_tokens(tokens: list[str], salt: str | None) -> list[str]:
    return [salted(token, salt) for token in tokens] if salt is not None else tokens


def balanced(spec: FieldSpec) -> bool:
    return has_step(spec, Balance)
