"""Answers that know their dates, for a corpus that spans fifteen years.

Three small rules the engine applies to its ranked candidates before choosing what to quote:

- a question naming a year ("en 2023") prefers passages of articles from that year, and one
  asking for the latest ("récemment", "dernières", "latest") prefers newer articles;
- when two passages are about equally relevant, the newer article's comes first (a campaign's
  latest word on a subject supersedes its earlier ones);
- a paragraph reposted in several articles is quoted once, the other articles listed with it
  ("aussi dans N articles") rather than filling the answer with the same words.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from index.language import fold
from index.types import ArticleInfo, Passage

YEAR_BONUS = 0.3  # share added to a passage's score when its article is of the year asked
RECENT_BONUS = 0.3  # share added to the newest article's passages for "latest" questions
TIE_SHARE = 0.01  # scores this close (share of the larger) count as equally relevant
# Two passages repeat each other when this share of the shorter one's word trigrams is in the
# other, and at least MIN_REPEAT of them: passages are cut on paragraph boundaries, so a
# reposted paragraph comes with different neighbours in each article.
REPEAT_SHARE = 0.5
MIN_REPEAT = 20  # trigrams (~22 words): a shared slogan or sign-off is not a repost
CONSIDERED = 40  # the ranked candidates these rules read (far below, nothing is shown)

_YEAR = re.compile(r"(?<!\d)((?:19[89]|20[0-4])\d)(?!\d)")
_LATEST = re.compile(
    r"\b(?:recemment|recent(?:e|es|s)?|derni(?:er|ere|ers|eres|erement)|nouveaute(?:s)?|"
    r"latest|recent(?:ly)?|newest|lately)\b"
)


@dataclass(frozen=True)
class DateWish:
    """What a question says about dates: years named, or a wish for the latest."""

    years: frozenset[int] = frozenset()
    latest: bool = False

    def __bool__(self) -> bool:
        return bool(self.years) or self.latest


def date_wish(question: str) -> DateWish:
    """Years (1980-2049) and words asking for recent articles, in French or English."""
    folded = fold(question)
    years = frozenset(int(y) for y in _YEAR.findall(question))
    return DateWish(years=years, latest=bool(_LATEST.search(folded)))


def prefer_dates(
    ranked: Sequence[tuple[int, float]],
    date_of: Callable[[int], dt.date],
    wish: DateWish,
    span: tuple[dt.date, dt.date] | None,
) -> list[tuple[int, float]]:
    """``ranked`` (best first) reordered: the question's dates first, then newer among ties.

    ``span`` is the corpus's (oldest, newest) article dates: "latest" is relative to them.
    """
    scored = []
    for pid, score in ranked:
        date = date_of(pid)
        bonus = 0.0
        if date.year in wish.years:
            bonus += YEAR_BONUS
        if wish.latest and span is not None and span[1] > span[0]:
            bonus += RECENT_BONUS * (date - span[0]).days / (span[1] - span[0]).days
        scored.append((pid, score * (1.0 + bonus) if score > 0 else score, date))
    scored.sort(key=lambda item: -item[1])
    # Newer first among near-ties: adjacent swaps, so a clearly better passage never moves down
    # more than its near-equals.
    for _ in range(len(scored)):
        swapped = False
        for i in range(len(scored) - 1):
            (_, a, da), (_, b, db) = scored[i], scored[i + 1]
            if db > da and a - b <= TIE_SHARE * max(abs(a), abs(b)):
                scored[i], scored[i + 1] = scored[i + 1], scored[i]
                swapped = True
        if not swapped:
            break
    return [(pid, score) for pid, score, _ in scored]


@lru_cache(maxsize=50_000)
def _shingles(text: str) -> frozenset[tuple[str, ...]]:
    words = re.findall(r"\w+", fold(text))
    return frozenset(zip(words, words[1:], words[2:], strict=False))


def near_duplicates(a: str, b: str) -> bool:
    """Mostly the same words in the same order: a reposted paragraph, a corrected typo."""
    sa, sb = _shingles(a), _shingles(b)
    shared = len(sa & sb)
    return shared >= MIN_REPEAT and shared >= REPEAT_SHARE * min(len(sa), len(sb))


def fold_repeats(
    ranked: Sequence[tuple[int, float]],
    text_of: Callable[[int], str],
    article_of: Callable[[int], str],
) -> tuple[list[tuple[int, float]], dict[int, list[int]]]:
    """``ranked`` without passages repeating a better one; for each kept passage, the best
    repeating passage of each other article (best first)."""
    kept: list[tuple[int, float]] = []
    also: dict[int, list[int]] = {}
    for pid, score in ranked:
        text = text_of(pid)
        twin = next((k for k, _ in kept if near_duplicates(text_of(k), text)), None)
        if twin is None:
            kept.append((pid, score))
            continue
        seen = {article_of(twin), *(article_of(p) for p in also.get(twin, ()))}
        if article_of(pid) not in seen:
            also.setdefault(twin, []).append(pid)
    return kept, also


def dated_ranking(
    ranked: Sequence[tuple[int, float]],
    question: str,
    passages: Sequence[Passage],
    articles: Mapping[str, ArticleInfo],
) -> tuple[list[tuple[int, float]], dict[int, list[tuple[int, float]]]]:
    """The engine's step: the best candidates reordered by dates and folded, and for each kept
    passage the passages of other articles that repeat it, with their scores, newest first."""
    head, tail = list(ranked[:CONSIDERED]), list(ranked[CONSIDERED:])
    wish = date_wish(question)
    span = None
    if wish.latest and articles:
        dates = [a.date for a in articles.values()]
        span = (min(dates), max(dates))

    def article(pid: int) -> ArticleInfo:
        return articles[passages[pid].article_id]

    head = prefer_dates(head, lambda pid: article(pid).date, wish, span)
    head, repeats = fold_repeats(
        head, lambda pid: passages[pid].text, lambda pid: passages[pid].article_id
    )
    scores = dict(ranked)
    also = {
        pid: [(p, scores[p]) for p in sorted(pids, key=lambda p: article(p).date, reverse=True)]
        for pid, pids in repeats.items()
    }
    return head + tail, also


def latest_articles(articles: Sequence[ArticleInfo], n: int = 10) -> list[ArticleInfo]:
    """The ``n`` newest articles, newest first: what ``/nouveautes`` lists."""
    return sorted(articles, key=lambda a: (a.date, a.title), reverse=True)[:n]
