from __future__ import annotations

import numpy as np

from dalink.match.cluster import average_linkage, cluster, connected_components, entity_ids


def test_connected_components() -> None:
    labels = connected_components(7, np.array([0, 1, 4, 6]), np.array([1, 2, 5, 5]))
    assert labels.tolist() == [0, 0, 0, 3, 4, 4, 4]


def test_one_wrong_edge_does_not_chain_two_people() -> None:
    # person A = records 0, 1, 2; person B = records 3, 4, 5; one wrong link 2–3
    truth = np.array([0, 0, 0, 1, 1, 1])
    left = np.array([0, 0, 1, 3, 3, 4, 2])
    right = np.array([1, 2, 2, 4, 5, 5, 3])
    probability = np.array([0.99, 0.98, 0.99, 0.99, 0.97, 0.99, 0.9])

    def scorer(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        same = truth[first] == truth[second]
        scored = np.where(same, 0.98, 0.01)
        scored[(first == 2) & (second == 3)] = 0.9
        return scored

    plain = connected_components(6, left[probability >= 0.5], right[probability >= 0.5])
    assert len(np.unique(plain)) == 1  # the baseline chains them
    result = cluster(6, left, right, probability, 0.5, scorer)
    assert len(np.unique(result.labels)) == 2
    assert (result.labels[:3] == result.labels[0]).all() and (result.labels[3:] == result.labels[3]).all()
    assert result.split_components == 1


def test_a_record_matching_most_of_its_group_stays() -> None:
    similarity = np.array([[0, 0.99, 0.99, 0.9], [0.99, 0, 0.99, 0.4], [0.99, 0.99, 0, 0.6], [0.9, 0.4, 0.6, 0]])
    assert len(np.unique(average_linkage(similarity, 0.5))) == 1


def test_entity_ids_are_stable_and_order_free() -> None:
    agencies = np.array(["police", "police", "marac", "refuge"], dtype=object)
    record_ids = np.array(["1", "2", "9", "4"], dtype=object)
    labels = np.array([0, 1, 0, 1])
    first = entity_ids(labels, agencies, record_ids)
    again = entity_ids(labels, agencies, record_ids)
    assert (first == again).all()
    assert first[0] == first[2] and first[1] == first[3] and first[0] != first[1]
    order = np.array([3, 2, 1, 0])
    relabelled = np.array([5, 7, 5, 7])  # same clusters, other label values, other order
    shuffled = entity_ids(relabelled, agencies[order], record_ids[order])
    assert dict(zip(record_ids[order], shuffled)) == dict(zip(record_ids, first))
