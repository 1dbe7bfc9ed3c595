"""BM25 as bm25s computes it: the engine adds up bm25s' scores with numpy (no scipy at
serving time), and must give the very same floats as the reference library."""

from __future__ import annotations

import random

import numpy as np
import pytest

from index.retrieval.lexical import LexicalIndex

bm25s = pytest.importorskip("bm25s", reason="bm25s (the dev extra) is the reference")

WORDS = [f"w{i}" for i in range(60)]


def _corpus(seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    docs = [[rng.choice(WORDS[: rng.randint(5, 60)]) for _ in range(rng.randint(1, 40))]
            for _ in range(120)]  # fmt: skip
    docs[7] = []  # an empty passage (a bare heading), which bm25s indexes as one empty term
    return docs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_are_bm25s_scores_bit_for_bit(seed: int, tmp_path) -> None:
    docs = _corpus(seed)
    ours = LexicalIndex.build(docs)
    reference = bm25s.BM25(k1=LexicalIndex.K1, b=LexicalIndex.B)
    reference.index([d or [""] for d in docs], show_progress=False)
    ours.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    rng = random.Random(seed)
    for _ in range(50):
        query = [rng.choice(WORDS) for _ in range(rng.randint(1, 6))] + ["never-seen"]
        known = [t for t in query if t in ours.idf]
        expected = np.zeros(len(docs), dtype=np.float32)  # bm25s fails on no known term
        if known:
            expected = np.asarray(reference.get_scores(known), dtype=np.float32)
        assert np.array_equal(ours.scores(query), expected)
        assert np.array_equal(loaded.scores(query), expected)
    assert not ours.scores(["never-seen"]).any()
