"""The version's corpus-wide files, recomputed from every article's stored rows: passages in
passage order, where each passage's rows are, BM25 weights, the query vocabulary, acronyms
and the vector index's centroids."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from index.build.analysis import Analysis
from index.build.segment_rows import first_rows
from index.build.state import ArticleRecord, IdTables
from index.corpus.article import read_article
from index.corpus.folder import articles_dir
from index.retrieval.acronyms import acronyms_from_evidence, initial_phrases
from index.retrieval.lexical import LexicalIndex, Vocabulary
from index.retrieval.passage_table import passage_lines
from index.retrieval.sentences import write_sentence_ranges
from index.retrieval.vector import read_passage_rows, write_passage_rows
from index.storage.layout import (
    PASSAGE_META,
    PASSAGE_VECTORS,
    PASSAGES,
    SENTENCE_VECTORS,
    TERM_COUNTS,
    WORD_COUNTS,
)
from index.storage.segments import RowStore

log = logging.getLogger(__name__)


def write_passages(
    work: Path,
    records: list[ArticleRecord],
    prev_folder: Path | None,
    by_new: dict[str, Analysis],
) -> int:
    """passages.jsonl in passage order: a kept article's lines are copied byte for byte from
    the previous version's file, a new one's written."""
    old = b""
    if prev_folder is not None and any(r.id not in by_new for r in records):
        old = (prev_folder / PASSAGES).read_bytes()
    n = 0
    pos = 0
    with (work / PASSAGES).open("wb") as fh:
        for r in records:
            an = by_new.get(r.id)
            if an is None:
                start, end = r.jsonl
                chunk = old[start:end]
            else:
                chunk = passage_lines(an.passages)
            fh.write(chunk)
            r.jsonl = (pos, pos + len(chunk))
            pos += len(chunk)
            n += len(r.pids)
    return n


def write_layout(
    work: Path, records: list[ArticleRecord], stores: dict[str, RowStore], n: int
) -> None:
    """passage_rows.npy (each passage's vector row) and sentence_ranges.npy."""
    counts = np.array([r.passages[1] for r in records], dtype=np.int64)
    if not n:
        write_passage_rows(work, np.zeros(0, dtype=np.int64))
        write_sentence_ranges(work, np.zeros((0, 2), dtype=np.int64))
        return
    first = first_rows(records, stores[PASSAGE_VECTORS], "passages")
    rows = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(n)
    write_passage_rows(work, rows)
    meta = stores[PASSAGE_META].take(rows)
    sent_counts = meta[:, 0].astype(np.int64)
    sfirst = np.repeat(first_rows(records, stores[SENTENCE_VECTORS], "sentences"), counts)
    excl = np.cumsum(sent_counts) - sent_counts  # sentences before each passage, overall
    art_start = np.repeat(np.cumsum(counts) - counts, counts)  # each article's first passage
    starts = sfirst + excl - excl[art_start]
    write_sentence_ranges(work, np.stack([starts, starts + sent_counts], axis=1))


def write_lexical(
    work: Path,
    records: list[ArticleRecord],
    stores: dict[str, RowStore],
    tables: IdTables,
    n: int,
) -> None:
    """BM25 and the query vocabulary, from every article's stored counts."""
    rows = read_passage_rows(work)
    meta = stores[PASSAGE_META].take(rows)
    tfirst = first_rows(records, stores[TERM_COUNTS], "terms")
    tcount = np.array([r.terms[1] for r in records], dtype=np.int64)
    pairs = stores[TERM_COUNTS].ranges(tfirst, tcount)
    lexical = LexicalIndex.from_counts(
        list(tables.terms),
        np.concatenate([[0], np.cumsum(meta[:, 1].astype(np.int64))]),
        pairs[:, 0],
        pairs[:, 1],
        meta[:, 2].astype(np.int64),
    )
    lexical.save(work)
    wfirst = first_rows(records, stores[WORD_COUNTS], "words")
    wcount = np.array([r.words[1] for r in records], dtype=np.int64)
    words = stores[WORD_COUNTS].ranges(wfirst, wcount)
    # Texts in corpus order: every body (newest article first), then every title.
    article_rank = np.repeat(np.arange(len(records), dtype=np.int64), wcount)
    ranks = article_rank + words[:, 4].astype(np.int64) * len(records)
    vocab = Vocabulary.from_counts(
        list(tables.words),
        np.array(list(tables.pairs), dtype=np.int64).reshape(-1, 2),
        words[:, :4],
        ranks,
    )
    vocab.save(work)


def corpus_acronyms(
    records: list[ArticleRecord], by_new: dict[str, Analysis], content_dir: Path
) -> dict[str, list[str]]:
    """Acronyms from every article's evidence; an article whose evidence lacks phrases for
    an initialism is read again (rare: a new acronym, or a removal within the budget)."""

    def rescan(i: int, wanted: set[str]) -> list[tuple[int, int, str, str]]:
        r = records[i]
        an = by_new.get(r.id)
        body = an.article.body if an else read_article(articles_dir(content_dir) / r.file).body
        return initial_phrases(body, wanted)

    return acronyms_from_evidence([r.acronyms for r in records], rescan)
