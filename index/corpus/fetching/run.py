"""One entry through the pipeline (stamp, conditional GET, extraction, atomic save), and the
session a fetch or a backfill runs in."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx

from index.config import IndexSettings
from index.corpus.article import ArticleError, article_id, parse_markdown, to_markdown
from index.corpus.fetching.client import Failure, PoliteClient
from index.corpus.fetching.options import FetchOptions
from index.corpus.fetching.report import SourceReport
from index.corpus.fetching.sources import (
    SOURCES_FILE,
    Source,
    load_sources,
    select_source,
    site_host,
)
from index.corpus.fetching.state import FetchState, fetch_state_path, run_lock
from index.corpus.folder import articles_dir, save_article
from index.corpus.importers.feed import FeedEntry, FeedError, article_from_entry, parse_feed
from index.corpus.importers.html import ExtractionError
from index.corpus.importers.html.page import article_from_html
from index.corpus.urlguard import explicit_port
from index.types import Article

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")


def _modified(entry: FeedEntry) -> dt.date | None:
    """When the entry was last modified, where the source says so in ISO form (a sitemap's
    ``lastmod``, an Atom ``updated``): ``--since`` keeps posts "dated (or modified)" since."""
    try:
        return dt.datetime.fromisoformat(entry.updated or "").date()
    except ValueError:
        return None


def _stamp(entry: FeedEntry) -> str:
    """What the feed says about an entry: its updated/published value and a digest of its
    title, summary and content. WordPress RSS keeps ``pubDate`` when a post is edited, so the
    digest is what notices edits there (at no request cost)."""
    h = hashlib.sha256()
    for part in (entry.title, entry.summary_html, entry.content_html or ""):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return f"{entry.updated or ''}|{h.hexdigest()[:24]}"


def _validators(headers: httpx.Headers) -> dict[str, str]:
    out = {}
    if headers.get("etag"):
        out["etag"] = headers["etag"]
    if headers.get("last-modified"):
        out["last_modified"] = headers["last-modified"]
    return out


def _conditional(saved: dict | None) -> dict[str, str]:
    headers = {}
    if saved and saved.get("etag"):
        headers["If-None-Match"] = saved["etag"]
    if saved and saved.get("last_modified"):
        headers["If-Modified-Since"] = saved["last_modified"]
    return headers


class EntryRun:
    """One run's pipeline: a source's feed (fetch) or its entries one by one (backfill), under
    one page budget and one state."""

    def __init__(
        self,
        settings: IndexSettings,
        http: PoliteClient,
        state: FetchState,
        options: FetchOptions,
        since: dt.date | None,
    ) -> None:
        self.content_dir = Path(settings.content_dir)
        self.http = http
        self.state = state
        self.options = options
        self.since = since
        self.pages_left = options.max_pages

    def _path(self, aid: str) -> Path:
        return articles_dir(self.content_dir) / f"{aid}.md"

    def source(self, src: Source) -> SourceReport:
        rep = SourceReport(name=src.name, feed=src.feed)
        saved = self.state.feeds.get(src.feed)
        headers = {} if self.options.force else _conditional(saved)
        try:
            resp = self.http.get(
                src.feed,
                headers=headers,
                max_bytes=self.options.max_feed_bytes,
                ports=explicit_port(src.feed),
            )
            if resp.status == 304:
                rep.feed_status = "not modified"
                return rep
            if resp.status != 200:
                raise Failure(f"HTTP {resp.status}", transient=resp.status >= 500)
            feed = parse_feed(resp.body, resp.url, content_type=resp.headers.get("content-type"))
        except (Failure, FeedError) as exc:
            rep.feed_status = "failed"
            rep.skipped.append((src.feed, f"feed: {getattr(exc, 'reason', None) or exc}"))
            return rep
        rep.feed_status = "fetched"
        if feed.bozo_error:
            log.warning("feed %s is malformed but readable: %s", src.feed, feed.bozo_error)
        if feed.dropped:
            rep.skipped.append((src.feed, f"{feed.dropped} feed entries without an http(s) link"))
        complete = True
        for entry in feed.entries:
            try:
                complete &= self.entry(src, entry, rep)
            except Exception as exc:  # a bug or a full disk must not stop the other entries
                log.exception("unexpected error on %s", entry.url)
                rep.skipped.append((entry.url, f"unexpected error ({type(exc).__name__}: {exc})"))
                complete = False
        # Remember the feed's validators only after a full, clean pass: otherwise a 304 next
        # time would hide the entries still to retry (or outside --since).
        if complete and self.since is None:
            validators = _validators(resp.headers)
            if validators:
                self.state.feeds[src.feed] = validators
            else:
                self.state.feeds.pop(src.feed, None)
        else:
            self.state.feeds.pop(src.feed, None)
        return rep

    def entry(self, src: Source, entry: FeedEntry, rep: SourceReport) -> bool:
        """Process one entry; False when it should be tried again next run."""
        url = entry.url
        when = self._date(entry)
        if self.since and when and when < self.since:
            rep.ignored += 1
            return True
        if not src.allows(url):
            rep.skipped.append((url, f"link outside the source's site ({site_host(url)})"))
            return True
        stamp = _stamp(entry)
        seen = self.state.entries.get(url)
        force = self.options.force
        if not force and seen and seen.get("stamp") == stamp:
            if seen.get("error"):
                rep.skipped.append((url, f"{seen['error']} (not retried until the entry changes)"))
                return True
            if seen.get("id") and self._path(seen["id"]).exists():
                rep.unchanged += 1
                return True
        if not force and seen is None and self._path(article_id(url)).exists():
            # Already in the corpus (another importer put it there): adopt it as is.
            self.state.entries[url] = {"stamp": stamp, "id": article_id(url)}
            rep.unchanged += 1
            return True

        page_validators: dict[str, str] = {}
        article = article_from_entry(entry, source=src.name, lang=src.lang)
        if article is None:
            try:
                got = self._page(src, entry, seen, rep)
            except Failure as exc:
                rep.skipped.append((url, exc.reason))
                if not exc.transient:
                    self.state.entries[url] = {"stamp": stamp, "error": exc.reason}
                return not exc.transient
            if got is None:  # 304: the page has not changed
                assert seen is not None
                self.state.entries[url] = {**seen, "stamp": stamp}
                rep.unchanged += 1
                return True
            article, page_validators = got
        if self.since and entry.date is None and article.date < self.since:
            # Dated only by its page, and older than --since: not imported; its date is
            # remembered so that the next run decides without downloading it again.
            rep.ignored += 1
            self.state.entries[url] = {"stamp": stamp, "date": article.date.isoformat()}
            return True

        try:
            parse_markdown(to_markdown(article), name=url)  # what we save must load back
        except ArticleError as exc:
            reason = f"invalid article ({exc})"
            rep.skipped.append((url, reason))
            self.state.entries[url] = {"stamp": stamp, "error": reason}
            return True
        status = save_article(self.content_dir, article)
        if status == "added":
            rep.added += 1
        elif status == "updated":
            rep.updated += 1
        else:
            rep.unchanged += 1
        if status in ("added", "updated"):
            rep.changed_ids.append(article.id)
        self.state.entries[url] = {"stamp": stamp, "id": article.id, **page_validators}
        return True

    def _date(self, entry: FeedEntry) -> dt.date | None:
        """The entry's date, else its page's own date that an earlier run remembered (the
        entry unchanged since): what ``--since`` decides on before any download."""
        seen = self.state.entries.get(entry.url) or {}
        if entry.date or self.options.force or seen.get("stamp") != _stamp(entry):
            return max((d for d in (entry.date, _modified(entry)) if d), default=None)
        try:
            return dt.date.fromisoformat(seen.get("date") or "")
        except ValueError:
            return None

    def _page(
        self, src: Source, entry: FeedEntry, seen: dict | None, rep: SourceReport
    ) -> tuple[Article, dict[str, str]] | None:
        """Download and extract an entry's page; ``None`` on 304. Raises :class:`Failure`."""
        url = entry.url
        if self.pages_left <= 0:
            raise Failure(
                f"page limit reached (max_pages={self.options.max_pages}); next run", transient=True
            )
        ports = explicit_port(src.feed)
        if not self.http.robots_allow(url, src.allows, ports):
            raise Failure("disallowed by robots.txt", transient=False)
        self.pages_left -= 1
        rep.page_requests += 1
        have_file = bool(seen and seen.get("id") and self._path(seen["id"]).exists())
        headers = _conditional(seen) if have_file and not self.options.force else {}
        resp = self.http.get(
            url, headers=headers, max_bytes=self.options.max_bytes, allowed=src.allows, ports=ports
        )
        if resp.status == 304 and headers:
            return None
        if resp.status != 200:
            raise Failure(f"HTTP {resp.status}", transient=resp.status >= 500)
        if resp.media_type and resp.media_type not in HTML_TYPES:
            raise Failure(f"not an HTML page ({resp.media_type})", transient=False)
        if not resp.media_type and not resp.body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise Failure("not an HTML page (no content type, not markup)", transient=False)
        try:
            article = article_from_html(
                resp.body,
                resp.url,
                source=src.name,
                lang=src.lang,
                body_xpath=src.body_xpath,
                encoding=resp.charset,
                title=entry.title or None,
                date=entry.date,
            )
        except ExtractionError as exc:
            raise Failure(f"extraction failed: {exc}", transient=False) from exc
        return article, _validators(resp.headers)


@contextlib.contextmanager
def fetch_session(
    settings: IndexSettings,
    source: str | None,
    since: dt.date | None,
    client: httpx.Client | None,
    sources_file: Path | None,
    options: FetchOptions,
    state_path: Path,
) -> Iterator[tuple[list[Source], EntryRun, FetchState]]:
    """What a fetch or a backfill runs in: the chosen sources, under the one lock of runs that
    write ``content/``, with the polite client and the run's state (saved however it ends)."""
    sources = load_sources(sources_file or Path(settings.content_dir) / SOURCES_FILE)
    chosen = [select_source(sources, source)] if source else [s for s in sources if s.enabled]
    with run_lock(fetch_state_path(settings)), contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(httpx.Client(http2=False))
        state = FetchState.load(state_path)
        http = PoliteClient(client, options, allow_private=settings.fetch_allow_private_addresses)
        try:
            yield chosen, EntryRun(settings, http, state, options, since), state
        finally:
            state.save()
