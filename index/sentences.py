"""Sentence vectors: a passage's best sentence often matches a question better than the whole
passage does, and it tells the quote selector which sentences carry the meaning (which words
alone cannot do for a question in another language)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.text import clean_display, sentence_spans, strip_urls
from index.types import Article, Passage

MIN_SENTENCE_CHARS = 25


def sentence_units(article: Article, passage: Passage) -> list[tuple[int, int, str]]:
    """(start, end, text to embed) for each sentence worth embedding, offsets into the passage."""
    units = []
    for s, e in sentence_spans(passage.text):
        raw = passage.text[s:e].lstrip("#").strip()
        if raw.startswith("[^"):
            raw = raw.split(":", 1)[-1]
        text = clean_display(strip_urls(raw))
        if len(text) >= MIN_SENTENCE_CHARS:
            units.append((s, e, f"{article.title}\n{text}"))
    return units


@dataclass
class SentenceIndex:
    rows: np.ndarray  # (n_passages + 1,) CSR offsets into ``vectors``
    spans: list[list[tuple[int, int]]]  # per passage: sentence offsets into its text
    vectors: np.ndarray  # (n_sentences, dim) float16, memory-mapped when loaded

    def best(self, query: np.ndarray, passages: np.ndarray) -> np.ndarray:
        """Each passage's best sentence cosine (-1 for a passage without sentence vectors)."""
        out = np.full(len(passages), -1.0, dtype=np.float32)
        starts, ends = self.rows[passages], self.rows[passages + 1]
        has = ends > starts
        if not has.any():
            return out
        idx = np.concatenate([np.arange(s, e) for s, e in zip(starts[has], ends[has], strict=True)])
        sims = self.vectors[idx].astype(np.float32) @ query
        out[has] = np.maximum.reduceat(
            sims, np.concatenate([[0], np.cumsum(ends[has] - starts[has])[:-1]])
        )
        return out

    def sample(self, passages: np.ndarray) -> SentenceSample:
        """The sentences of a fixed sample of passages, kept in memory for per-query stats."""
        starts, ends = self.rows[passages], self.rows[passages + 1]
        keep = ends > starts
        starts, ends = starts[keep], ends[keep]
        idx = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)] or [[]])
        offsets = np.concatenate([[0], np.cumsum(ends - starts)[:-1]]).astype(np.int64)
        vectors = np.ascontiguousarray(self.vectors[idx.astype(np.int64)], dtype=np.float32)
        return SentenceSample(vectors, offsets)

    def scores(self, query: np.ndarray, passage: int) -> dict[tuple[int, int], float]:
        """Cosine of each embedded sentence of one passage, by its offsets."""
        s, e = int(self.rows[passage]), int(self.rows[passage + 1])
        if e <= s:
            return {}
        sims = self.vectors[s:e].astype(np.float32) @ query
        return {tuple(span): float(v) for span, v in zip(self.spans[passage], sims, strict=True)}

    def save(self, folder: Path) -> None:
        np.save(folder / "sentences.npy", self.vectors.astype(np.float16))
        np.save(folder / "sentence_rows.npy", self.rows.astype(np.int64))
        (folder / "sentence_spans.json").write_text(json.dumps(self.spans), encoding="utf-8")

    @staticmethod
    def load(folder: Path) -> SentenceIndex:
        spans = json.loads((folder / "sentence_spans.json").read_text(encoding="utf-8"))
        return SentenceIndex(
            rows=np.load(folder / "sentence_rows.npy"),
            spans=[[tuple(x) for x in p] for p in spans],
            vectors=np.load(folder / "sentences.npy", mmap_mode="r"),
        )


@dataclass
class SentenceSample:
    vectors: np.ndarray
    offsets: np.ndarray

    def best(self, query: np.ndarray) -> np.ndarray:
        """Best sentence cosine of each sampled passage."""
        if not len(self.vectors):
            return np.zeros(0, dtype=np.float32)
        return np.maximum.reduceat(self.vectors @ query, self.offsets)
