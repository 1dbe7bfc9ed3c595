"""Sitemaps (sitemaps.org): the list of every post a site has, with its ``lastmod``; and the
``sources.toml`` keys that lead a backfill to them.

A feed shows the latest 10-20 posts; a sitemap lists the whole archive. Both index files
(``<sitemapindex>``, pointing at other sitemaps) and URL sets (``<urlset>``) are read, plain or
gzipped, with entity expansion and network access off and a cap on the inflated size.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.etree

MAX_INFLATED = 50_000_000  # bytes: a gzip bomb stops here


class SitemapError(ValueError):
    """Not a sitemap (or too big once inflated); the message says why."""


@dataclass(frozen=True)
class SitemapURL:
    url: str
    lastmod: dt.datetime | None  # aware (UTC when the sitemap gives no offset)


@dataclass(frozen=True)
class Sitemap:
    urls: list[SitemapURL]
    children: list[str]  # sitemaps listed by an index, to read in turn


def parse_lastmod(value: str | None) -> dt.datetime | None:
    """W3C datetime (``2024-05-02``, ``2024-05-02T10:00:00+02:00``, ``…Z``); None if not a date."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            stamp = dt.datetime.combine(dt.date.fromisoformat(text[:10]), dt.time())
        except ValueError:
            return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _inflate(data: bytes) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            out = fh.read(MAX_INFLATED + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise SitemapError(f"broken gzip data ({exc})") from exc
    if len(out) > MAX_INFLATED:
        raise SitemapError(f"more than {MAX_INFLATED} bytes once inflated")
    return out


def parse_sitemap(data: bytes) -> Sitemap:
    """Read a sitemap index or URL set; raises :class:`SitemapError` for anything else."""
    parser = lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, recover=False
    )
    try:
        root = lxml.etree.fromstring(_inflate(data), parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise SitemapError(f"not XML ({exc})") from exc
    kind = lxml.etree.QName(root).localname
    if kind not in ("urlset", "sitemapindex"):
        raise SitemapError(f"not a sitemap (root element <{kind}>)")
    urls: list[SitemapURL] = []
    children: list[str] = []
    for item in root:
        if not isinstance(item.tag, str):
            continue  # comments, processing instructions
        fields = {
            lxml.etree.QName(child).localname: (child.text or "").strip()
            for child in item
            if isinstance(child.tag, str)
        }
        loc = fields.get("loc", "")
        if not loc.startswith(("http://", "https://")):
            continue
        if kind == "sitemapindex":
            children.append(loc)
        else:
            urls.append(SitemapURL(loc, parse_lastmod(fields.get("lastmod"))))
    return Sitemap(urls=urls, children=children)


def archive_keys(entry: dict) -> dict:
    """A source's backfill keys (``sitemap``, ``paged_feed``, ``include``, ``exclude``),
    checked; raises ValueError saying which key is wrong."""
    out: dict = {"paged_feed": entry.get("paged_feed", False)}
    if not isinstance(out["paged_feed"], bool):
        raise ValueError("'paged_feed' must be true or false")
    sitemap = entry.get("sitemap")
    if sitemap is not None:
        parts = urlsplit(sitemap if isinstance(sitemap, str) else "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"sitemap {sitemap!r} is not an http(s) URL")
        out["sitemap"] = sitemap.strip()
    for key in ("include", "exclude"):
        patterns = entry.get(key, [])
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"'{key}' must be a list of regular expressions")
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{key} pattern {pattern!r}: {exc}") from exc
        out[key] = tuple(patterns)
    return out
