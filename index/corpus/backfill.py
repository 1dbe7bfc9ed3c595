"""Backfill: import a source's whole archive, found through its sitemap and/or paged feed.

A feed lists only the latest posts; ``fetch --backfill`` walks the source's ``sitemap``
(nested indexes and ``.xml.gz`` included) and, with ``paged_feed = true``, ``feed?paged=2, 3,
…`` until an empty page or a 404. URLs whose path fails the source's ``include`` / ``exclude``
regexes are dropped before any request. The rest goes newest first through the same entry
pipeline as ``fetch`` (polite client, URL guard, robots.txt, conditional GET, extraction,
atomic save), with its own state file saved after every article: a run stopped by Ctrl-C or
``kill -9`` loses at most the article in flight, and the next run skips what is done (an
article whose ``lastmod`` has not moved costs no request). ``--since`` decides by the later of
the feed entry's date and the sitemap's ``lastmod``, else the page's own date once downloaded: such
a page older than ``--since`` is not imported, and its date is remembered so that the next run
does not download it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from tqdm import tqdm

from index.config import IndexSettings
from index.corpus.fetch import report_run
from index.corpus.fetching.client import Failure, PoliteClient
from index.corpus.fetching.options import FetchOptions, fetch_options
from index.corpus.fetching.report import FetchReport, SourceReport
from index.corpus.fetching.run import EntryRun, fetch_session
from index.corpus.fetching.sources import Source
from index.corpus.fetching.state import FetchState
from index.corpus.importers.feed import FeedEntry, FeedError, parse_feed
from index.corpus.sitemap import SitemapError, parse_sitemap
from index.corpus.urlguard import explicit_port

log = logging.getLogger(__name__)

STATE_FILE = "backfill-state.json"
DEFAULT_MAX_PAGES = 10_000
MAX_SITEMAPS = 1_000  # sitemap files read per source (nested indexes included)
MAX_FEED_PAGES = 1_000
_PAGE_LIMIT = "page limit reached"


def backfill_state_path(settings: IndexSettings) -> Path:
    return Path(settings.index_dir).parent / STATE_FILE


def path_filter(src: Source) -> Callable[[str], bool]:
    """True for URLs whose path matches one ``include`` pattern (if any) and no ``exclude``."""
    include = [re.compile(p) for p in src.include]
    exclude = [re.compile(p) for p in src.exclude]

    def keep(url: str) -> bool:
        path = urlsplit(url).path or "/"
        if include and not any(p.search(path) for p in include):
            return False
        return not any(p.search(path) for p in exclude)

    return keep


@dataclass
class Discovery:
    entries: list[FeedEntry]  # newest first
    left_out: int = 0  # URLs dropped by include/exclude (never requested)
    failures: list[tuple[str, str]] = field(default_factory=list)


def _feed_page_url(feed: str, page: int) -> str:
    if page == 1:
        return feed
    parts = urlsplit(feed)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("paged", str(page))])))


class _Discoverer:
    def __init__(self, http: PoliteClient, src: Source, options: FetchOptions) -> None:
        self.http = http
        self.src = src
        self.options = options
        self.ports = explicit_port(src.feed) | explicit_port(src.sitemap or "")
        self.failures: list[tuple[str, str]] = []

    def _get(self, url: str) -> bytes | None:
        """The body of a listing (sitemap or feed page); None on 404/410 (the end)."""
        if not self.src.allows(url):
            raise Failure("outside the source's site", transient=False)
        if not self.http.robots_allow(url, self.src.allows, self.ports):
            raise Failure("disallowed by robots.txt", transient=False)
        resp = self.http.get(
            url, max_bytes=self.options.max_feed_bytes, allowed=self.src.allows, ports=self.ports
        )
        if resp.status in (404, 410):
            return None
        if resp.status != 200:
            raise Failure(f"HTTP {resp.status}", transient=resp.status >= 500)
        return resp.body

    def sitemap(self) -> dict[str, dt.datetime | None]:
        """Every URL of the sitemap tree with its latest ``lastmod``."""
        found: dict[str, dt.datetime | None] = {}
        todo, seen = [self.src.sitemap or ""], set()
        while todo and len(seen) < MAX_SITEMAPS:
            url = todo.pop(0)
            if url in seen:
                continue
            seen.add(url)
            try:
                body = self._get(url)
                if body is None:
                    raise Failure("HTTP 404", transient=False)
                sitemap = parse_sitemap(body)
            except (Failure, SitemapError) as exc:
                self.failures.append((url, f"sitemap: {getattr(exc, 'reason', None) or exc}"))
                continue
            todo.extend(sitemap.children)
            for item in sitemap.urls:
                old = found.get(item.url)
                found[item.url] = max((s for s in (old, item.lastmod) if s), default=None)
        return found

    def paged_feed(self) -> dict[str, FeedEntry]:
        """Entries of ``feed``, ``feed?paged=2``, … until a 404, an empty page or no new link."""
        found: dict[str, FeedEntry] = {}
        for page in range(1, MAX_FEED_PAGES + 1):
            url = _feed_page_url(self.src.feed, page)
            try:
                body = self._get(url)
                if body is None:
                    break
                feed = parse_feed(body, url)
            except (Failure, FeedError) as exc:
                self.failures.append((url, f"feed: {getattr(exc, 'reason', None) or exc}"))
                break
            new = [e for e in feed.entries if e.url not in found]
            if not new:  # past the end, or a site that ignores ?paged=
                break
            found.update((e.url, e) for e in new)
        return found


def discover(http: PoliteClient, src: Source, options: FetchOptions) -> Discovery:
    """The source's archive as feed entries, newest first, filtered by include/exclude."""
    finder = _Discoverer(http, src, options)
    stamps = finder.sitemap() if src.sitemap else {}
    from_feed = finder.paged_feed() if src.paged_feed else {}
    keep = path_filter(src)
    entries: list[tuple[dt.datetime, FeedEntry]] = []
    left_out = 0
    for url in dict.fromkeys([*stamps, *from_feed]):
        if not keep(url):
            left_out += 1
            continue
        lastmod = stamps.get(url)
        entry = from_feed.get(url) or FeedEntry(
            url=url,
            title="",
            date=lastmod.date() if lastmod else None,
            summary_html="",
            content_html=None,
            updated=None,
        )
        if lastmod is not None:  # the sitemap's stamp is what says the post changed
            entry = replace(entry, updated=lastmod.isoformat())
        when = lastmod or (
            dt.datetime.combine(entry.date, dt.time(), dt.UTC) if entry.date else None
        )
        entries.append((when or dt.datetime.min.replace(tzinfo=dt.UTC), entry))
    entries.sort(key=lambda item: item[0], reverse=True)
    return Discovery([e for _, e in entries], left_out, finder.failures)


