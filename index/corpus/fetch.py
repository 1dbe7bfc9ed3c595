"""Polite fetching of new articles from the sources' feeds into ``content/``.

One run: for each source, a conditional GET of its feed (stored ETag / Last-Modified; 304 means
nothing new), then for each entry not yet in the corpus or whose stamp changed, the article from
the feed's full text when it has it, else from its page (conditional GET, extraction). Each
entry's stamp is remembered, so a second run in a row makes no page request and writes nothing.

Every failure (feed, page, extraction) is reported and skipped; the others go on. Articles reach
``content/`` only through :func:`index.corpus.folder.save_article`, which writes atomically.
Fetch state lives in ``<index_dir>/../fetch-state.json``: it is not content.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import sys
import time
import tomllib
import urllib.robotparser
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from importlib import metadata
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import lxml.etree

from index.config import IndexSettings
from index.corpus.article import (
    ArticleError,
    article_id,
    atomic_write_text,
    parse_markdown,
    slugify,
    to_markdown,
)
from index.corpus.folder import articles_dir, mark_refreshed, save_article
from index.corpus.importers.feed import FeedEntry, FeedError, article_from_entry, parse_feed
from index.corpus.importers.html import ExtractionError, article_from_html
from index.corpus.sitemap import archive_keys
from index.corpus.urlguard import URLRefused, check_peer, check_url, explicit_port
from index.types import Article

log = logging.getLogger(__name__)

SOURCES_FILE = "sources.toml"
STATE_FILE = "fetch-state.json"
STATE_VERSION = 1
ROBOTS_AGENT = "campaign-bot"
HTML_TYPES = ("text/html", "application/xhtml+xml")


class SourceError(ValueError):
    """sources.toml is missing or wrong, or names no such source; the message says where."""


class FetchError(RuntimeError):
    """The run cannot start (another fetch holds the lock)."""


# --------------------------------------------------------------------------------------------
# Sources


@dataclass(frozen=True)
class Source:
    name: str
    feed: str
    lang: str
    body_xpath: str | None = None
    enabled: bool = True
    hosts: tuple[str, ...] = ()  # extra hosts that entry links may point to
    sitemap: str | None = None  # backfill: sitemap index or urlset (XML or .xml.gz)
    paged_feed: bool = False  # backfill: also walk feed?paged=2, 3, ...
    include: tuple[str, ...] = ()  # backfill: regexes on the URL path; one must match
    exclude: tuple[str, ...] = ()  # backfill: regexes on the URL path; none may match

    @property
    def slug(self) -> str:
        return slugify(self.name)

    def allows(self, url: str) -> bool:
        """Entry links must stay on the feed's site (or listed hosts): no fetching elsewhere."""
        host = _site(url)
        return bool(host) and (host == _site(self.feed) or host in {_site(h) for h in self.hosts})


def _site(url_or_host: str) -> str:
    host = urlsplit(url_or_host).hostname if "//" in url_or_host else url_or_host
    return (host or "").lower().removeprefix("www.")


_BACKFILL_KEYS = {"sitemap", "paged_feed", "include", "exclude"}
_SOURCE_KEYS = {"name", "feed", "lang", "body_xpath", "enabled", "hosts"} | _BACKFILL_KEYS


