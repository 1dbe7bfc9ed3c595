"""An analysed article's rows, file by file, written as one segment (index/storage/segments.py)
shared by later versions; and the record that says where its rows are."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from index.build.analysis import Analysis
from index.build.state import ArticleRecord, IdTables
from index.corpus.article import content_hash, info
from index.retrieval.sentences import SENTENCE_SPANS, SENTENCE_VECTORS
from index.retrieval.vector import PASSAGE_VECTORS
from index.storage.segments import RowStore

# Segment files: name → (dtype, columns; 0 = the model's dimension). passage_meta: per
# passage (sentences, term pairs, BM25 length); terms: per passage (term id, count); words: per
# article text (vocabulary pair id, count, first position, first form of its key, title).
ROWS = {
    PASSAGE_VECTORS: (np.float32, 0),
    SENTENCE_VECTORS: (np.float16, 0),
    SENTENCE_SPANS: (np.int32, 2),
    "passage_meta.npy": (np.int32, 3),
    "terms.npy": (np.int32, 2),
    "words.npy": (np.int32, 5),
}


# Which (first row, count) of an ArticleRecord each segment file's rows are counted by.
ROW_FIELD = {
    PASSAGE_VECTORS: "passages",
    "passage_meta.npy": "passages",
    SENTENCE_VECTORS: "sentences",
    SENTENCE_SPANS: "sentences",
    "terms.npy": "terms",
    "words.npy": "words",
}


def article_rows(
    an: Analysis, vectors: np.ndarray, sent_vectors: np.ndarray, tables: IdTables
) -> dict[str, np.ndarray]:
    """One analysed article's rows, file by file (see ROWS)."""
    term_rows: list[tuple[int, int]] = []
    meta: list[tuple[int, int, int]] = []
    for us, ts in zip(an.units, an.terms, strict=True):
        counts = Counter(ts or [""])  # bm25s indexes an empty passage as one empty term
        term_rows.extend((tables.term(t), n) for t, n in counts.items())
        meta.append((len(us), len(counts), len(ts) or 1))
    dim = vectors.shape[1]
    return {
        PASSAGE_VECTORS: vectors.reshape(-1, dim),
        SENTENCE_VECTORS: sent_vectors.reshape(-1, dim),
        SENTENCE_SPANS: np.array([(s, e) for us in an.units for s, e, _ in us]).reshape(-1, 2),
        "passage_meta.npy": np.array(meta).reshape(-1, 3),
        "terms.npy": np.array(term_rows).reshape(-1, 2),
        "words.npy": np.array(
            [(tables.pair(k, f), c, first, kf, title) for k, f, c, first, kf, title in an.words]
        ).reshape(-1, 5),
    }


def write_segment(folder: Path, parts: list[dict[str, np.ndarray]], dim: int) -> list[dict]:
    """Write one segment from per-article rows; returns each article's (first row, count)
    per file."""
    folder.mkdir(parents=True)
    where: list[dict] = [{} for _ in parts]
    for name, (dtype, width) in ROWS.items():
        arrays = [np.asarray(p[name]).reshape(-1, width or dim) for p in parts]
        start = 0
        for w, a in zip(where, arrays, strict=True):
            w[name] = (start, len(a))
            start += len(a)
        np.save(folder / name, np.concatenate(arrays).astype(dtype))
    return where


def record_of(an: Analysis, segment: int, where: dict) -> ArticleRecord:
    article = an.article
    return ArticleRecord(
        id=article.id,
        file=an.source.file,
        raw=an.source.raw,
        stat=an.source.stat,
        hash=content_hash(article),
        info={**info(article).__dict__, "date": article.date.isoformat()},
        segment=segment,
        passages=where[PASSAGE_VECTORS],
        sentences=where[SENTENCE_VECTORS],
        terms=where["terms.npy"],
        words=where["words.npy"],
        pids=[p.id for p in an.passages],
        jsonl=(0, 0),  # set when passages.jsonl is written
        acronyms=an.acronyms,
    )


def first_rows(records: list[ArticleRecord], store: RowStore, field_name: str) -> np.ndarray:
    """Each article's first global row of one kind (``field_name``: see ROW_FIELD)."""
    return np.array(
        [store.bounds[r.segment] + getattr(r, field_name)[0] for r in records], dtype=np.int64
    )
