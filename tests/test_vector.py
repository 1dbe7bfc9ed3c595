"""Vector search past its size thresholds finds what exact search finds."""

from __future__ import annotations

import numpy as np

from index.retrieval.vector import (
    HALF_PRECISION_FROM,
    VectorIndex,
    centroids_fit,
    list_count,
    train_centroids,
)


def _clustered(n: int, dim: int, spread: float) -> np.ndarray:
    """Normalised vectors around 300 topics, like passages of a few hundred subjects."""
    rng = np.random.default_rng(0)
    topics = rng.standard_normal((300, dim))
    vectors = topics[rng.integers(0, 300, n)] + spread * rng.standard_normal((n, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def _recall_at_10(index: VectorIndex, vectors: np.ndarray, queries: np.ndarray) -> float:
    found = 0
    for q in queries:
        _, got = index.search(q, 10)
        found += len(set(got) & set(np.argsort(-(vectors @ q))[:10]))
    return found / (10 * len(queries))


def test_half_precision_scan_matches_exact_search():
    vectors = _clustered(HALF_PRECISION_FROM, 64, spread=0.6)
    index = VectorIndex.build(vectors)
    assert index.approximate  # a float16 scan
    assert _recall_at_10(index, vectors, vectors[:20]) >= 0.95
    _, got = index.search(vectors[3], 1)
    assert got[0] == 3


def test_inverted_file_index_finds_what_exact_search_finds():
    vectors = _clustered(30_000, 64, spread=1.0)  # overlapping topics
    centroids = train_centroids(vectors)
    assert centroids.shape == (list_count(len(vectors)), 64)
    index = VectorIndex.build(vectors, centroids)
    assert index.approximate and index.index.nprobe < index.index.nlist  # not a full scan
    rng = np.random.default_rng(1)  # unseen questions near the passages' topics
    queries = vectors[rng.integers(0, len(vectors), 50)] + 0.1 * rng.standard_normal((50, 64))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    assert _recall_at_10(index, vectors, queries) >= 0.95
    index.index.nprobe = 1  # the nearest list alone misses neighbours: the data is not easy
    assert _recall_at_10(index, vectors, queries) < 0.9


def test_centroids_are_kept_while_the_corpus_keeps_its_size():
    centroids = np.zeros((list_count(100_000), 384), dtype=np.float32)
    assert centroids_fit(centroids, 100_010, 384)  # one more article: same lists
    assert centroids_fit(centroids, 180_000, 384)
    assert not centroids_fit(centroids, 500_000, 384)  # retrained for a corpus 5x larger
    assert not centroids_fit(centroids, 100_000, 768)  # another model
    assert not centroids_fit(None, 100_000, 384)
