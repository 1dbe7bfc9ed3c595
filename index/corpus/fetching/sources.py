"""``content/sources.toml``: the sites to fetch, each with its feed, language, site rule and
backfill keys; read and checked here, with errors that name the file and the entry."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree

from index.corpus.article import slugify
from index.corpus.sitemap import archive_keys

SOURCES_FILE = "sources.toml"


class SourceError(ValueError):
    """sources.toml is missing or wrong, or names no such source; the message says where."""


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
        host = site_host(url)
        return bool(host) and (
            host == site_host(self.feed) or host in {site_host(h) for h in self.hosts}
        )


def site_host(url_or_host: str) -> str:
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