def load_sources(path: Path) -> list[Source]:
    """Read ``sources.toml``; raises :class:`SourceError` naming the file and the entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: no such file (it lists the feeds to fetch)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{path}: not valid TOML ({exc})") from exc
    unknown_top = set(data) - {"source"}
    if unknown_top:
        raise SourceError(
            f"{path}: unknown top-level key(s) {sorted(unknown_top)}; expected [[source]] tables"
        )
    raw = data.get("source", [])
    if not isinstance(raw, list) or not raw:
        raise SourceError(f"{path}: no [[source]] entries")
    sources: list[Source] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw, 1):
        where = f"{path}: [[source]] #{i}"
        if not isinstance(entry, dict):
            raise SourceError(f"{where}: must be a table")
        name = entry.get("name")
        if isinstance(name, str) and name.strip():
            where = f"{path}: source {name.strip()!r}"
        unknown = set(entry) - _SOURCE_KEYS
        if unknown:
            raise SourceError(
                f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_SOURCE_KEYS)}"
            )
        for key in ("name", "feed", "lang"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise SourceError(f"{where}: '{key}' is required (a non-empty string)")
        feed = entry["feed"].strip()
        parts = urlsplit(feed)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"{where}: feed {feed!r} is not an http(s) URL")
        xpath = entry.get("body_xpath")
        if xpath is not None:
            if not isinstance(xpath, str) or not xpath.strip():
                raise SourceError(f"{where}: 'body_xpath' must be a non-empty string")
            try:
                lxml.etree.XPath(xpath)
            except lxml.etree.XPathError as exc:
                raise SourceError(
                    f"{where}: body_xpath {xpath!r} is not valid XPath ({exc})"
                ) from exc
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            raise SourceError(f"{where}: 'enabled' must be true or false")
        hosts = entry.get("hosts", [])
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
            raise SourceError(f"{where}: 'hosts' must be a list of host names")
        source = Source(
            name=entry["name"].strip(),
            feed=feed,
            lang=entry["lang"].strip().lower(),
            body_xpath=xpath.strip() if xpath else None,
            enabled=enabled,
            hosts=tuple(hosts),
            **_archive_keys(entry, where),
        )
        if source.slug in seen:
            raise SourceError(f"{where}: duplicate source name")
        seen.add(source.slug)
        sources.append(source)
    return sources


def _archive_keys(entry: dict, where: str) -> dict:
    try:
        return archive_keys(entry)
    except ValueError as exc:
        raise SourceError(f"{where}: {exc}") from exc


def select_source(sources: list[Source], name: str) -> Source:
    """The source called ``name`` (case-insensitive, or its slug)."""
    wanted = name.strip().casefold()
    for source in sources:
        if wanted in (source.name.casefold(), source.slug):
            return source
    known = ", ".join(repr(s.name) for s in sources)
    raise SourceError(f"no source named {name!r} (known: {known})")


# --------------------------------------------------------------------------------------------
# Options and report


def default_user_agent() -> str:
    """``campaign-bot/<version> (+<project URL>)``: site operators can see who we are."""
    try:
        meta = metadata.metadata("campaign-bot")
        version = meta["Version"]
        urls = [u.split(",", 1)[-1].strip() for u in meta.get_all("Project-URL") or []]
        contact = next(iter(urls), None) or meta.get("Home-page")
    except metadata.PackageNotFoundError:
        version, contact = "0", None
    return f"campaign-bot/{version} (+{contact})" if contact else f"campaign-bot/{version}"


@dataclass(frozen=True)
class FetchOptions:
    """Politeness and safety limits; tests shrink the delays."""

    timeout: float = 20.0  # seconds, per request (connect, read, ...)
    max_retries: int = 2  # extra attempts on 5xx, 429, timeouts, connection errors
    backoff_base: float = 2.0  # seconds; doubles at each retry
    backoff_max: float = 60.0
    min_delay: float = 1.0  # seconds between two requests to the same host
    max_pages: int = 100  # article page downloads per run (the rest waits for the next run)
    max_bytes: int = 5_000_000  # per page; reading stops past it
    max_feed_bytes: int = 10_000_000
    max_redirects: int = 5
    respect_robots: bool = True  # robots.txt, read when a site's first page is needed
    force: bool = False  # ignore stored stamps/validators: re-import every entry
    user_agent: str = field(default_factory=default_user_agent)


def fetch_options(
    settings: IndexSettings,
    *,
    delay: float | None = None,
    max_pages: int | None = None,
    default_pages: int = 100,
) -> FetchOptions:
    """Options from the flags, else the settings (FETCH_DELAY_SECONDS, FETCH_MAX_PAGES)."""
    pages = max_pages or settings.fetch_max_pages or default_pages
    return FetchOptions(
        min_delay=settings.fetch_delay_seconds if delay is None else delay, max_pages=pages
    )


@dataclass
class SourceReport:
    name: str
    feed: str
    feed_status: str = "pending"  # fetched | not modified | failed
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0  # entries older than --since
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    changed_ids: list[str] = field(default_factory=list)
    page_requests: int = 0

    @property
    def yielded(self) -> bool:
        """Something came of this source: a feed answer and not only failed entries."""
        if self.feed_status == "not modified":
            return True
        if self.feed_status != "fetched":
            return False
        return bool(self.added + self.updated + self.unchanged + self.ignored) or not self.skipped


@dataclass
class FetchReport:
    sources: list[SourceReport] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(s.added for s in self.sources)

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.sources)

    @property
    def unchanged(self) -> int:
        return sum(s.unchanged for s in self.sources)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return [item for s in self.sources for item in s.skipped]

    @property
    def changed_ids(self) -> list[str]:
        """Ids of added or updated articles: what an incremental build must (re)index."""
        return [i for s in self.sources for i in s.changed_ids]

    @property
    def ok(self) -> bool:
        """False only when nothing at all could be fetched (every source failed)."""
        return any(s.yielded for s in self.sources)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def render(self, max_reasons: int = 20) -> str:
        """A plain-text table, then the skipped entries with their reasons."""
        head = ("source", "feed", "added", "updated", "unchanged", "skipped")
        rows = [
            (
                s.name,
                s.feed_status,
                str(s.added),
                str(s.updated),
                str(s.unchanged),
                str(len(s.skipped)),
            )
            for s in self.sources
        ]
        rows.append(
            (
                "total",
                "",
                str(self.added),
                str(self.updated),
                str(self.unchanged),
                str(len(self.skipped)),
            )
        )
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

        def line(r: tuple[str, ...]) -> str:
            cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
            cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:], strict=True)]
            return "  ".join(cells).rstrip()

        out = [line(head), "  ".join("-" * w for w in widths)]
        out += [line(r) for r in rows[:-1]]
        out += ["  ".join("-" * w for w in widths), line(rows[-1])]
        ignored = sum(s.ignored for s in self.sources)
        if ignored:
            out.append(f"({ignored} entries older than --since ignored)")
        for s in self.sources:
            if not s.skipped:
                continue
            out.append("")
            out.append(f"skipped in {s.name}:")
            for url, reason in s.skipped[:max_reasons]:
                out.append(f"  {url}: {reason}")
            if len(s.skipped) > max_reasons:
                out.append(f"  … and {len(s.skipped) - max_reasons} more")
        if not self.sources:
            out.append("")
            out.append("no source to fetch (are they all disabled in sources.toml?)")
        elif not self.ok:
            out.append("")
            out.append("nothing could be fetched")
        return "\n".join(out)


# --------------------------------------------------------------------------------------------
# State


def fetch_state_path(settings: IndexSettings) -> Path:
    return Path(settings.index_dir).parent / STATE_FILE


class FetchState:
    """Feed validators and per-entry stamps; rewritten atomically, and only when changed."""

    def __init__(self, path: Path, data: dict, original: str) -> None:
        self.path = path
        self.data = data
        self._original = original

    @classmethod
    def load(cls, path: Path) -> FetchState:
        empty = {"version": STATE_VERSION, "feeds": {}, "entries": {}}
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, empty, "")
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                raise ValueError("unknown layout")
            data.setdefault("feeds", {})
            data.setdefault("entries", {})
        except ValueError as exc:
            log.warning("%s is unreadable (%s); starting from a blank fetch state", path, exc)
            return cls(path, empty, text)
        return cls(path, data, text)

    @property
    def feeds(self) -> dict[str, dict]:
        return self.data["feeds"]

    @property
    def entries(self) -> dict[str, dict]:
        return self.data["entries"]

    def save(self) -> None:
        text = json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        if text != self._original:
            atomic_write_text(self.path, text)
            self._original = text


@contextlib.contextmanager
def _run_lock(state_path: Path) -> Iterator[None]:
    """One fetch at a time: two would race on the state file and on content/."""
    state_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(state_path.with_name(state_path.name + ".lock"), "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise FetchError(f"another fetch is running (lock on {fh.name})") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# HTTP


class _Failure(Exception):
    """A request that gave nothing usable; ``transient`` ones are worth retrying next run."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


