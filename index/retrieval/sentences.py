"""Sentence vectors: a passage's best sentence often matches a question better than the whole
passage does, and it tells the quote selector which sentences carry the meaning (which words
alone cannot do for a question in another language)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.language import clean_display, sentence_spans, strip_urls
from index.storage.layout import SENTENCE_RANGES, SENTENCE_SPANS, SENTENCE_VECTORS
from index.storage.segments import RowReader, RowStore, segment_names
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
    ranges: np.ndarray  # (n_passages, 2) each passage's sentence rows [start, end)
    spans: RowStore  # per sentence: (start, end) offsets into its passage's text
    vectors: RowReader  # (n_sentences, dim) float16, read from the segments when needed

    def best(self, query: np.ndarray, passages: np.ndarray) -> np.ndarray:
        """Each passage's best sentence cosine (-1 for a passage without sentence vectors)."""
        out = np.full(len(passages), -1.0, dtype=np.float32)
        starts, ends = self.ranges[passages, 0], self.ranges[passages, 1]
        has = ends > starts
        if not has.any():
            return out
        counts = (ends - starts)[has]
        sims = self.vectors.ranges(starts[has], counts).astype(np.float32) @ query
        out[has] = np.maximum.reduceat(sims, np.concatenate([[0], np.cumsum(counts)[:-1]]))
        return out

    def sample(self, passages: np.ndarray) -> SentenceSample:
        """The sentences of a fixed sample of passages, kept in memory for per-query stats."""
        starts, ends = self.ranges[passages, 0], self.ranges[passages, 1]
        keep = ends > starts
        starts, ends = starts[keep], ends[keep]
        offsets = np.concatenate([[0], np.cumsum(ends - starts)[:-1]]).astype(np.int64)
        vectors = np.ascontiguousarray(self.vectors.ranges(starts, ends - starts), np.float32)
        return SentenceSample(vectors, offsets)

    def scores(self, query: np.ndarray, passage: int) -> dict[tuple[int, int], float]:
        """Cosine of each embedded sentence of one passage, by its offsets."""
        s, e = int(self.ranges[passage, 0]), int(self.ranges[passage, 1])
        if e <= s:
            return {}
        sims = self.vectors.slice(s, e).astype(np.float32) @ query
        spans = self.spans.slice(s, e)
        return {(int(a), int(b)): float(v) for (a, b), v in zip(spans, sims, strict=True)}

    @staticmethod
    def load(folder: Path) -> SentenceIndex:
        names = segment_names(folder)
        return SentenceIndex(
            ranges=np.load(folder / SENTENCE_RANGES),
            spans=RowStore.open(folder, SENTENCE_SPANS, names),
            vectors=RowReader.open(folder, SENTENCE_VECTORS),
        )


def write_sentence_ranges(folder: Path, ranges: np.ndarray) -> None:
    """Each passage's sentence rows [start, end), in passage order (int64, (n, 2))."""
    np.save(folder / SENTENCE_RANGES, ranges)


@dataclass
class SentenceSample:
    vectors: np.ndarray
    offsets: np.ndarray

    def best(self, query: np.ndarray) -> np.ndarray:
        """Best sentence cosine of each sampled passage."""
        if not len(self.vectors):
            return np.zeros(0, dtype=np.float32)
        return np.maximum.reduceat(self.vectors @ query, self.offsets)
