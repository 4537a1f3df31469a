"""al_cli.strategies.kmeans: the numpy k-means and k-nearest distances ``auto`` clusters with."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from al_cli.strategies.kmeans import kmeans, knn_mean_distance


def _blobs(n_blobs, per, dim, seed, spread=0.2):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 8, size=(n_blobs, dim))
    X = np.vstack([c + rng.normal(0, spread, size=(per, dim)) for c in centres])
    return X, np.repeat(np.arange(n_blobs), per)


@pytest.mark.parametrize("seed", range(5))
def test_well_separated_blobs_are_found_exactly(seed):
    X, truth = _blobs(6, 40, 4, seed)
    labels = kmeans(X, 6, np.random.default_rng(seed), n_init=3)
    # one cluster a blob, whatever the numbering
    pairs = set(zip(truth.tolist(), labels.tolist()))
    assert len(pairs) == 6 and len({a for a, _ in pairs}) == 6 and len({b for _, b in pairs}) == 6


def test_same_generator_same_labels_and_labels_in_range():
    X, _ = _blobs(5, 50, 3, 1, spread=2.0)
    a = kmeans(X, 7, np.random.default_rng(4))
    b = kmeans(X, 7, np.random.default_rng(4))
    assert np.array_equal(a, b)
    assert a.min() >= 0 and a.max() < 7 and a.shape == (250,)


def test_inertia_is_as_good_as_scikit_learns():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 8)).astype(np.float32)
    labels = kmeans(X, 40, np.random.default_rng(0), n_init=3)
    centres = np.stack([X[labels == c].mean(axis=0) for c in np.unique(labels)])
    ours = float(((X - centres[np.searchsorted(np.unique(labels), labels)]) ** 2).sum())
    theirs = KMeans(40, n_init=3, random_state=0).fit(X).inertia_
    assert ours <= theirs * 1.03


def test_duplicates_and_more_clusters_than_distinct_rows():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 20, axis=0)
    labels = kmeans(X, 5, np.random.default_rng(0))
    # rows that are equal share a cluster; the two groups are apart
    assert len(set(labels[:20])) == 1 and len(set(labels[20:])) == 1 and labels[0] != labels[20]
    same = np.zeros((10, 3))
    assert kmeans(same, 3, np.random.default_rng(0)).shape == (10,)


def test_more_clusters_than_rows_is_one_row_a_cluster():
    X = np.arange(8, dtype=float).reshape(4, 2)
    labels = kmeans(X, 10, np.random.default_rng(0))
    assert sorted(labels.tolist()) == [0, 1, 2, 3]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 60), dim=st.integers(1, 6), k=st.integers(1, 25), seed=st.integers(0, 2**16))
def test_knn_mean_distance_is_brute_force(n, dim, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim)).round(1)  # rounded: ties and duplicates happen
    got = knn_mean_distance(X, k)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(D, np.inf)
    kk = min(k, n - 1)
    want = np.sort(D, axis=1)[:, :kk].mean(axis=1)
    assert np.allclose(got, want, atol=1e-3)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 80), k=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_every_row_gets_its_nearest_final_centre(n, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).round(2)
    labels = kmeans(X, k, np.random.default_rng(seed))
    assert labels.shape == (n,) and labels.min() >= 0 and labels.max() < min(k, n)
    used = np.unique(labels)
    centres = np.stack([X[labels == c].mean(axis=0) for c in used])
    d = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)
    own = d[np.arange(n), np.searchsorted(used, labels)]
    assert np.all(own <= d.min(axis=1) + 1e-3)  # a local optimum of Lloyd's iterations
