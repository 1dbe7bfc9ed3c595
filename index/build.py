"""Build an index version from ``content/``: chunk, embed (cache first), BM25, FAISS, publish."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm import tqdm

from index.article import content_hash, info
from index.chunk import chunk_article
from index.config import IndexSettings
from index.corpus import load_corpus
from index.embed import Embedder
from index.lexical import LexicalIndex, Vocabulary, learn_acronyms
from index.sentences import SentenceIndex, sentence_units
from index.store import (
    FORMAT,
    IndexUnavailable,
    Manifest,
    current_version,
    new_version_dir,
    open_version,
    publish,
)
from index.text import clean_display, strip_urls, terms
from index.types import Article, Passage
from index.vector import VectorIndex

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    version: str
    articles: int
    passages: int
    embedded: int
    reused: int
    seconds: float
    changed: bool
    skipped: list[str] = field(default_factory=list)
    added_passages: int = 0
    embedded_sentences: int = 0
    removed_passages: int = 0

    def summary(self) -> str:
        if not self.changed:
            head = (
                f"index {self.version} is up to date "
                f"({self.articles} articles, {self.passages} passages)"
            )
        else:
            head = (
                f"index {self.version}: {self.articles} articles, {self.passages} passages "
                f"(+{self.added_passages} / -{self.removed_passages}), embedded {self.embedded}, "
                f"reused {self.reused}, sentences embedded {self.embedded_sentences}, "
                f"{self.seconds:.1f} s"
            )
        lines = [head] + [f"skipped: {s}" for s in self.skipped]
        return "\n".join(lines)


def passage_context(article: Article, passage: Passage) -> str:
    """What is searched: the title and section give a passage its context (not quoted)."""
    raw = re.sub(r"^(?:## |\[\^\d+\]:\s*)", "", passage.text, flags=re.M)
    text = clean_display(strip_urls(raw))
    parts = [article.title]
    if passage.heading and passage.heading not in text[: len(passage.heading) + 5]:
        parts.append(passage.heading)
    parts.append(text)
    return "\n".join(parts)


# Bump when chunking or text analysis changes: the same corpus then gives a different index.
PIPELINE_VERSION = "5"
MIN_NOTE_CHARS = 60


def corpus_hash(articles: list[Article]) -> str:
    h = hashlib.sha256(PIPELINE_VERSION.encode())
    for a in sorted(articles, key=lambda a: a.id):
        h.update(a.id.encode())
        h.update(content_hash(a).encode())
    return h.hexdigest()


def build_index(
    settings: IndexSettings,
    embedder: Embedder | None = None,
    *,
    force: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Incremental by default: an unchanged corpus and model publish nothing new, and only
    passages whose text is new are embedded."""
    started = time.perf_counter()
    corpus = load_corpus(settings.content_dir)
    if not corpus.articles:
        raise IndexUnavailable(
            f"no article could be read from {settings.content_dir}: "
            "run `python -m index import-seeds` or add articles"
        )
    embedder = embedder or Embedder(settings)
    chash = corpus_hash(corpus.articles)
    previous_ids: set[str] = set()
    current = current_version(settings.index_dir)
    if current:
        try:
            folder, manifest = open_version(settings.index_dir, current, verify=False)
            if (
                not force
                and manifest.corpus_hash == chash
                and manifest.model_id == embedder.model_id
            ):
                return BuildReport(
                    current,
                    manifest.articles,
                    manifest.passages,
                    0,
                    manifest.passages,
                    time.perf_counter() - started,
                    False,
                    corpus.errors,
                )
            if manifest.model_id == embedder.model_id:
                with (folder / "passages.jsonl").open(encoding="utf-8") as fh:
                    previous_ids = {json.loads(line)["id"] for line in fh}
        except IndexUnavailable as exc:
            log.warning("previous index unusable, building anew: %s", exc)

    articles = sorted(corpus.articles, key=lambda a: (a.date, a.id), reverse=True)
    passages: list[Passage] = []
    contexts: list[str] = []
    by_id = {a.id: a for a in articles}
    for article in tqdm(articles, desc="chunking", unit="article", disable=not progress):
        for p in chunk_article(article):
            context = passage_context(article, p)
            if p.note and len(context) - len(article.title) < MIN_NOTE_CHARS:
                continue  # "Voir SEXE, DTNAIRES." or a bare link: nothing to quote
            passages.append(p)
            contexts.append(context)

    units = [sentence_units(by_id[p.article_id], p) for p in passages]
    sent_texts = [u[2] for us in units for u in us]
    with embedder.building():
        vectors, embedded = embedder.embed_passages(contexts, progress=progress)
        sent_vectors, sent_embedded = embedder.embed_passages(sent_texts, progress=progress)
    sentences = SentenceIndex(
        rows=np.concatenate([[0], np.cumsum([len(us) for us in units])]).astype(np.int64),
        spans=[[(s, e) for s, e, _ in us] for us in units],
        vectors=sent_vectors,
    )
    version, work = new_version_dir(settings.index_dir)
    try:
        lexical = LexicalIndex.build([terms(c) for c in contexts])
        lexical.save(work)
        vindex = VectorIndex.build(vectors, settings.ann_threshold)
        vindex.save(work)
        sentences.save(work)
        with (work / "passages.jsonl").open("w", encoding="utf-8") as fh:
            for p in passages:
                fh.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
        (work / "articles.json").write_text(
            json.dumps(
                [{**info(a).__dict__, "date": a.date.isoformat()} for a in articles],
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        bodies = [a.body for a in articles] + [a.title for a in articles]
        (work / "vocab.json").write_text(
            json.dumps(Vocabulary.build(bodies).to_json(), ensure_ascii=False), encoding="utf-8"
        )
        (work / "acronyms.json").write_text(
            json.dumps(learn_acronyms([a.body for a in articles]), ensure_ascii=False),
            encoding="utf-8",
        )
        manifest = Manifest(
            format=FORMAT,
            version=version,
            built_at=dt.datetime.now(dt.UTC).isoformat(),
            model_id=embedder.model_id,
            dim=embedder.dim,
            corpus_hash=chash,
            articles=len(articles),
            passages=len(passages),
            newest_article=articles[0].date.isoformat() if articles else None,
            approximate=vindex.approximate,
            model=embedder.describe(),
        )
        publish(settings.index_dir, work, manifest)
    except BaseException:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        raise
    ids = {p.id for p in passages}
    del by_id
    return BuildReport(
        version=version,
        articles=len(articles),
        passages=len(passages),
        embedded=embedded,
        reused=len(passages) - embedded,
        embedded_sentences=sent_embedded,
        seconds=time.perf_counter() - started,
        changed=True,
        skipped=corpus.errors,
        added_passages=len(ids - previous_ids),
        removed_passages=len(previous_ids - ids),
    )
