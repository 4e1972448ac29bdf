"""Blocking: which record pairs are compared at all.

Comparing every pair of a million records is 5·10¹¹ comparisons; blocking keeps the pairs
that share *something*. Each pass groups records by one key and pairs records within a
group:

* **keyed passes** use the keyed blocking keys of the package (``bk_<name>``: e.g. surname
  Soundex + birth year), so records that agree on those coarse parts meet;
* **LSH passes** use MinHash bands over the set bits of the name and date-of-birth Bloom
  filters (one-permutation hashing: one keyed-independent random permutation split into
  bins; a band is a few bins' minima), so records with *no* exact key in common but similar
  filters still meet. The number of bins per band is chosen from the data so that the
  expected number of pairs per record stays small however big the input is.

The union of the passes is produced without ever holding all pairs: a pair found by pass
``k`` is dropped if an earlier pass already produced it (the two records share that pass's
key), so every candidate pair comes out exactly once, in chunks. Groups larger than a cap
are skipped (they say little and cost quadratically); the statistics record how many.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from dalink.match import kernels
from dalink.match.kernels import Backend, use_compiled
from dalink.match.load import RecordSet

logger = logging.getLogger(__name__)

LSH_FIELDS = ("given_name", "family_name", "date_of_birth")
LSH_FIELD_GROUPS: tuple[tuple[str, ...], ...] = (
    LSH_FIELDS,
    ("date_of_birth", "postcode"),
    ("family_name", "postcode"),
    ("given_name", "postcode"),
    ("date_of_birth",),
    ("postcode",),
)
MAX_ROWS_PER_BAND = 10
MAX_SKIPPED_SHARE = 0.01


@dataclass
class BlockingPass:
    """One pass: records sharing ``values`` (where ``present``) are paired."""

    name: str
    kind: str  # "key" or "lsh"
    values: np.ndarray
    present: np.ndarray
    fields: tuple[str, ...]
    max_block_size: int
    processed: np.ndarray = field(init=False)  # records whose group was not skipped for size

    def __post_init__(self) -> None:
        order, starts, sizes = sorted_blocks(self.values, self.present)
        keep = sizes <= self.max_block_size
        self.processed = np.zeros(len(self.values), dtype=bool)
        self.processed[order[np.repeat(keep, sizes)]] = True
        self._order, self._starts, self._sizes = order, starts, sizes

    def blocks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(records sorted by key, group starts, group sizes)."""
        return self._order, self._starts, self._sizes

    def agrees(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Whether this pass pairs ``left[i]`` with ``right[i]``."""
        return self.present[left] & self.present[right] & (self.values[left] == self.values[right]) & self.processed[left]


@dataclass
class PassStatistics:
    """What one pass contributed (reported in ``summary.json``)."""

    name: str
    kind: str
    fields: list[str]
    pairs_in_pass: int = 0
    new_pairs: int = 0
    groups: int = 0
    skipped_groups: int = 0
    skipped_records: int = 0
    reduction_ratio: float = 1.0
    estimated_recall: float | None = None


@dataclass
class PairChunk:
    """Candidate pairs (``left < right`` record indices) found by one pass."""

    left: np.ndarray
    right: np.ndarray
    pass_index: int


def sorted_blocks(values: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Records with a key, sorted by key; where each group starts and how big it is."""
    indices = np.flatnonzero(present)
    order = indices[np.argsort(values[indices], kind="stable")]
    if len(order) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return order, empty, empty
    sorted_values = values[order]
    starts = np.concatenate([[0], np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1])
    sizes = np.diff(np.concatenate([starts, [len(order)]]))
    return order, starts, sizes


def pairs_within_blocks(order: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of records inside each group (vectorised), as ``(smaller, larger)`` indices."""
    if len(sizes) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    positions = np.repeat(starts, sizes) + offsets
    partners = np.repeat(sizes, sizes) - offsets - 1
    left_positions = np.repeat(positions, partners)
    steps = np.arange(int(partners.sum())) - np.repeat(np.cumsum(partners) - partners, partners)
    right_positions = left_positions + 1 + steps
    first, second = order[left_positions], order[right_positions]
    return np.minimum(first, second), np.maximum(first, second)


def minhash_bins(
    records: RecordSet,
    *,
    bins: int = 64,
    fields: Sequence[str] = LSH_FIELDS,
    random_state: int = 0,
    chunk: int = 65_536,
    backend: Backend = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """One-permutation MinHash of the set bits of the concatenated filters.

    Returns ``(minima, present)``: per record and bin the position of the first set bit in
    that bin under a random permutation (``bin width`` when the bin is empty), and whether
    the record has any of the fields.
    """
    fields = [name for name in fields if name in records.filters]
    if not fields:
        return np.zeros((len(records), 0), dtype=np.uint8), np.zeros(len(records), dtype=bool)
    total_bits = sum(records.filters[name].bits for name in fields)
    width = max(1, min(255, total_bits // bins))
    generator = np.random.default_rng(random_state)
    permutation = generator.permutation(total_bits)[: width * bins]
    present = np.zeros(len(records), dtype=bool)
    for name in fields:
        present |= records.filters[name].present
    minima = np.empty((len(records), bins), dtype=np.uint8)
    if use_compiled(backend):
        word_index = (permutation // 64).astype(np.int64)
        bit_index = (permutation % 64).astype(np.uint64)
        for start in range(0, len(records), chunk):
            words = np.hstack([records.filters[name].words[start : start + chunk] for name in fields])
            kernels.minhash_bins_compiled(words, word_index, bit_index, bins, width, minima[start : start + chunk])
        return minima, present
    for start in range(0, len(records), chunk):
        parts = [
            np.unpackbits(records.filters[name].words[start : start + chunk].view(np.uint8), axis=1, bitorder="little")
            for name in fields
        ]
        bits = np.concatenate(parts, axis=1)[:, permutation].reshape(-1, bins, width)
        first = np.argmax(bits, axis=2).astype(np.uint8)
        first[~bits.any(axis=2)] = width
        minima[start : start + chunk] = first
    return minima, present


def band_keys(minima: np.ndarray, rows: int, band: int) -> np.ndarray:
    """The key of one band: its ``rows`` bin minima packed into one integer."""
    columns = minima[:, band * rows : (band + 1) * rows].astype(np.int64)
    key = np.zeros(len(minima), dtype=np.int64)
    for column in range(columns.shape[1]):
        key = key * 257 + columns[:, column]
    return key


def expected_pairs(values: np.ndarray, present: np.ndarray, max_block_size: int) -> int:
    """Pairs a key would produce (groups above the cap excluded)."""
    return band_load(values, present, max_block_size).pairs


@dataclass(frozen=True)
class BandLoad:
    """What one band would cost: pairs in groups within the cap, and records in groups above it."""

    pairs: int
    skipped_records: int


def band_load(values: np.ndarray, present: np.ndarray, max_block_size: int) -> BandLoad:
    _, _, sizes = sorted_blocks(values, present)
    sizes = sizes.astype(np.int64)
    kept = sizes[sizes <= max_block_size]
    return BandLoad(int((kept * (kept - 1) // 2).sum()), int(sizes[sizes > max_block_size].sum()))


def lsh_passes(
    records: RecordSet,
    *,
    field_groups: Sequence[Sequence[str]] = LSH_FIELD_GROUPS,
    bins: int = 64,
    max_bands: int = 16,
    pairs_per_record: float = 2.0,
    max_block_size: int = 100,
    random_state: int = 0,
) -> list[BlockingPass]:
    """MinHash band passes per field group, with rows per band chosen so each band yields few pairs.

    The default groups are names with date of birth; date of birth with postcode (records
    whose names were swapped or changed: each field is hashed with its own key, so swapped
    names share no bits); each name with postcode (date of birth missing or mistyped); and
    date of birth alone and postcode alone, for records that agree on a single identifier
    (a swapped name that was also mistyped, a changed surname with a missing postcode).
    The band width adapts per group, so a common value costs few pairs per record.
    """
    passes: list[BlockingPass] = []
    if len(records) < 2 or bins == 0 or max_bands == 0:
        return passes
    for group_index, group in enumerate(field_groups):
        fields = tuple(name for name in group if name in records.filters)
        if not fields:
            continue
        minima, present = minhash_bins(records, bins=bins, fields=fields, random_state=random_state + group_index)
        if len(fields) <= 2:
            for name in fields:
                present = present & records.filters[name].present
        # The fewest rows (most permissive bands) whose first band stays within budget: few
        # pairs per record, and few records lost to groups above the cap (a band that puts
        # most records into huge skipped groups looks cheap but finds nothing).
        rows = None
        for candidate_rows in range(2, MAX_ROWS_PER_BAND + 1):
            load = band_load(band_keys(minima, candidate_rows, 0), present, max_block_size)
            if (
                load.pairs <= pairs_per_record * len(records)
                and load.skipped_records <= MAX_SKIPPED_SHARE * max(int(present.sum()), 1)
            ):
                rows = candidate_rows
                break
        if rows is None and len(fields) == 1:
            # A single field whose equal values alone exceed the budget (a date of birth shared
            # by dozens in a large extract): the pass would cost quadratically and find little.
            logger.info("LSH over %s skipped: equal values alone exceed the pair budget", fields[0])
            continue
        rows = rows or MAX_ROWS_PER_BAND
        bands = min(max_bands, bins // rows)
        label = "_".join(name.split("_")[0] for name in fields)
        logger.info("LSH %s: %d bands of %d MinHash bins over %s", label, bands, rows, ", ".join(fields))
        passes += [
            BlockingPass(f"lsh_{label}_{band}", "lsh", band_keys(minima, rows, band), present, fields, max_block_size)
            for band in range(bands)
        ]
    return passes


def keyed_passes(records: RecordSet, *, max_block_size: int = 2_000) -> list[BlockingPass]:
    """One pass per keyed blocking key in the schema."""
    return [
        BlockingPass(column.name, "key", column.values, column.present, column.fields, max_block_size)
        for column in records.blocking_keys.values()
    ]


class Blocker:
    """Generates the union of all passes' candidate pairs, once each, in chunks."""

    def __init__(self, records: RecordSet, passes: Sequence[BlockingPass]) -> None:
        self.records = records
        self.passes = list(passes)
        self.statistics = [PassStatistics(p.name, p.kind, list(p.fields)) for p in self.passes]

    def chunks(self, chunk_pairs: int = 2_000_000) -> Iterator[PairChunk]:
        """Candidate pairs, each exactly once, at most about ``chunk_pairs`` per chunk."""
        total_pairs = max(self.records.total_pairs, 1)
        for index, blocking_pass in enumerate(self.passes):
            statistics = self.statistics[index]
            order, starts, sizes = blocking_pass.blocks()
            keep = (sizes >= 2) & (sizes <= blocking_pass.max_block_size)
            statistics.groups = int((sizes >= 2).sum())
            statistics.skipped_groups = int((sizes > blocking_pass.max_block_size).sum())
            statistics.skipped_records = int(sizes[sizes > blocking_pass.max_block_size].sum())
            if statistics.skipped_groups:
                logger.info(
                    "pass %s: skipped %d group(s) larger than %d records (%d records)",
                    blocking_pass.name,
                    statistics.skipped_groups,
                    blocking_pass.max_block_size,
                    statistics.skipped_records,
                )
            starts, sizes = starts[keep], sizes[keep].astype(np.int64)
            pair_counts = sizes * (sizes - 1) // 2
            statistics.pairs_in_pass = int(pair_counts.sum())
            statistics.reduction_ratio = 1.0 - statistics.pairs_in_pass / total_pairs
            group_chunks = np.cumsum(pair_counts) // max(chunk_pairs, 1)
            boundaries = np.concatenate([[0], np.flatnonzero(np.diff(group_chunks)) + 1, [len(sizes)]])
            for begin, end in zip(boundaries[:-1], boundaries[1:]):
                if begin == end:
                    continue
                left, right = pairs_within_blocks(order, starts[begin:end], sizes[begin:end])
                new = np.ones(len(left), dtype=bool)
                for earlier in self.passes[:index]:
                    new &= ~earlier.agrees(left, right)
                left, right = left[new], right[new]
                statistics.new_pairs += len(left)
                if len(left):
                    yield PairChunk(left.astype(np.int32), right.astype(np.int32), index)
            logger.info(
                "pass %s: %d pairs, %d new (reduction ratio %.6f)",
                blocking_pass.name,
                statistics.pairs_in_pass,
                statistics.new_pairs,
                statistics.reduction_ratio,
            )

    def sample_pass_pairs(
        self, pass_index: int, max_pairs: int, generator: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """All pairs of one pass (not de-duplicated against others), from a random subset of groups."""
        blocking_pass = self.passes[pass_index]
        order, starts, sizes = blocking_pass.blocks()
        keep = (sizes >= 2) & (sizes <= blocking_pass.max_block_size)
        starts, sizes = starts[keep], sizes[keep].astype(np.int64)
        shuffled = generator.permutation(len(sizes))
        counts = sizes[shuffled] * (sizes[shuffled] - 1) // 2
        take = shuffled[: int(np.searchsorted(np.cumsum(counts), max_pairs, side="right")) + 1]
        take = np.sort(take)
        left, right = pairs_within_blocks(order, starts[take], sizes[take])
        if len(left) > max_pairs:
            chosen = generator.choice(len(left), size=max_pairs, replace=False)
            left, right = left[chosen], right[chosen]
        return left.astype(np.int32), right.astype(np.int32)

    def total_candidates(self) -> int:
        return sum(statistics.new_pairs for statistics in self.statistics)


def random_pairs(record_count: int, count: int, generator: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly random pairs of distinct records (all pairs when there are few)."""
    total = record_count * (record_count - 1) // 2
    if total <= count:
        order = np.arange(record_count)
        left, right = pairs_within_blocks(order, np.array([0]), np.array([record_count]))
        return left.astype(np.int32), right.astype(np.int32)
    first = generator.integers(0, record_count, size=count)
    second = generator.integers(0, record_count - 1, size=count)
    second = second + (second >= first)
    return np.minimum(first, second).astype(np.int32), np.maximum(first, second).astype(np.int32)
