"""What the engine shows of its ranked candidates: the chosen few (near-duplicates and far-weaker
results dropped), each as a quote with its answer marked and a link to the words on the page."""

from __future__ import annotations

import numpy as np

from index.retrieval.fuse import FusionParams
from index.retrieval.quote import quote_text, select_quote, text_fragment_url
from index.retrieval.snapshot import Snapshot
from index.types import Result

CONTEXT_CHARS = 900  # a passage up to this long is quoted whole (passages are ~600 characters)


def make_result(
    snap: Snapshot,
    pid: int,
    score: float,
    qterms: set[str],
    qvec: np.ndarray,
    answer: str | None = None,
) -> Result:
    """One shown passage: its quote (whole when short), the answering sentence to bold, and a
    link that highlights it on the article's page."""
    p = snap.passages[pid]
    art = snap.articles[p.article_id]
    semantic = snap.sentences.scores(qvec, pid)
    known = snap.sentence_terms(pid)
    s, e = select_quote(
        p.text, qterms, snap.lexical.idf, semantic=semantic, answer=answer, known_terms=known
    )
    # The words that answer: the best single sentence of that window, shown in bold.
    hs, he = select_quote(
        p.text,
        qterms,
        snap.lexical.idf,
        semantic=semantic,
        answer=answer,
        known_terms=known,
        sentences=1,
        within=(s, e),
    )
    # The whole passage when it is short enough to read on a phone: the answer in bold, its
    # context around it (a quote cut to the answering sentence lost what it answered).
    if len(p.text) <= CONTEXT_CHARS:
        s, e = 0, len(p.text)
    quote = quote_text(p.text[s:e])
    answer_text = quote_text(p.text[hs:he])
    at = quote.find(answer_text) if answer_text else -1
    highlight = (at, at + len(answer_text)) if at >= 0 and answer_text != quote else None
    return Result(
        quote=quote,
        title=art.title,
        url=text_fragment_url(art.url, p.text[hs:he]),  # the answer, as the page shows it
        article_url=art.url,
        date=art.date,
        score=score,
        passage_id=p.id,
        article_id=art.id,
        source=art.source,
        highlight=highlight,
    )


def reading(snap: Snapshot, pid: int) -> str:
    """What a reranker reads of a passage: its article's title, then its text as quoted."""
    p = snap.passages[pid]
    return f"{snap.articles[p.article_id].title}\n{quote_text(p.text)}"


def diversify(
    ranked: list[tuple[int, float]], snap: Snapshot, k: int, params: FusionParams, floor: float
) -> list[tuple[int, float]]:
    """Best first, minus near-duplicates (the same text twice, e.g. a republished passage), and
    minus results far below the best one: those are noise, not answers."""
    if not ranked:
        return []
    best = ranked[0][1]
    chosen: list[tuple[int, float]] = []
    vecs = snap.vector.vectors
    for pid, score in ranked:
        if len(chosen) >= k or score < best * floor:
            break
        if (
            chosen
            and float(np.max(vecs[[c for c, _ in chosen]] @ vecs[pid])) > params.duplicate_cosine
        ):
            continue
        chosen.append((pid, score))
    return chosen
