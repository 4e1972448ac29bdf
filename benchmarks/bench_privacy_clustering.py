"""Does the audit's first step still find the copies of a name under strong bit flipping?

    python benchmarks/bench_privacy_clustering.py --flip 0.20
    python benchmarks/bench_privacy_clustering.py --smoke

The frequency and pattern attacks start by clustering noisy filters so that record-level noise
is not mistaken for safety. That only holds while the clustering works: if the copies of the
commonest surnames stop landing together, a low re-identification rate measures the
attacker's clustering, not the encoding. This prints, for the commonest surnames of the
synthetic partnership encoded with a given flip probability, the share of copies in one
cluster, that cluster's purity and how many set bits its majority centroid gets wrong.
Settings where it collapses are marked as unbounded in ``bench_privacy_curve.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_privacy import schema_for  # noqa: E402

from dalink.audit.clustering import cluster_encodings, pack_bits, unpack_bits  # noqa: E402
from dalink.encode import hardening  # noqa: E402
from dalink.encode.bloom import FieldHasher  # noqa: E402
from dalink.encode.normalise import normalise_name  # noqa: E402
from dalink.keys import PartnershipKey  # noqa: E402
from dalink.synth import synthesise  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flip", type=float, default=0.20, help="bit-flip probability on the family-name filter")
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--names", type=int, default=6, help="commonest surnames to report")
    parser.add_argument("--smoke", action="store_true")
    arguments = parser.parse_args()
    people_count = 600 if arguments.smoke else arguments.people
    people = synthesise(people=people_count, seed=1).people
    records = people.loc[people.index.repeat(people["records"]), "family_name"]
    names = records.map(lambda value: normalise_name(value) if isinstance(value, str) else None).dropna().to_numpy()
    spec = schema_for([{"kind": "random_bit_flip", "probability": arguments.flip}]).field("family_name")
    clean = FieldHasher(spec, PartnershipKey(bytes(range(32)))).matrix([str(name) for name in names])
    seeds = np.arange(len(names), dtype=np.uint64) * np.uint64(2654435761) + np.uint64(7)
    noisy = hardening.apply_steps(clean.copy(), spec.hardening, permutation_key=bytes(64), seeds=seeds, field_seed=3)
    began = time.perf_counter()
    clusters = cluster_encodings(pack_bits(noisy.astype(bool)), flip_probability=arguments.flip)
    print(f"bit flip {arguments.flip}: {len(names)} records, {len(clusters)} clusters ({time.perf_counter() - began:.0f}s)")
    centroids = unpack_bits(clusters.centroids)
    values, counts = np.unique(names, return_counts=True)
    for name in values[np.argsort(-counts)][: arguments.names]:
        rows = np.flatnonzero(names == name)
        labels, sizes = np.unique(clusters.labels[rows], return_counts=True)
        top = labels[np.argmax(sizes)]
        members = np.flatnonzero(clusters.labels == top)
        truth = clean[rows[0]].astype(bool)
        wrong = int((centroids[top] != truth).sum())
        print(f"  {len(rows):5d} copies: {sizes.max() / len(rows):.2f} in one cluster of {len(members)} rows "
              f"(purity {np.mean(names[members] == name):.2f}); centroid wrong on {wrong} bits ({int(truth.sum())} set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