@dataclass
class _Response:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes = b""

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        msg = Message()
        msg["content-type"] = self.headers.get("content-type", "")
        value = msg.get_param("charset")
        return value if isinstance(value, str) else None


_RETRY_STATUS = {429, 500, 502, 503, 504}


class PoliteClient:
    """GET with our User-Agent, timeouts, bounded retries with backoff, per-host pacing,
    capped streamed bodies, and every URL, redirect hops included, through
    :func:`index.corpus.urlguard.check_url` (no loopback, private or metadata address: SSRF)."""

    def __init__(
        self,
        client: httpx.Client,
        options: FetchOptions,
        *,
        allow_private: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.options = options
        self.allow_private = allow_private
        self.sleep = sleep
        self.clock = clock
        self._last: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self.requests = 0

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        headers: dict[str, str] | None = None,
        allowed: Callable[[str], bool] | None = None,
        ports: set[int] | frozenset[int] = frozenset(),
    ) -> _Response:
        """Follow up to ``max_redirects`` hops, each one guarded (``allowed`` hosts, 80/443 or
        ``ports``); raises :class:`_Failure`."""
        for hop in range(self.options.max_redirects + 1):
            try:
                check_url(
                    url, allow_private=self.allow_private, allowed_host=allowed, extra_ports=ports
                )
            except URLRefused as exc:
                what = "redirect refused" if hop else "refused"
                raise _Failure(f"{what}: {exc}", transient=False) from exc
            resp = self._with_retries(url, headers or {}, max_bytes)
            location = resp.headers.get("location")
            if resp.status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            return resp
        raise _Failure(f"more than {self.options.max_redirects} redirects", transient=False)

    def _with_retries(self, url: str, headers: dict[str, str], max_bytes: int) -> _Response:
        opts = self.options
        for attempt in range(opts.max_retries + 1):
            last = attempt == opts.max_retries
            wait = min(opts.backoff_max, opts.backoff_base * (2**attempt))
            try:
                resp = self._once(url, headers, max_bytes)
            except _Failure as exc:
                if not exc.transient or last:
                    raise
                log.info("retrying %s in %.1fs: %s", url, wait, exc.reason)
            else:
                if resp.status not in _RETRY_STATUS:
                    return resp
                if last:
                    raise _Failure(
                        f"HTTP {resp.status} (after {attempt + 1} tries)", transient=True
                    )
                retry_after = resp.headers.get("retry-after", "")
                if retry_after.isdigit():
                    wait = max(wait, min(float(retry_after), opts.backoff_max))
                log.info("retrying %s in %.1fs: HTTP %s", url, wait, resp.status)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _pace(self, host: str) -> None:
        delay = max(self.options.min_delay, self._delay.get(host, 0.0))
        last = self._last.get(host)
        if last is not None and delay > 0:
            remaining = delay - (self.clock() - last)
            if remaining > 0:
                self.sleep(remaining)
        self._last[host] = self.clock()

    def _once(self, url: str, headers: dict[str, str], max_bytes: int) -> _Response:
        host = (urlsplit(url).hostname or "").lower()
        self._pace(host)
        self.requests += 1
        sent = {"User-Agent": self.options.user_agent, **headers}
        try:
            with self.client.stream(
                "GET", url, headers=sent, timeout=self.options.timeout, follow_redirects=False
            ) as r:
                stream = r.extensions.get("network_stream")
                peer = stream.get_extra_info("server_addr") if stream is not None else None
                try:
                    check_peer(peer[0] if peer else None, allow_private=self.allow_private)
                except URLRefused as exc:
                    raise _Failure(f"refused: {exc}", transient=False) from exc
                resp = _Response(str(r.url), r.status_code, r.headers)
                if r.status_code != 200:
                    return resp  # status only; a 304/4xx/5xx body is of no use
                length = r.headers.get("content-length", "")
                if length.isdigit() and int(length) > max_bytes:
                    raise _Failure(
                        f"too large ({int(length)} bytes > {max_bytes})", transient=False
                    )
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise _Failure(f"too large (more than {max_bytes} bytes)", transient=False)
                resp.body = bytes(body)
                return resp
        except httpx.TimeoutException as exc:
            raise _Failure(f"timed out ({type(exc).__name__})", transient=True) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise _Failure(f"bad URL ({exc})", transient=False) from exc
        except httpx.DecodingError as exc:
            raise _Failure(f"undecodable response ({exc})", transient=False) from exc
        except httpx.TransportError as exc:
            raise _Failure(
                f"connection error ({type(exc).__name__}: {exc})", transient=True
            ) from exc

    def robots_allow(
        self,
        url: str,
        allowed: Callable[[str], bool] | None = None,
        ports: set[int] | frozenset[int] = frozenset(),
    ) -> bool:
        """robots.txt verdict for our agent; an unreachable or absent file allows."""
        if not self.options.respect_robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            parser: urllib.robotparser.RobotFileParser | None = None
            try:
                resp = self.get(
                    origin + "/robots.txt", max_bytes=500_000, allowed=allowed, ports=ports
                )
                if resp.status == 200:
                    parser = urllib.robotparser.RobotFileParser()
                    parser.parse(resp.body.decode("utf-8", "replace").splitlines())
                    crawl = parser.crawl_delay(ROBOTS_AGENT)
                    if crawl:
                        self._delay[(parts.hostname or "").lower()] = min(float(crawl), 30.0)
            except _Failure as exc:
                log.info("robots.txt of %s unavailable (%s); proceeding", origin, exc.reason)
            self._robots[origin] = parser
        parser = self._robots[origin]
        return parser is None or parser.can_fetch(ROBOTS_AGENT, url)


