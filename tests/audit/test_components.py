"""The attack building blocks: reference tables, clustering, alignment, unbalancing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dalink.audit.alignment import Candidates, align
from dalink.audit.clustering import cluster_encodings, noise_radius, pack_bits, unpack_bits
from dalink.audit.frequencies import ReferenceError, default_reference_frequencies, load_reference_frequencies
from dalink.audit.pattern_mining import unbalance
from dalink.encode.hardening import balance
from dalink.errors import DalinkError


def test_shipped_tables_load_and_are_normalised():
    reference = default_reference_frequencies()
    assert "SOURCES" not in reference.source and reference.source
    for field in ("given_name", "family_name", "date_of_birth", "sex"):
        distribution = reference.field_distribution(field)
        assert distribution is not None
        assert distribution.probabilities.sum() == pytest.approx(1.0)
        assert np.all(np.diff(distribution.probabilities) <= 1e-15)
    surnames = reference.surname_distribution()
    assert surnames.values[0] == "smith"
    assert all(value == value.lower() for value in surnames.values[:100])
    assert reference.field_distribution("postcode") is None
    assert set(reference.sex_distribution().values) == {"F", "M"}


def test_reference_directory_errors(tmp_path):
    with pytest.raises(ReferenceError, match="not a directory"):
        load_reference_frequencies(tmp_path / "missing")
    (tmp_path / "given_names.csv").write_text("name,sex,weight\nAlice,F,3\n")
    with pytest.raises(DalinkError, match="surnames.csv"):
        load_reference_frequencies(tmp_path)


def _noisy_copies(generator, values: np.ndarray, sizes: list[int], probability: float) -> tuple[np.ndarray, np.ndarray]:
    rows, owners = [], []
    for value, size in enumerate(sizes):
        for _ in range(size):
            flips = generator.random(values.shape[1]) < probability
            rows.append(values[value] ^ flips)
            owners.append(value)
    return pack_bits(np.asarray(rows)), np.asarray(owners)


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=2, max_size=12),
    probability=st.sampled_from([0.0, 0.01, 0.02, 0.04]),
    seed=st.integers(0, 10_000),
)
def test_clustering_recovers_values_under_noise(sizes, probability, seed):
    """Copies of a value end up together, and the majority centroid of a big cluster is the value."""
    generator = np.random.default_rng(seed)
    values = generator.random((len(sizes), 256)) < 0.2
    words, owners = _noisy_copies(generator, values, sizes, probability)
    clusters = cluster_encodings(words, flip_probability=probability, random_state=seed)
    assert clusters.counts.sum() == len(owners)
    assert np.all(np.diff(clusters.counts) <= 0)
    for value, size in enumerate(sizes):
        labels = clusters.labels[owners == value]
        dominant = np.bincount(labels).argmax()
        assert (labels == dominant).mean() >= (0.8 if size >= 5 else 0.0)
        if size >= 10:
            assert np.array_equal(unpack_bits(clusters.centroids[dominant : dominant + 1])[0], values[value])
        # distinct values never share a cluster (they differ in ~80 bits, far beyond the radius)
        others = clusters.labels[owners != value]
        if size >= 5:
            assert dominant not in set(others.tolist())


def test_noise_radius_grows_with_noise():
    assert noise_radius(512, 0.0) == 0
    assert noise_radius(512, 0.02) < noise_radius(512, 0.05) < noise_radius(512, 0.10)


def test_alignment_claims_the_clear_cases_only():
    probabilities = np.array([0.30, 0.15, 0.05] + [0.5 / 500] * 500)
    candidates = Candidates(
        claim_values=np.array([f"v{index}" for index in range(len(probabilities))], dtype=object),
        slot_value=np.arange(len(probabilities)),
        probabilities=probabilities,
    )
    counts = np.array([3000, 1500, 500, 1, 1, 2])
    alignment = align(counts, None, candidates, total=10_000)
    assert list(alignment.guess[:3]) == [0, 1, 2]
    assert np.all(alignment.confidence[:3] > 0.9)
    assert np.all(alignment.confidence[3:] < 0.1)


def test_unbalance_recovers_the_original_bits():
    generator = np.random.default_rng(3)
    original = generator.random((400, 128)) < 0.15
    balanced = balance(original, b"k" * 64)
    recovered = unbalance(balanced, np.ones(len(balanced), dtype=np.float32))
    assert recovered.shape == original.shape
    original_columns = {column.tobytes() for column in original.T}
    assert {column.tobytes() for column in recovered.T} == original_columns


def test_unbalance_leaves_unbalanced_filters_alone():
    generator = np.random.default_rng(4)
    matrix = generator.random((300, 128)) < 0.2
    assert unbalance(matrix, np.ones(300, dtype=np.float32)).shape == matrix.shape


def test_reference_frequencies_validate_columns():
    with pytest.raises(ReferenceError, match="lacks column"):
        from dalink.audit.frequencies import ReferenceFrequencies

        ReferenceFrequencies(pd.DataFrame({"name": ["a"]}), pd.DataFrame({"name": [], "weight": []}),
                             pd.DataFrame({"year": [], "weight": []}))
