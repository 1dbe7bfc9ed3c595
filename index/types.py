"""Data that crosses module boundaries: articles, passages, search answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One article of the corpus, as stored in ``content/<id>.md``."""

    id: str
    title: str
    date: dt.date
    url: str
    source: str
    lang: str
    body: str
    url_derived: bool = False
    date_derived: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Passage:
    """A quotable cut of an article; ``body[start:end] == text``."""

    id: str  # content hash of (article id, text): stable across rebuilds
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    heading: str = ""
    note: bool = False  # a footnote: searchable, but secondary to the article's main text


@dataclass(frozen=True)
class ArticleInfo:
    """What the bot shows about an article (no body)."""

    id: str
    title: str
    date: dt.date
    url: str
    source: str
    lang: str


@dataclass(frozen=True)
class Result:
    """One quoted passage, ready to render."""

    quote: str
    title: str
    url: str  # article URL with a text fragment that highlights the quote
    article_url: str
    date: dt.date
    score: float
    passage_id: str
    article_id: str
    source: str = ""
    highlight: tuple[int, int] | None = None  # the words that answer: offsets into ``quote``
    also_in: tuple[Result, ...] = ()  # the same words in other articles, newest first

    @property
    def answer_text(self) -> str:
        return self.quote[self.highlight[0] : self.highlight[1]] if self.highlight else self.quote

    def to_json(self) -> dict:
        out = {
            "quote": self.quote,
            "answer": self.answer_text,
            "title": self.title,
            "url": self.url,
            "date": self.date.isoformat(),
            "score": round(float(self.score), 4),
        }
        if self.also_in:
            out["also_in"] = [
                {"title": r.title, "url": r.url, "date": r.date.isoformat()} for r in self.also_in
            ]
        return out


@dataclass(frozen=True)
class Answer:
    """What the engine says to one question: best results first, or nothing relevant."""

    query: str
    answered: bool
    results: list[Result]
    reason: str = ""  # why not answered: "empty", "no_match", "too_long", ...
    index_version: str = ""

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "answered": self.answered,
            "results": [r.to_json() for r in self.results],
        }
