"""The vector index past the float16 threshold finds what exact search finds."""

from __future__ import annotations

import numpy as np

from index.vector import HALF_PRECISION_FROM, VectorIndex


def test_half_precision_scan_matches_exact_search():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((HALF_PRECISION_FROM, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.build(vectors, ann_threshold=10 * HALF_PRECISION_FROM)
    assert index.approximate  # a float16 scan: recorded as such in the manifest
    for q in vectors[:20]:
        _, got = index.search(q, 10)
        truth = np.argsort(-(vectors @ q))[:10]
        assert len(set(got) & set(truth)) >= 9
        assert got[0] == truth[0]
