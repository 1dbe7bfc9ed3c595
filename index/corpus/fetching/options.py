"""Politeness and safety limits of a fetch, from the flags or the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata

from index.config import IndexSettings


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
