"""HTML rendering of answers for Telegram, and its plain-text twin for the terminal.

Telegram rejects a message whose text is longer than 4096 characters *after* entity parsing,
and rejects malformed HTML outright; so everything coming from the corpus is escaped, and
when an answer is too long the quotes are shortened at a word boundary (with "…"), never
the markup.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Protocol

from bot.texts import Lang, format_date, text
from index import clean_text as valid_text
from index import latest_articles

MAX_MESSAGE = 4096  # Telegram's limit, after entity parsing
PAGE_SIZE = 3
MAX_TITLE = 300
LATEST_COUNT = 10  # articles /nouveautes lists
ELLIPSIS = "…"
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


class Quotable(Protocol):
    """What rendering needs from a result: an engine ``Result`` and a stored ``Quote`` fit."""

    @property
    def quote(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def date(self) -> dt.date | None: ...


@dataclass(frozen=True)
class Quote:
    """A quoted passage as stored: exactly what is shown, nothing about who asked."""

    quote: str
    title: str
    url: str
    date: dt.date | None
    score: float = 0.0
    answer: str = ""  # the words of ``quote`` that answer, shown in bold ("" when all do)
    also: int = 0  # other articles that repeat this passage (listed after the others)

    @classmethod
    def from_result(cls, result: Any) -> Quote:
        answer = str(result.answer_text)
        return cls(
            quote=str(result.quote),
            title=str(result.title),
            url=str(result.url),
            date=result.date,
            score=round(float(getattr(result, "score", 0.0)), 4),
            answer="" if answer == result.quote else answer,
            also=len(getattr(result, "also_in", ())),
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Quote:
        raw_date = data.get("date")
        try:
            date = dt.date.fromisoformat(raw_date) if raw_date else None
        except (TypeError, ValueError):
            date = None
        return cls(
            quote=str(data.get("quote", "")),
            title=str(data.get("title", "")),
            url=str(data.get("url", "")),
            date=date,
            score=float(data.get("score", 0.0) or 0.0),
            answer=str(data.get("answer", "") or ""),
            also=int(data.get("also", 0) or 0),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "quote": self.quote,
            "title": self.title,
            "url": self.url,
            "date": self.date.isoformat() if self.date else None,
            "score": round(float(self.score), 4),
            "answer": self.answer,
        }
        if self.also:
            out["also"] = self.also
        return out


def quotes_of(results: Sequence[Any]) -> list[Quote]:
    """An answer's quotes, then the other articles' copies of a repeated passage (each in its
    own words, with its title, date and link): under "Plus de passages" rather than first."""
    quotes = [Quote.from_result(r) for r in results]
    return quotes + [Quote.from_result(o) for r in results for o in getattr(r, "also_in", ())]


def esc(value: str) -> str:
    """Escape for Telegram HTML (text and attribute values)."""
    return html.escape(value, quote=True)


def clean_text(value: str) -> str:
    """Valid UTF-8 first (lone surrogates, undecodable bytes: ``index.clean_text``), then
    no control or invisible formatting characters; tidy whitespace. Every text from outside
    (Telegram messages, inline queries, the terminal) passes here."""
    value = valid_text(value)
    value = _CONTROL_RE.sub(" ", value.replace("\r\n", "\n").replace("\t", " "))
    value = re.sub(r"[ \u00a0]{2,}", " ", value)
    value = re.sub(r"\n\s*\n\s*\n+", "\n\n", value)
    return value.strip()


def u16len(value: str) -> int:
    """Telegram counts lengths in UTF-16 code units (an emoji counts 2)."""
    return len(value.encode("utf-16-le")) // 2


def shorten(value: str, limit: int) -> str:
    """Cut ``value`` to at most ``limit`` UTF-16 units at a word boundary, adding "…"."""
    if u16len(value) <= limit:
        return value
    if limit <= 1:
        return ELLIPSIS if limit == 1 else ""
    cut = value[: limit - 1]
    while u16len(cut) > limit - 1:
        cut = cut[:-1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= len(cut) * 0.6:  # do not throw away a long last word's whole sentence
        cut = cut[:space]
    return cut.rstrip(" \n,;:-–—") + ELLIPSIS


def around_answer(body: str, answer: str, limit: int) -> str:
    """``body`` cut to ``limit`` UTF-16 units keeping the words that answer, with what fits of
    their context on both sides ("…" where cut)."""
    at = body.find(answer) if answer else -1
    if u16len(body) <= limit:
        return body
    if at < 0:
        return shorten(body, limit)
    if u16len(answer) >= limit - 2:
        return shorten(answer, limit)
    room = limit - u16len(answer) - 2  # an ellipsis on each side at most
    before, after = body[:at], body[at + len(answer) :]
    keep_after = shorten(after, max(room - min(u16len(before), room // 2), 0))
    keep_before = before[len(before) - max(room - u16len(keep_after), 0) :] if before else ""
    if keep_before != before:
        space = keep_before.find(" ")
        keep_before = ELLIPSIS + (keep_before[space + 1 :] if space >= 0 else keep_before)
    return keep_before + answer + keep_after


def link(url: str, label: str) -> str:
    return f'<a href="{esc(url)}">{esc(label)}</a>'


def _source_line(q: Quotable, lang: Lang) -> str:
    title = shorten(clean_text(q.title) or q.url, MAX_TITLE)
    line = f"— {link(q.url, title)}, {esc(format_date(q.date, lang))}"
    also = getattr(q, "also", 0)
    return f"{line} · {esc(text(lang, 'also_in', count=also))}" if also else line


def marked(q: Quotable, body: str) -> str:
    """The quote escaped, the words that answer in bold (when the body still holds them)."""
    answer = clean_text(getattr(q, "answer", "") or "")
    at = body.find(answer) if answer else -1
    if at < 0:
        return esc(body)
    end = at + len(answer)
    return f"{esc(body[:at])}<b>{esc(body[at:end])}</b>{esc(body[end:])}"


def _assemble(
    quotes: Sequence[Quotable], bodies: Sequence[str], head: str, foot: str, lang: Lang
) -> str:
    """The first quote open, the others folded (Telegram's expandable quotes): the answer fits
    a phone screen, the context is one tap away."""
    blocks = [head] if head else []
    for i, (q, body) in enumerate(zip(quotes, bodies, strict=True)):
        tag = "blockquote" if i == 0 else "blockquote expandable"
        blocks.append(f"<{tag}>{marked(q, body)}</blockquote>\n{_source_line(q, lang)}")
    if foot:
        blocks.append(foot)
    return "\n\n".join(blocks)


def fit_quotes(
    quotes: Sequence[Quotable], head: str, foot: str, lang: Lang, limit: int = MAX_MESSAGE
) -> str:
    """Assemble the message, shortening the longest quotes first until it fits ``limit``."""
    bodies = [clean_text(q.quote) for q in quotes]
    message = _assemble(quotes, bodies, head, foot, lang)
    if visible_length(message) <= limit:
        return message
    fixed = visible_length(_assemble(quotes, [""] * len(quotes), head, foot, lang))
    budget = max(limit - fixed, 0)
    lengths = [u16len(b) for b in bodies]
    # Water-filling: the largest cap such that the capped lengths sum within the budget.
    low, high = 0, max(lengths, default=0)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(n, mid) for n in lengths) <= budget:
            low = mid
        else:
            high = mid - 1
    cap = low
    while True:
        cut = [
            around_answer(b, clean_text(getattr(q, "answer", "") or ""), cap)
            for q, b in zip(quotes, bodies, strict=True)
        ]
        message = _assemble(quotes, cut, head, foot, lang)
        if visible_length(message) <= limit or cap == 0:
            return message
        cap = int(cap * 0.9)


def render_answer(
    quotes: Sequence[Quotable],
    lang: Lang,
    *,
    offset: int = 0,
    share_url: str | None = None,
    header: bool = True,
    page_size: int = PAGE_SIZE,
) -> str:
    """One page of an answer: header, up to ``page_size`` quotes, then the share link."""
    page = list(quotes[offset : offset + page_size])
    head = ""
    if header:
        head = (
            text(lang, "header")
            if offset == 0
            else text(
                lang,
                "header_more",
                first=offset + 1,
                last=offset + len(page),
                total=len(quotes),
            )
        )
    foot = text(lang, "share_line", url=esc(share_url)) if share_url else ""
    return fit_quotes(page, head, foot, lang)


def render_nothing(reason: str, lang: Lang, example: str = "") -> str:
    """Why there is no answer, with a way forward (rephrase, /sujets)."""
    key = {"empty": "nothing_empty", "too_long": "nothing_too_long"}.get(reason, "nothing_no_match")
    return text(lang, key, example=esc(example))


def render_article_lines(articles: Sequence[Any], lang: Lang) -> list[str]:
    """One line per article: date, linked title."""
    return [
        f"• {esc(format_date(a.date, lang))} — {link(a.url, shorten(clean_text(a.title), 200))}"
        for a in articles
    ]


def render_latest(articles: Sequence[Any], lang: Lang, n: int = LATEST_COUNT) -> str:
    """``/nouveautes``: the newest articles with their dates and links."""
    newest = latest_articles(list(articles), n)
    if not newest:
        return text(lang, "topics_empty")
    header = text(lang, "latest_header", count=len(newest))
    return "\n".join([header, *render_article_lines(newest, lang)])


def split_messages(header: str, lines: Sequence[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Pack ``lines`` into as few messages as fit, never splitting a line."""
    messages: list[str] = []
    current = header
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if visible_length(candidate) > limit and current:
            messages.append(current)
            current = line
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


class _TextExtractor(HTMLParser):
    """Telegram-HTML to text: used for the length check and for the terminal."""

    def __init__(self, plain_links: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.plain_links = plain_links
        self.stack: list[list[str]] = [[]]
        self.hrefs: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("blockquote", "a"):
            self.stack.append([])
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("blockquote", "a") or len(self.stack) < 2:
            return
        inner = "".join(self.stack.pop())
        if tag == "a":
            href = self.hrefs.pop() if self.hrefs else None
            if self.plain_links and href and href != inner:
                inner = f"{inner} ({href})"
        elif self.plain_links:
            inner = "\n".join(f"  │ {line}" if line else "  │" for line in inner.split("\n"))
        self.stack[-1].append(inner)

    def handle_data(self, data: str) -> None:
        self.stack[-1].append(data)

    def result(self) -> str:
        while len(self.stack) > 1:
            inner = "".join(self.stack.pop())
            self.stack[-1].append(inner)
        return "".join(self.stack[0])


def _extract(value: str, plain_links: bool) -> str:
    parser = _TextExtractor(plain_links)
    parser.feed(value)
    parser.close()
    return parser.result()


def visible_length(message: str) -> int:
    """Length Telegram counts for an HTML message: text after parsing, UTF-16 units."""
    return u16len(_extract(message, plain_links=False))


def html_to_plain(message: str) -> str:
    """For the terminal: quotes indented with a bar, links written out after their label."""
    return _extract(message, plain_links=True)
