"""One index version in memory: its passages, articles, lexical and vector indexes, and the
caches of per-passage terms the engine reads question after question; loaded whole or refused
(a version whose files cannot be read is damaged), and the newest intact older version found
when the current one is."""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.config import IndexSettings
from index.language import sentence_spans, terms
from index.models.embed import Embedder
from index.retrieval.lexical import LexicalIndex, Vocabulary
from index.retrieval.passage_table import PassageTable
from index.retrieval.question import sentence_terms
from index.retrieval.sentences import SentenceIndex
from index.retrieval.vector import VectorIndex
from index.storage.layout import ACRONYMS, ARTICLES, PASSAGES
from index.storage.versions import IndexDamaged, IndexUnavailable, Manifest, intact_older_versions
from index.types import ArticleInfo

log = logging.getLogger(__name__)
SAMPLE_FOR_STATS = 1024  # passages whose scores give the corpus mean / spread (z-scores)


class Snapshot:
    """Everything one index version needs in memory; immutable once loaded."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder = folder
        self.manifest = manifest
        self.passages = PassageTable.load(folder / PASSAGES)
        self.position = self.passages.ids
        arts = json.loads((folder / ARTICLES).read_text(encoding="utf-8"))
        self.articles = {
            a["id"]: ArticleInfo(**{**a, "date": dt.date.fromisoformat(a["date"])}) for a in arts
        }
        self.lexical = LexicalIndex.load(folder)
        self.vector = VectorIndex.load(folder)
        self.vocab = Vocabulary.load(folder)
        self.sentences = SentenceIndex.load(folder)
        self.acronyms = json.loads((folder / ACRONYMS).read_text(encoding="utf-8"))
        n = len(self.passages)
        if n != manifest.passages or self.vector.vectors.shape[0] != n:
            raise IndexDamaged(f"index version {manifest.version} is inconsistent: rebuild it")
        rng = np.random.default_rng(0)
        pick = np.sort(rng.choice(n, size=min(n, SAMPLE_FOR_STATS), replace=False))
        self.sample = np.ascontiguousarray(self.vector.vectors[pick], dtype=np.float32)
        self.sample_sentences = self.sentences.sample(pick)
        self.sentence_terms = lru_cache(maxsize=50_000)(self._sentence_terms)
        self.passage_terms = lru_cache(maxsize=50_000)(self._passage_terms)
        self.text_terms = lru_cache(maxsize=50_000)(self._text_terms)
        self.heading_terms = lru_cache(maxsize=50_000)(self._heading_terms)
        self.title_terms = lru_cache(maxsize=10_000)(self._title_terms)
        self.article_terms = lru_cache(maxsize=2_000)(self._article_terms)
        self.by_article = self.passages.by_article()

    def _text_terms(self, pid: int) -> frozenset[str]:
        return frozenset(terms(self.passages.text(pid)))

    def _heading_terms(self, pid: int) -> frozenset[str]:
        return frozenset(terms(self.passages[pid].heading))

    def _title_terms(self, article_id: str) -> frozenset[str]:
        return frozenset(terms(self.articles[article_id].title))

    def _article_terms(self, article_id: str) -> frozenset[str]:
        """Every word of an article: « la start-up » in a passage is about its subject."""
        return frozenset().union(
            *(self.text_terms(i) for i in self.by_article[article_id].tolist())
        )

    def _passage_terms(self, pid: int) -> frozenset[str]:
        p = self.passages[pid]
        return frozenset(terms(f"{p.text} {p.heading} {self.articles[p.article_id].title}"))

    def written_sets(self, pid: int) -> list[frozenset[str]]:
        """The term sets a passage writes together: each sentence, its heading, its title."""
        title = self.title_terms(self.passages[pid].article_id)
        return [*self.sentence_terms(pid), self.heading_terms(pid), title]

    def _sentence_terms(self, pid: int) -> list[frozenset[str]]:
        """Each sentence's index terms (cached: the same passages come back query after query)."""
        text = self.passages.text(pid)
        return [frozenset(sentence_terms(text[a:b])) for a, b in sentence_spans(text)]


def write_articles(folder: Path, infos: list[dict]) -> None:
    """Each article's info (ISO dates), in passage order."""
    (folder / ARTICLES).write_text(json.dumps(infos, ensure_ascii=False), encoding="utf-8")


def write_acronyms(folder: Path, acronyms: dict[str, list[str]]) -> None:
    (folder / ACRONYMS).write_text(json.dumps(acronyms, ensure_ascii=False), "utf-8")


def load_snapshot(folder: Path, manifest: Manifest) -> Snapshot:
    """A version whose files cannot be read is refused like a corrupt one."""
    try:
        return Snapshot(folder, manifest)
    except IndexUnavailable:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexDamaged(
            f"index version {manifest.version} cannot be read ({exc.__class__.__name__}): "
            "rebuild it"
        ) from exc


def older_intact(settings: IndexSettings, embedder: Embedder, damage: IndexUnavailable) -> Snapshot:
    """The newest intact older version, when the current one is damaged: the bot starts
    and answers from it (a build repairs the current one: index/build/pipeline.py verifies
    what it reuses). Raises ``damage`` when there is none."""
    for folder, manifest in intact_older_versions(settings.index_dir, embedder.model_id):
        try:
            snap = load_snapshot(folder, manifest)
        except IndexUnavailable:
            continue
        log.warning(
            "current index damaged (%s); serving the older version %s: "
            "run `python -m index build` to repair it",
            damage,
            manifest.version,
        )
        return snap
    raise damage


def settle_memory() -> None:
    """A loaded index is millions of long-lived objects at 100k passages: out of the garbage
    collector's generations, its full passes (tens of ms) stop landing on questions. A
    replaced snapshot is unfrozen first, so that it can be freed."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
