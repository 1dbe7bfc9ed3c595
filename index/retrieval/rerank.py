"""Second-stage reranking: a cross-encoder reads the question and each top passage together.

Off by default (no multilingual cross-encoder installs offline here). A deployment that can
fetch one sets ``RERANKER_MODEL`` (a sentence-transformers CrossEncoder name or path, e.g. a
multilingual MS MARCO or BGE reranker); the engine then reorders its best
``RERANKER_CANDIDATES`` fused candidates. Abstention stays with the fused scores: a reranker
orders passages, it does not know when the corpus has no answer.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


class Reranker(Protocol):
    """Anything that scores (question, passage) pairs: higher means more relevant."""

    def score(self, query: str, passages: list[str]) -> np.ndarray: ...


class CrossEncoderReranker:
    """sentence-transformers' CrossEncoder, loaded once, one batch per question."""

    def __init__(self, model: str, *, device: str = "cpu", max_length: int = 512) -> None:
        from sentence_transformers import CrossEncoder  # heavy: only when configured

        self.name = model
        self.model = CrossEncoder(model, device=device, max_length=max_length)
        log.info("reranker loaded: %s", model)

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        scores = self.model.predict(
            [(query, p) for p in passages], batch_size=len(passages), show_progress_bar=False
        )
        return np.asarray(scores, dtype=np.float32).reshape(len(passages), -1)[:, -1]


def blend(fused: np.ndarray, reranked: np.ndarray, weight: float) -> np.ndarray:
    """Convex mix of the fused scores (over their best) and the reranker's (min-max over the
    candidates: cross-encoders output logits or probabilities, only their order is shared)."""
    top = float(fused.max()) if len(fused) else 0.0
    base = fused / top if top > 0 else np.zeros_like(fused)
    lo, hi = (float(reranked.min()), float(reranked.max())) if len(reranked) else (0.0, 0.0)
    scaled = (reranked - lo) / (hi - lo) if hi > lo else np.ones_like(reranked)
    return (1 - weight) * base + weight * scaled
