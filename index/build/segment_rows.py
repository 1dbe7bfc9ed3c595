"""An analysed article's rows, file by file, for a segment (index/storage/segments.py writes
them); and the record that says where its rows are."""

from __future__ import annotations

from collections import Counter

import numpy as np

from index.build.analysis import Analysis
from index.build.state import ArticleRecord, IdTables
from index.corpus.article import content_hash, info
from index.storage.layout import (
    PASSAGE_META,
    PASSAGE_VECTORS,
    SENTENCE_SPANS,
    SENTENCE_VECTORS,
    TERM_COUNTS,
    WORD_COUNTS,
)
from index.storage.segments import RowStore

# Which (first row, count) of an ArticleRecord each segment file's rows are counted by.
ROW_FIELD = {
    PASSAGE_VECTORS: "passages",
    PASSAGE_META: "passages",
    SENTENCE_VECTORS: "sentences",
    SENTENCE_SPANS: "sentences",
    TERM_COUNTS: "terms",
    WORD_COUNTS: "words",
}


def article_rows(
    an: Analysis, vectors: np.ndarray, sent_vectors: np.ndarray, tables: IdTables
) -> dict[str, np.ndarray]:
    """One analysed article's rows, file by file (see SEGMENT_ROWS)."""
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
        PASSAGE_META: np.array(meta).reshape(-1, 3),
        TERM_COUNTS: np.array(term_rows).reshape(-1, 2),
        WORD_COUNTS: np.array(
            [(tables.pair(k, f), c, first, kf, title) for k, f, c, first, kf, title in an.words]
        ).reshape(-1, 5),
    }


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
        terms=where[TERM_COUNTS],
        words=where[WORD_COUNTS],
        pids=[p.id for p in an.passages],
        jsonl=(0, 0),  # set when passages.jsonl is written
        acronyms=an.acronyms,
    )


def first_rows(records: list[ArticleRecord], store: RowStore, field_name: str) -> np.ndarray:
    """Each article's first global row of one kind (``field_name``: see ROW_FIELD)."""
    return np.array(
        [store.bounds[r.segment] + getattr(r, field_name)[0] for r in records], dtype=np.int64
    )