def _source(run: EntryRun, src: Source, state: FetchState, progress: bool) -> SourceReport:
    rep = SourceReport(name=src.name, feed=src.sitemap or src.feed)
    if not (src.sitemap or src.paged_feed):
        rep.feed_status = "failed"
        rep.skipped.append((src.feed, "no 'sitemap' and no 'paged_feed = true' in sources.toml"))
        return rep
    found = discover(run.http, src, run.options)
    rep.skipped.extend(found.failures)
    rep.feed_status = "fetched" if found.entries or not found.failures else "failed"
    if found.left_out:
        rep.skipped.append(
            (src.sitemap or src.feed, f"{found.left_out} URLs left out by include/exclude")
        )
    bar = tqdm(total=len(found.entries), desc=src.name, unit="article", disable=not progress)
    with bar:
        for entry in found.entries:
            try:
                run.entry(src, entry, rep)
            except Exception as exc:  # a bug or a full disk must not stop the other articles
                log.exception("unexpected error on %s", entry.url)
                rep.skipped.append((entry.url, f"unexpected error ({type(exc).__name__}: {exc})"))
            state.save()  # after every article: a kill loses at most the one in flight
            bar.update()
    waiting = [item for item in rep.skipped if item[1].startswith(_PAGE_LIMIT)]
    if waiting:
        rep.skipped = [item for item in rep.skipped if not item[1].startswith(_PAGE_LIMIT)]
        rep.skipped.append(
            (src.name, f"{len(waiting)} articles left for the next run (--max-pages)")
        )
    return rep


def backfill(
    settings: IndexSettings,
    *,
    source: str | None = None,
    since: dt.date | None = None,
    client: httpx.Client | None = None,
    sources_file: Path | None = None,
    options: FetchOptions | None = None,
    progress: bool = False,
) -> FetchReport:
    """Import the archive of every enabled source (or the one named) into the corpus.

    Raises :class:`SourceError` and :class:`FetchError` like :func:`index.corpus.fetch.fetch_all`
    (the two share one lock: both write ``content/``); everything else is in the report.
    """
    report = FetchReport()
    session = fetch_session(
        settings, source, since, client, sources_file,
        options or fetch_options(settings, default_pages=DEFAULT_MAX_PAGES),
        backfill_state_path(settings),
    )  # fmt: skip
    with session as (chosen, run, state):
        for src in chosen:
            report.sources.append(_source(run, src, state, progress))
    return report


def main_backfill(
    settings: IndexSettings,
    source: str | None = None,
    since: dt.date | None = None,
    *,
    delay: float | None = None,
    max_pages: int | None = None,
    progress: bool = True,
) -> int:
    """CLI entry of ``fetch --backfill``: see :func:`index.corpus.fetch.report_run`."""
    options = fetch_options(
        settings, delay=delay, max_pages=max_pages, default_pages=DEFAULT_MAX_PAGES
    )
    return report_run(
        settings,
        lambda: backfill(settings, source=source, since=since, options=options, progress=progress),
    )