# --------------------------------------------------------------------------------------------
# The run


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


class _Run:
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
                raise _Failure(f"HTTP {resp.status}", transient=resp.status >= 500)
            feed = parse_feed(resp.body, resp.url, content_type=resp.headers.get("content-type"))
        except (_Failure, FeedError) as exc:
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
        if self.since and entry.date and entry.date < self.since:
            rep.ignored += 1
            return True
        if not src.allows(url):
            rep.skipped.append((url, f"link outside the source's site ({_site(url)})"))
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
            except _Failure as exc:
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

    def _page(
        self, src: Source, entry: FeedEntry, seen: dict | None, rep: SourceReport
    ) -> tuple[Article, dict[str, str]] | None:
        """Download and extract an entry's page; ``None`` on 304. Raises :class:`_Failure`."""
        url = entry.url
        if self.pages_left <= 0:
            raise _Failure(
                f"page limit reached (max_pages={self.options.max_pages}); next run", transient=True
            )
        ports = explicit_port(src.feed)
        if not self.http.robots_allow(url, src.allows, ports):
            raise _Failure("disallowed by robots.txt", transient=False)
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
            raise _Failure(f"HTTP {resp.status}", transient=resp.status >= 500)
        if resp.media_type and resp.media_type not in HTML_TYPES:
            raise _Failure(f"not an HTML page ({resp.media_type})", transient=False)
        if not resp.media_type and not resp.body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise _Failure("not an HTML page (no content type, not markup)", transient=False)
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
            raise _Failure(f"extraction failed: {exc}", transient=False) from exc
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
) -> Iterator[tuple[list[Source], _Run, FetchState]]:
    """What a fetch or a backfill runs in: the chosen sources, under the one lock of runs that
    write ``content/``, with the polite client and the run's state (saved however it ends)."""
    sources = load_sources(sources_file or Path(settings.content_dir) / SOURCES_FILE)
    chosen = [select_source(sources, source)] if source else [s for s in sources if s.enabled]
    with _run_lock(fetch_state_path(settings)), contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(httpx.Client(http2=False))
        state = FetchState.load(state_path)
        http = PoliteClient(client, options, allow_private=settings.fetch_allow_private_addresses)
        try:
            yield chosen, _Run(settings, http, state, options, since), state
        finally:
            state.save()


