"""Lexical evidence weighs what it can see (``FusionParams.lexical_by_known_share``)."""

from __future__ import annotations

import dataclasses

import numpy as np

from index.retrieval.fuse import PARAMS, fuse


def test_bm25_weighs_in_proportion_to_the_question_it_sees():
    # Two candidates: one shares more words, the other is nearer in meaning.
    bm = np.array([4.0, 2.0])
    cos = np.array([0.850, 0.870])
    params = PARAMS["e5"]
    fused, _ = fuse(bm, 4.0, cos, 0.80, params)
    assert fused[0] > fused[1]  # every word of the question is a corpus word: words decide
    fused, _ = fuse(bm, 4.0, cos, 0.80, params, lexical_share=0.6)
    assert fused[1] > fused[0]  # 40 % of it the corpus never writes: meaning decides


def test_a_question_word_the_corpus_never_uses_leaves_the_choice_to_meaning(e5_engines):
    """« mandaté », « universitaire », « jugé »: the article says « commandé », « chercheur »,
    « recherches »; the passage that answers shares fewer words than its neighbours."""
    engine = e5_engines[0]
    question = "Quel universitaire mandaté par les gendarmes a jugé l'efficacité des caméras ?"
    assert engine.params.lexical_by_known_share
    assert "Gormand" in engine.search(question).results[0].quote
    engine.params = dataclasses.replace(engine.params, lexical_by_known_share=False)
    try:  # without it, the answer is not first (rank 3 on the seed corpus)
        assert "Gormand" not in engine.search(question).results[0].quote
    finally:
        engine.params = dataclasses.replace(engine.params, lexical_by_known_share=True)
