"""Per-article analysis: a new or changed article's passages, what is searched of each, its
sentences to embed, its BM25 terms, vocabulary counts and acronym evidence, computed once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.build.scan import FreshArticle
from index.corpus.chunk import chunk_article
from index.language import clean_display, strip_urls, terms
from index.retrieval.acronyms import AcronymEvidence, acronym_evidence
from index.retrieval.lexical import word_counts
from index.retrieval.sentences import sentence_units
from index.types import Article, Passage

MIN_NOTE_CHARS = 60


def passage_context(article: Article, passage: Passage) -> str:
    """What is searched: the title and section give a passage its context (not quoted)."""
    raw = re.sub(r"^(?:## |\[\^\d+\]:\s*)", "", passage.text, flags=re.M)
    text = clean_display(strip_urls(raw))
    parts = [article.title]
    if passage.heading and passage.heading not in text[: len(passage.heading) + 5]:
        parts.append(passage.heading)
    parts.append(text)
    return "\n".join(parts)


@dataclass
class Analysis:
    """A new or changed article, analysed: its rows, before they are written."""

    source: FreshArticle
    passages: list[Passage]
    contexts: list[str]
    units: list[list[tuple[int, int, str]]]
    terms: list[list[str]]
    words: list[tuple[str, str, int, int, int, int]]  # word_counts rows + 1 for the title
    acronyms: AcronymEvidence

    @property
    def article(self) -> Article:
        return self.source.article

    def release_rows(self) -> None:
        """Once its rows are in the segment, what only they needed goes: a build of thousands
        of articles keeps their passages and acronym evidence, not their analysis."""
        self.contexts, self.units, self.terms, self.words = [], [], [], []

    @staticmethod
    def of(source: FreshArticle) -> Analysis:
        article = source.article
        passages: list[Passage] = []
        contexts: list[str] = []
        for p in chunk_article(article):
            context = passage_context(article, p)
            if p.note and len(context) - len(article.title) < MIN_NOTE_CHARS:
                continue  # "Voir SEXE, DTNAIRES." or a bare link: nothing to quote
            passages.append(p)
            contexts.append(context)
        return Analysis(
            source=source,
            passages=passages,
            contexts=contexts,
            units=[sentence_units(article, p) for p in passages],
            terms=[terms(c) for c in contexts],
            words=[(*w, 0) for w in word_counts(article.body)]
            + [(*w, 1) for w in word_counts(article.title)],
            acronyms=acronym_evidence(article.body),
        )