def fetch_all(
    settings: IndexSettings,
    *,
    source: str | None = None,
    since: dt.date | None = None,
    client: httpx.Client | None = None,
    sources_file: Path | None = None,
    options: FetchOptions | None = None,
) -> FetchReport:
    """Fetch every enabled source (or the one named, even if disabled) into the corpus.

    Raises :class:`SourceError` for a bad sources file or an unknown name, and
    :class:`FetchError` when another fetch is running; everything else is in the report.
    """
    report = FetchReport()
    session = fetch_session(
        settings, source, since, client, sources_file, options or FetchOptions(),
        fetch_state_path(settings),
    )  # fmt: skip
    with session as (chosen, run, state):
        for src in chosen:
            try:
                report.sources.append(run.source(src))
            except Exception as exc:  # isolate sources from each other, even on a bug
                log.exception("unexpected error on source %s", src.name)
                failed = SourceReport(name=src.name, feed=src.feed, feed_status="failed")
                failed.skipped.append((src.feed, f"unexpected error ({exc!r})"))
                report.sources.append(failed)
            state.save()
    return report


def report_run(settings: IndexSettings, run: Callable[[], FetchReport]) -> int:
    """A fetch or backfill from the command line: print its report and note the refresh; 0
    unless nothing could be fetched (1), 2 on bad usage (a bad sources file, a fetch running)."""
    try:
        report = run()
    except (SourceError, FetchError) as exc:
        print(f"fetch: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    if report.ok:
        mark_refreshed(settings.content_dir)
    return report.exit_code


def main_fetch(
    settings: IndexSettings,
    source: str | None = None,
    since: dt.date | None = None,
    *,
    delay: float | None = None,
    max_pages: int | None = None,
) -> int:
    """CLI entry of ``fetch``: see :func:`report_run`."""
    options = fetch_options(settings, delay=delay, max_pages=max_pages)
    return report_run(
        settings, lambda: fetch_all(settings, source=source, since=since, options=options)
    )
