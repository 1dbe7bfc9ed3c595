"""The second-stage reranker: configured, it decides the order of the best candidates; it
never turns a refusal into an answer."""

from __future__ import annotations

import numpy as np

from index import open_engine
from index.models.resolve import minilm_path
from index.retrieval.dates import TIE_SHARE
from index.retrieval.rerank import CrossEncoderReranker

QUESTION = "Quelles villes utilisent la vidéosurveillance algorithmique ?"


class ShortestFirst:
    """A reranker with an obvious preference, to see that the engine follows it."""

    def __init__(self) -> None:
        self.calls = 0

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        self.calls += 1
        return -np.array([len(p) for p in passages], dtype=np.float32)


def test_results_follow_the_reranker(index_settings, embedder, engine):
    settings = index_settings.model_copy(update={"reranker_weight": 1.0})
    reranker = ShortestFirst()
    reranked = open_engine(settings, embedder, reranker=reranker)
    plain = engine.search(QUESTION, k=5)
    answer = reranked.search(QUESTION, k=5)
    assert reranker.calls == 1 and answer.answered
    lengths = [len(reranked.passage_text(r.passage_id)) for r in answer.results]
    assert lengths == sorted(lengths)
    assert [r.passage_id for r in answer.results] != [r.passage_id for r in plain.results]


def test_reranker_does_not_answer_what_the_corpus_cannot(index_settings, embedder):
    reranker = ShortestFirst()
    reranked = open_engine(index_settings, embedder, reranker=reranker)
    assert not reranked.search("Quelle est la recette de la tarte aux pommes ?").answered
    assert reranker.calls == 0


def test_cross_encoder_from_a_local_folder(index_settings, embedder):
    # Any sentence-transformers CrossEncoder path works; the packaged MiniLM gets a fresh
    # (untrained) scoring head, enough to check the wiring, not the quality.
    settings = index_settings.model_copy(
        update={"reranker_model": str(minilm_path()), "reranker_weight": 1.0}
    )
    reranked = open_engine(settings, embedder)
    assert isinstance(reranked.reranker, CrossEncoderReranker)
    answer = reranked.search(QUESTION, k=5)
    assert answer.answered
    texts = [reranked.passage_text(r.passage_id) for r in answer.results]
    scores = reranked.reranker.score(QUESTION, texts)
    assert np.all(np.isfinite(scores))
    # The reranker's order, but for near ties (its untrained head scores everything ~0.5),
    # where the newer of two equally relevant passages goes first (index/retrieval/dates.py).
    assert all(
        a >= b - TIE_SHARE * max(abs(a), abs(b))
        for a, b in zip(scores.tolist(), scores.tolist()[1:], strict=False)
    )
