"""RSS/Atom → entries (and articles, when the feed carries the full text).

feedparser is only ever given bytes we downloaded ourselves: handed a string that looks like a
URL it would fetch it, bypassing our polite client.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
import lxml.etree
import lxml.html

from index.corpus.article import article_id
from index.corpus.importers.html import ExtractionError
from index.corpus.importers.html.metadata import parse_date
from index.corpus.importers.html.page import html_to_body
from index.types import Article


class FeedError(ValueError):
    """The data is not a feed, or too broken to yield any entry."""


@dataclass(frozen=True)
class FeedEntry:
    """One feed item. ``updated`` is the raw stamp (updated, else published): it only serves to
    notice that an entry changed, so it is kept exactly as the feed writes it."""

    url: str
    title: str
    date: dt.date | None
    summary_html: str
    content_html: str | None
    updated: str | None


@dataclass(frozen=True)
class Feed:
    title: str
    entries: list[FeedEntry]
    bozo_error: str | None  # feedparser's complaint when it had to recover
    lang: str | None = None
    dropped: int = 0  # entries without a usable http(s) link


def _entry_date(entry: dict) -> dt.date | None:
    """Publication date as the feed writes it (local date), not shifted to UTC."""
    for key in ("published", "updated", "created"):
        raw = dict.get(entry, key)  # plain dict access: no feedparser fallback mapping
        if not raw:
            continue
        try:
            return email.utils.parsedate_to_datetime(raw).date()
        except (TypeError, ValueError, IndexError):
            pass
        date = parse_date(raw)
        if date:
            return date
        parsed = dict.get(entry, f"{key}_parsed")
        if isinstance(parsed, time.struct_time):
            return dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
    return None


def _entry_url(entry: dict, base: str) -> str | None:
    candidates = [entry.get("link")]
    candidates += [
        ln.get("href") for ln in entry.get("links", []) if ln.get("rel", "alternate") == "alternate"
    ]
    candidates.append(entry.get("id"))
    for cand in candidates:
        if not cand or not isinstance(cand, str):
            continue
        url = urljoin(base, cand.strip()).split("#", 1)[0]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return _untracked(url)
    return None


_TRACKING = re.compile(r"^(?:utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid|at_medium|at_campaign)$")


def _untracked(url: str) -> str:
    """Drop tracking parameters: the same article must map to the same id and file."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.match(k.lower())
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _content_html(entry: dict) -> str | None:
    contents = entry.get("content") or []
    best = None
    for item in contents:
        kind = (item.get("type") or "").lower()
        value = item.get("value") or ""
        if not value.strip():
            continue
        if kind in ("text/html", "application/xhtml+xml"):
            return value
        if best is None:
            best = (
                "".join(f"<p>{html.escape(p)}</p>" for p in re.split(r"\n\s*\n", value))
                if kind == "text/plain"
                else value
            )
    return best


def parse_feed(data: bytes, feed_url: str, *, content_type: str | None = None) -> Feed:
    """Parse RSS/Atom bytes; relative links resolve against ``feed_url``, tracking parameters
    (``utm_*``...) are dropped from entry links.

    A feed feedparser had to recover from is accepted (``bozo_error`` says what was wrong) as
    long as it yields entries; raises :class:`FeedError` otherwise.
    """
    if isinstance(data, str):  # never let feedparser treat a string as a URL to fetch
        data = data.encode("utf-8")
    # No sanitizing: we only ever keep text, and the sanitizer strips the ``id`` attributes
    # that footnote links point to.
    parsed = feedparser.parse(
        data,
        sanitize_html=False,
        resolve_relative_uris=False,  # keeps "#note-1" footnote links resolvable in the page
        response_headers={
            "content-location": feed_url,
            "content-type": content_type or "application/xml",
        },
    )
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    bozo_error = f"{type(bozo).__name__}: {bozo}" if bozo is not None else None
    raw_entries = parsed.get("entries") or []
    if not raw_entries and (bozo is not None or not parsed.get("version")):
        why = bozo_error or "no RSS/Atom root element"
        raise FeedError(f"not a usable feed ({why})")
    entries: list[FeedEntry] = []
    dropped = 0
    for raw in raw_entries:
        url = _entry_url(raw, feed_url)
        if url is None:
            dropped += 1
            continue
        entries.append(
            FeedEntry(
                url=url,
                title=" ".join(_plain(raw.get("title") or "").split()),
                date=_entry_date(raw),
                summary_html=raw.get("summary") or "",
                content_html=_content_html(raw),
                updated=dict.get(raw, "updated") or dict.get(raw, "published") or None,
            )
        )
    info = parsed.get("feed") or {}
    lang = info.get("language") or None
    return Feed(
        title=" ".join(_plain(info.get("title") or "").split()),
        entries=entries,
        bozo_error=bozo_error,
        lang=lang.split("-")[0].lower() if isinstance(lang, str) and lang else None,
        dropped=dropped,
    )


def _plain(fragment: str) -> str:
    """Text of a small HTML fragment (feed titles may carry entities or tags)."""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    try:
        return lxml.html.fragment_fromstring(fragment, create_parent="div").text_content()
    except (lxml.etree.ParserError, ValueError):  # kept as written when lxml chokes on it
        return fragment


_TRUNCATED = re.compile(
    r"(\[(?:…|\.\.\.|&hellip;)\]|lire la suite|continuer la lecture|read more|continue reading)",
    re.I,
)


def has_full_content(entry: FeedEntry) -> bool:
    """True when the entry's content is the whole article, not a teaser.

    WordPress puts the excerpt in ``description`` and the full text in ``content:encoded``;
    a "[…]" or "Lire la suite" at the end of the content means a teaser.
    """
    if not entry.content_html:
        return False
    text = " ".join(_plain(entry.content_html).split())
    if not text or _TRUNCATED.search(text[-160:]):
        return False
    summary = " ".join(_plain(entry.summary_html).split())
    return len(text) >= len(summary)


def article_from_entry(entry: FeedEntry, *, source: str, lang: str) -> Article | None:
    """The article, when the entry carries its full text and a date; else ``None``."""
    if not has_full_content(entry) or entry.date is None or not entry.title:
        return None
    try:
        body = html_to_body(entry.content_html or "", title=entry.title)
    except ExtractionError:
        return None
    if not body.strip():
        return None
    return Article(
        id=article_id(entry.url),
        title=entry.title,
        date=entry.date,
        url=entry.url,
        source=source,
        lang=lang,
        body=body,
    )
