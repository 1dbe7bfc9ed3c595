"""An analysed article's rows, file by file, for a segment (index/storage/segments.py writes
them); and the record that says where its rows are."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.build.analysis import Analysis
from index.build.scan import FreshArticle
from index.build.state import ArticleRecord, IdTables
from index.corpus.article import content_hash, info
from index.models.embed import Embedder
from index.storage.layout import (
    PASSAGE_META,
    PASSAGE_VECTORS,
    SENTENCE_SPANS,
    SENTENCE_VECTORS,
    TERM_COUNTS,
    WORD_COUNTS,
)
from index.storage.segments import RowStore, SegmentWriter

# Texts (passages and sentences) embedded per batch of articles: what a build holds of the
# new articles' vectors at once, whatever their number (the embedding cache keeps each batch).
EMBED_BATCH_TEXTS = 4096

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


@dataclass
class FreshSegment:
    """The new articles' segment, written: their analyses (passages and acronym evidence; the
    rows themselves released), each one's (first row, count) per file, and how many passages
    and sentences were embedded (not found in the cache)."""

    analyses: list[Analysis]
    where: list[dict[str, tuple[int, int]]]
    embedded: int
    embedded_sentences: int


def write_fresh_segment(
    folder: Path, fresh: list[FreshArticle], tables: IdTables, embedder: Embedder, progress: bool
) -> FreshSegment:
    """Analyse, embed (the cache first) and write the new articles batch by batch: memory
    holds one batch of rows and vectors whatever the number of articles, and an interrupted
    build loses at most the batch in flight (the next one finds the others in the cache)."""
    writer = SegmentWriter(folder, [PASSAGE_VECTORS, SENTENCE_VECTORS], embedder.dim)
    out = FreshSegment([], [], 0, 0)
    bar = tqdm(total=len(fresh), desc="analysing, embedding", unit="article", disable=not progress)
    with embedder.building(), bar:
        for batch in _batches(fresh):
            contexts = [c for an in batch for c in an.contexts]
            units = [u[2] for an in batch for us in an.units for u in us]
            vectors, embedded = embedder.embed_passages(contexts)
            sent_vectors, sent_embedded = embedder.embed_passages(units)
            out.embedded += embedded
            out.embedded_sentences += sent_embedded
            pos, spos = 0, 0
            for an in batch:
                n, m = len(an.passages), sum(len(us) for us in an.units)
                vecs, sent_vecs = vectors[pos : pos + n], sent_vectors[spos : spos + m]
                out.where.append(writer.add(article_rows(an, vecs, sent_vecs, tables)))
                pos, spos = pos + n, spos + m
                an.release_rows()
            out.analyses += batch
            bar.update(len(batch))
    writer.close()
    return out


def _batches(fresh: list[FreshArticle]) -> Iterator[list[Analysis]]:
    """The articles analysed, in order, in batches of about EMBED_BATCH_TEXTS texts to embed
    (an article is never split)."""
    batch: list[Analysis] = []
    texts = 0
    for source in fresh:
        an = Analysis.of(source)
        batch.append(an)
        texts += len(an.passages) + sum(len(us) for us in an.units)
        if texts >= EMBED_BATCH_TEXTS:
            yield batch
            batch, texts = [], 0
    if batch:
        yield batch
